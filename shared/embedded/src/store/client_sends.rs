//! Sends through the client API: an idempotency key taken and finished, the message written
//! with its audit row and the key's answer in one transaction, and decisions on pending
//! messages.

use super::audit::insert_audit_in;
use super::messages::{OwnedChange, insert, touch_chat, transition_in};
use super::{EmbeddedStore, backend, from_json, query_data, to_json};
use crate::cached;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use switchboard_core::domain::audit::AuditEntry;
use switchboard_core::domain::idempotency::{
    Begun, IN_FLIGHT_SECONDS, IdempotencyKey, StoredAnswer, expiry,
};
use switchboard_core::domain::ids::MessageId;
use switchboard_core::domain::message::{Message, MessageStatus};
use switchboard_core::domain::page::{Page, PageRequest};
use switchboard_core::ports::{ClientSendStore, Finished, StatusChange, StoreError};

#[async_trait]
impl ClientSendStore for EmbeddedStore {
    async fn begin_idempotent(
        &self,
        key: &IdempotencyKey,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> Result<Begun, StoreError> {
        let (api_key, k, fingerprint) = (
            key.api_key.to_string(),
            key.key.clone(),
            fingerprint.to_string(),
        );
        let now_ms = now.timestamp_millis();
        let hold = (now + chrono::Duration::seconds(IN_FLIGHT_SECONDS)).timestamp_millis();
        let expires = expiry(now).timestamp_millis();
        self.db
            .write(move |c| {
                let row: Option<(String, Option<String>, i64, i64)> = cached::query_row(
                    c,
                    "SELECT fingerprint, answer, hold_until, expires_at FROM idempotency
                     WHERE api_key_id = ?1 AND key = ?2",
                    params![api_key, k],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()
                .map_err(backend)?;
                match row {
                    Some((first, Some(answer), _, expires_at)) if expires_at > now_ms => {
                        let answer: StoredAnswer = from_json(&answer)?;
                        return Ok(Begun::Finished {
                            fingerprint: first,
                            answer,
                        });
                    }
                    Some((first, None, hold_until, _)) if hold_until > now_ms => {
                        return Ok(Begun::InFlight { fingerprint: first });
                    }
                    // Absent, expired, or held by a request that stopped: taken.
                    _ => {}
                }
                cached::exec(
                    c,
                    "INSERT OR REPLACE INTO idempotency
                     (api_key_id, key, fingerprint, answer, hold_until, expires_at)
                     VALUES (?1, ?2, ?3, NULL, ?4, ?5)",
                    params![api_key, k, fingerprint, hold, expires],
                )
                .map_err(backend)?;
                Ok(Begun::Taken)
            })
            .await
    }

    async fn release_idempotent(&self, key: &IdempotencyKey) -> Result<(), StoreError> {
        let (api_key, k) = (key.api_key.to_string(), key.key.clone());
        self.db
            .write(move |c| {
                cached::exec(
                    c,
                    "DELETE FROM idempotency WHERE api_key_id = ?1 AND key = ?2 AND answer IS NULL",
                    params![api_key, k],
                )
                .map_err(backend)?;
                Ok(())
            })
            .await
    }

    async fn record_client_send(
        &self,
        message: &Message,
        audit: &AuditEntry,
        finished: Option<Finished<'_>>,
    ) -> Result<(), StoreError> {
        let (m, audit) = (message.clone(), audit.clone());
        let finished = finished
            .map(|f| {
                Ok::<_, StoreError>((
                    f.key.api_key.to_string(),
                    f.key.key.clone(),
                    f.fingerprint.to_string(),
                    to_json(f.answer)?,
                ))
            })
            .transpose()?;
        self.db
            .write(move |c| {
                if let Some((api_key, k, fingerprint, answer)) = &finished {
                    let n = cached::exec(
                        c,
                        "UPDATE idempotency SET answer = ?4
                         WHERE api_key_id = ?1 AND key = ?2 AND fingerprint = ?3 AND answer IS NULL",
                        params![api_key, k, fingerprint, answer],
                    )
                    .map_err(backend)?;
                    if n == 0 {
                        return Err(StoreError::Conflict(
                            "the idempotency key is no longer held by this request".into(),
                        ));
                    }
                }
                if !insert(c, &m)? {
                    return Err(StoreError::Conflict(format!("message {} exists", m.id)));
                }
                touch_chat(c, &m)?;
                if m.status == MessageStatus::PendingConfirmation {
                    cached::exec(c, "INSERT INTO pending (message_id) VALUES (?1)", [m.id.as_str()])
                        .map_err(backend)?;
                }
                insert_audit_in(c, &audit)
            })
            .await
    }

    async fn find_message(&self, id: &MessageId) -> Result<Option<Message>, StoreError> {
        let id = id.to_string();
        self.db
            .read(move |c| {
                let data: Option<String> =
                    cached::query_row(c, "SELECT data FROM messages WHERE id = ?1", [id], |r| {
                        r.get(0)
                    })
                    .optional()
                    .map_err(backend)?;
                data.map(|d| from_json(&d)).transpose()
            })
            .await
    }

    async fn list_pending(&self, page: &PageRequest) -> Result<Page<Message>, StoreError> {
        let after = page.after.clone().unwrap_or_default();
        let limit = page.limit;
        self.db
            .read(move |c| {
                let items: Vec<Message> = query_data(
                    c,
                    "SELECT m.data FROM pending p JOIN messages m ON m.id = p.message_id
                     WHERE p.message_id > ?1 ORDER BY p.message_id LIMIT ?2",
                    params![after, limit as i64 + 1],
                )?;
                Ok(Page::from_overfetch(items, limit, |m| m.id.to_string()))
            })
            .await
    }

    async fn decide(
        &self,
        message: &Message,
        change: &StatusChange<'_>,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let (account, id) = (message.account_id.to_string(), message.id.to_string());
        let (change, audit) = (OwnedChange::of(change), audit.clone());
        self.db
            .write(move |c| {
                if !transition_in(c, &account, &id, &change)? {
                    return Ok(false);
                }
                cached::exec(c, "DELETE FROM pending WHERE message_id = ?1", [&id])
                    .map_err(backend)?;
                insert_audit_in(c, &audit)?;
                Ok(true)
            })
            .await
    }
}
