//! AI log rows: one per inbound message (a unique column), counted for the loop guard from an
//! index alone, listed newest first by any filter.

use super::{EmbeddedStore, backend, from_json, name_of, query_data, timestamp_key, to_json};
use crate::cached;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use switchboard_core::domain::ai_log::AiLog;
use switchboard_core::domain::ai_log::AiLogStatus;
use switchboard_core::domain::chat::ChatJid;
use switchboard_core::domain::ids::AccountId;
use switchboard_core::domain::ids::AiLogId;
use switchboard_core::domain::page::{Page, PageRequest};
use switchboard_core::ports::{AiLogFilter, AiLogStore, Recorded, StoreError};

/// `update_ai_log_if` in the caller's transaction.
pub(super) fn update_log_if_in(
    c: &Connection,
    expected: AiLogStatus,
    log: &AiLog,
) -> Result<bool, StoreError> {
    let n = cached::exec(
        c,
        "UPDATE ai_logs SET status = ?3, data = ?4 WHERE id = ?1 AND status = ?2",
        params![
            log.id.as_str(),
            name_of(&expected)?,
            name_of(&log.status)?,
            to_json(log)?
        ],
    )
    .map_err(backend)?;
    Ok(n == 1)
}

/// Inserts the row unless one exists for its inbound message; returns the row that stands.
pub(super) fn insert_log(c: &Connection, log: AiLog) -> Result<Recorded<AiLog>, StoreError> {
    let n = cached::exec(c,
                "INSERT OR IGNORE INTO ai_logs (id, account_id, chat_id, inbound_message_id, status, created_at, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    log.id.as_str(),
                    log.account_id.as_str(),
                    log.chat_id.as_str(),
                    log.inbound_message_id.as_ref().map(|m| m.as_str()),
                    name_of(&log.status)?,
                    timestamp_key(&log.created_at),
                    to_json(&log)?
                ],
            )
            .map_err(backend)?;
    if n == 1 {
        return Ok(Recorded::New(log));
    }
    let data: Option<String> = cached::query_row(
        c,
        "SELECT data FROM ai_logs WHERE inbound_message_id = ?1",
        [log.inbound_message_id.as_ref().map(|m| m.as_str())],
        |r| r.get(0),
    )
    .optional()
    .map_err(backend)?;
    match data {
        Some(d) => Ok(Recorded::Existing(from_json(&d)?)),
        None => Err(StoreError::Conflict(format!("AI log {} exists", log.id))),
    }
}

/// The chat's AI replies generated or sent since `since`, from the covering index alone.
pub(super) fn count_replies(
    c: &Connection,
    account: &str,
    chat: &str,
    since: &DateTime<Utc>,
) -> Result<u32, StoreError> {
    cached::query_row(
        c,
        "SELECT COUNT(*) FROM ai_logs WHERE account_id = ?1 AND chat_id = ?2 AND created_at >= ?3
           AND status IN ('generated', 'sent')",
        params![account, chat, timestamp_key(since)],
        |r| r.get::<_, u32>(0),
    )
    .map_err(backend)
}

#[async_trait]
impl AiLogStore for EmbeddedStore {
    async fn update_ai_log_if(
        &self,
        expected: AiLogStatus,
        log: &AiLog,
    ) -> Result<bool, StoreError> {
        let log = log.clone();
        self.db
            .write(move |c| update_log_if_in(c, expected, &log))
            .await
    }

    async fn count_replies_since(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let (account, chat) = (account.to_string(), chat.to_string());
        self.db
            .read(move |c| count_replies(c, &account, &chat, &since))
            .await
    }

    async fn insert_ai_log(&self, log: &AiLog) -> Result<Recorded<AiLog>, StoreError> {
        let log = log.clone();
        self.db.write(move |c| insert_log(c, log)).await
    }

    async fn get_ai_log(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        id: &AiLogId,
    ) -> Result<Option<AiLog>, StoreError> {
        let key = [id.to_string(), account.to_string(), chat.to_string()];
        self.db
            .read(move |c| {
                let data: Option<String> = cached::query_row(
                    c,
                    "SELECT data FROM ai_logs WHERE id = ?1 AND account_id = ?2 AND chat_id = ?3",
                    key,
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
                data.map(|d| from_json(&d)).transpose()
            })
            .await
    }

    async fn list_ai_logs(
        &self,
        filter: &AiLogFilter,
        page: &PageRequest,
    ) -> Result<Page<AiLog>, StoreError> {
        let account = filter.account_id.as_ref().map(|a| a.to_string());
        let chat = filter.chat_id.as_ref().map(|c| c.to_string());
        let status = filter.status.as_ref().map(name_of).transpose()?;
        let before = page.after.clone().unwrap_or_else(|| "~".into());
        let limit = page.limit;
        self.db
            .read(move |c| {
                let items: Vec<AiLog> = query_data(
                    c,
                    "SELECT data FROM ai_logs
                     WHERE (?1 IS NULL OR account_id = ?1) AND (?2 IS NULL OR chat_id = ?2)
                       AND (?3 IS NULL OR status = ?3) AND id < ?4
                     ORDER BY id DESC LIMIT ?5",
                    params![account, chat, status, before, limit as i64 + 1],
                )?;
                Ok(Page::from_overfetch(items, limit, |l| l.id.to_string()))
            })
            .await
    }
}
