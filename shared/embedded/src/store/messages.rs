//! Messages: inbound ones once per provider id, outbound ones once per idempotency key, each
//! touching its chat in the same transaction; sends taken with a lease; status changes only
//! from the statuses expected.

use super::chats::{load_chat, save_chat};
use super::{EmbeddedStore, backend, from_json, query_data, to_json};
use crate::cached;
use crate::db::Durability;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use std::time::Duration;
use switchboard_core::domain::chat::{Chat, ChatJid};
use switchboard_core::domain::ids::{AccountId, MessageId};
use switchboard_core::domain::message::{FailureCode, Message, MessageStatus};
use switchboard_core::domain::page::{Page, PageRequest};
use switchboard_core::ports::{Claim, MessageStore, Recorded, StatusChange, StoreError};

pub(super) fn insert(c: &Connection, m: &Message) -> Result<bool, StoreError> {
    let n = cached::exec(c,
            "INSERT OR IGNORE INTO messages (id, account_id, chat_id, provider_message_id, idempotency_key, data)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                m.id.as_str(),
                m.account_id.as_str(),
                m.chat_id.as_str(),
                m.provider_message_id,
                m.idempotency_key,
                to_json(m)?
            ],
        )
        .map_err(backend)?;
    Ok(n == 1)
}

fn find_by(
    c: &Connection,
    column: &str,
    account: &str,
    key: &str,
) -> Result<Option<Message>, StoreError> {
    let sql = format!("SELECT data FROM messages WHERE account_id = ?1 AND {column} = ?2");
    let data: Option<String> = cached::query_row(c, &sql, params![account, key], |r| r.get(0))
        .optional()
        .map_err(backend)?;
    data.map(|d| from_json(&d)).transpose()
}

/// A `StatusChange` that can move to the writer thread.
pub(super) struct OwnedChange {
    from: Vec<MessageStatus>,
    to: MessageStatus,
    provider_message_id: Option<String>,
    error: Option<String>,
    code: Option<FailureCode>,
}

impl OwnedChange {
    pub(super) fn of(change: &StatusChange<'_>) -> Self {
        Self {
            from: change.from.to_vec(),
            to: change.to,
            provider_message_id: change.provider_message_id.map(str::to_string),
            error: change.error.map(str::to_string),
            code: change.code,
        }
    }
}

/// `transition_message` in the caller's transaction.
pub(super) fn transition_in(
    c: &Connection,
    account: &str,
    id: &str,
    change: &OwnedChange,
) -> Result<bool, StoreError> {
    let Some(mut m) = find_by(c, "id", account, id)? else {
        return Ok(false);
    };
    if !change.from.contains(&m.status) {
        return Ok(false);
    }
    m.moved(change.to, chrono::Utc::now());
    if change.provider_message_id.is_some() {
        m.provider_message_id = change.provider_message_id.clone();
    }
    if change.error.is_some() {
        m.error = change.error.clone();
        m.error_code = change.code;
    } else if change.to == MessageStatus::Sent {
        m.error = None;
    }
    cached::exec(
        c,
        "UPDATE messages SET provider_message_id = ?2, data = ?3 WHERE id = ?1",
        params![id, m.provider_message_id, to_json(&m)?],
    )
    .map_err(backend)?;
    Ok(true)
}

/// `record_outbound` in the caller's transaction.
pub(super) fn record_outbound_in(c: &Connection, m: &Message) -> Result<Recorded, StoreError> {
    record(c, m, "idempotency_key", m.idempotency_key.as_deref())
}

/// An AI reply's message, in the caller's savepoint. It leaves its chat where the message it
/// answers put it, seconds before: a reply costs the chat no second write (`record_reply`).
pub(super) fn record_reply_in(c: &Connection, m: &Message) -> Result<(), StoreError> {
    if !insert(c, m)? {
        return Err(StoreError::Conflict(format!("message {} exists", m.id)));
    }
    Ok(())
}

/// Inserts the message unless its key exists, and touches its chat, in the caller's savepoint.
fn record(
    c: &Connection,
    m: &Message,
    key_column: &str,
    key: Option<&str>,
) -> Result<Recorded, StoreError> {
    if !insert(c, m)? {
        let existing = match key {
            Some(k) => find_by(c, key_column, m.account_id.as_str(), k)?,
            None => None,
        };
        return existing
            .map(Recorded::Existing)
            .ok_or_else(|| StoreError::Conflict(format!("message {} exists", m.id)));
    }
    touch_chat(c, m)?;
    Ok(Recorded::New(m.clone()))
}

/// A message was written: its chat (created if new) records the activity. Messages without a
/// chat (email, notifications) touch none.
pub(super) fn touch_chat(c: &Connection, m: &Message) -> Result<(), StoreError> {
    if !m.chat_id.has_chat() {
        return Ok(());
    }
    let mut chat = load_chat(c, m.account_id.as_str(), m.chat_id.as_str())?
        .unwrap_or_else(|| Chat::new(m.account_id.clone(), m.chat_id.clone(), m.updated_at));
    let sender = if m.from_me {
        None
    } else {
        m.push_name.as_deref()
    };
    chat.record_activity(m.created_at, sender, m.is_inbound());
    save_chat(c, &chat)
}

#[async_trait]
impl MessageStore for EmbeddedStore {
    async fn record_inbound(&self, message: &Message) -> Result<Recorded, StoreError> {
        let m = message.clone();
        // Synced by the reply job and event that ingest enqueues next, before its 202.
        self.db
            .write_with(Durability::Relaxed, move |c| {
                record(
                    c,
                    &m,
                    "provider_message_id",
                    m.provider_message_id.as_deref(),
                )
            })
            .await
    }

    async fn record_outbound(&self, message: &Message) -> Result<Recorded, StoreError> {
        let m = message.clone();
        self.db.write(move |c| record_outbound_in(c, &m)).await
    }

    async fn begin_send(
        &self,
        account: &AccountId,
        _chat: &ChatJid,
        id: &MessageId,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        let (account, id) = (account.to_string(), id.to_string());
        let lease = chrono::Duration::from_std(lease).map_err(backend)?;
        // Losing the lease in a crash of the machine makes the send run again at once instead
        // of after the lease: sent twice either way, as any send cut off before it settles.
        self.db
            .write_with(Durability::Relaxed, move |c| {
                let Some(mut m) = find_by(c, "id", &account, &id)? else {
                    return Ok(Claim::Done);
                };
                match m.status {
                    MessageStatus::Queued => {}
                    // Its last try let it go, or its sender stopped (a crash or a lost job)
                    // before it settled: take over.
                    MessageStatus::Sending if m.lease_released || m.updated_at + lease <= now => {}
                    MessageStatus::Sending => return Ok(Claim::Busy),
                    _ => return Ok(Claim::Done),
                }
                m.moved(MessageStatus::Sending, now);
                m.lease_released = false;
                cached::exec(
                    c,
                    "UPDATE messages SET data = ?2 WHERE id = ?1",
                    params![id, to_json(&m)?],
                )
                .map_err(backend)?;
                Ok(Claim::Acquired)
            })
            .await
    }

    async fn retry_send(
        &self,
        account: &AccountId,
        _chat: &ChatJid,
        id: &MessageId,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (account, id, note) = (account.to_string(), id.to_string(), note.to_string());
        self.db
            .write(move |c| {
                let Some(mut m) = find_by(c, "id", &account, &id)? else {
                    return Ok(false);
                };
                if m.status != MessageStatus::Sending {
                    return Ok(false);
                }
                m.error = Some(note);
                m.updated_at = now;
                m.lease_released = true;
                cached::exec(
                    c,
                    "UPDATE messages SET data = ?2 WHERE id = ?1",
                    params![id, to_json(&m)?],
                )
                .map_err(backend)?;
                Ok(true)
            })
            .await
    }

    async fn get_message(
        &self,
        account: &AccountId,
        _chat: &ChatJid,
        id: &MessageId,
    ) -> Result<Option<Message>, StoreError> {
        let (account, id) = (account.to_string(), id.to_string());
        self.db.read(move |c| find_by(c, "id", &account, &id)).await
    }

    async fn transition_message(
        &self,
        account: &AccountId,
        _chat: &ChatJid,
        id: &MessageId,
        change: &StatusChange<'_>,
    ) -> Result<bool, StoreError> {
        let (account, id, change) = (account.to_string(), id.to_string(), OwnedChange::of(change));
        self.db
            .write(move |c| transition_in(c, &account, &id, &change))
            .await
    }

    async fn recent_messages(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        through: Option<&MessageId>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let (account, chat) = (account.to_string(), chat.to_string());
        // `~` sorts after every id character: no upper bound.
        let through = through
            .map(|id| id.to_string())
            .unwrap_or_else(|| "~".into());
        self.db
            .read(move |c| {
                query_data(
                    c,
                    "SELECT data FROM messages WHERE account_id = ?1 AND chat_id = ?2 AND id <= ?3
                     ORDER BY id DESC LIMIT ?4",
                    params![account, chat, through, limit as i64],
                )
            })
            .await
    }

    async fn find_by_provider_id(
        &self,
        account: &AccountId,
        provider_message_id: &str,
    ) -> Result<Option<Message>, StoreError> {
        let (account, key) = (account.to_string(), provider_message_id.to_string());
        self.db
            .read(move |c| find_by(c, "provider_message_id", &account, &key))
            .await
    }

    async fn list_messages(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        page: &PageRequest,
    ) -> Result<Page<Message>, StoreError> {
        let (account, chat) = (account.to_string(), chat.to_string());
        let before = page.after.clone().unwrap_or_else(|| "~".into());
        let limit = page.limit;
        self.db
            .read(move |c| {
                let items: Vec<Message> = query_data(
                    c,
                    "SELECT data FROM messages WHERE account_id = ?1 AND chat_id = ?2 AND id < ?3
                     ORDER BY id DESC LIMIT ?4",
                    params![account, chat, before, limit as i64 + 1],
                )?;
                Ok(Page::from_overfetch(items, limit, |m| m.id.to_string()))
            })
            .await
    }
}
