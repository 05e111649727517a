use super::{EmbeddedStore, backend, from_json, paginate, query_data, to_json};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use switchboard_core::domain::ai_log::AiLog;
use switchboard_core::domain::ids::AiLogId;
use switchboard_core::domain::page::{Page, PageRequest};
use switchboard_core::ports::{AiLogFilter, AiLogStore, Recorded, StoreError};

fn status_text(log: &AiLog) -> Result<String, StoreError> {
    Ok(to_json(&log.status)?.trim_matches('"').to_string())
}

#[async_trait]
impl AiLogStore for EmbeddedStore {
    async fn insert_ai_log(&self, log: &AiLog) -> Result<Recorded<AiLog>, StoreError> {
        let log = log.clone();
        self.db
            .write(move |c| {
                let n = c
                    .execute(
                        "INSERT OR IGNORE INTO ai_logs (id, account_id, chat_id, inbound_message_id, status, data)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![
                            log.id.as_str(),
                            log.account_id.as_str(),
                            log.chat_id.as_str(),
                            log.inbound_message_id.as_ref().map(|m| m.as_str()),
                            status_text(&log)?,
                            to_json(&log)?
                        ],
                    )
                    .map_err(backend)?;
                if n == 1 {
                    return Ok(Recorded::New(log));
                }
                let data: Option<String> = c
                    .query_row(
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
            })
            .await
    }

    async fn get_ai_log(&self, id: &AiLogId) -> Result<Option<AiLog>, StoreError> {
        let id = id.to_string();
        self.db
            .read(move |c| {
                let data: Option<String> = c
                    .query_row("SELECT data FROM ai_logs WHERE id = ?1", [id], |r| r.get(0))
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
        let status = filter
            .status
            .map(|s| to_json(&s).map(|t| t.trim_matches('"').to_string()))
            .transpose()?;
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
                Ok(paginate(items, limit, |l| l.id.to_string()))
            })
            .await
    }
}
