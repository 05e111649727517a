//! A relay phone's outbox: a row per message that waits there or was leased, beside the
//! message itself, which carries the status. Leasing moves both in one transaction.

use super::messages::{OwnedChange, transition_in};
use super::{EmbeddedStore, backend, timestamp_key};
use crate::cached;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use switchboard_core::domain::chat::ChatJid;
use switchboard_core::domain::ids::{AccountId, MessageId};
use switchboard_core::domain::message::{Message, MessageStatus};
use switchboard_core::ports::{OutboxLease, OutboxStore, StatusChange, StoreError};

fn parse_time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(backend)
}

#[async_trait]
impl OutboxStore for EmbeddedStore {
    async fn put_in_outbox(&self, message: &Message) -> Result<(), StoreError> {
        let (account, id, chat) = (
            message.account_id.to_string(),
            message.id.to_string(),
            message.chat_id.to_string(),
        );
        self.db
            .write(move |c| {
                cached::exec(
                    c,
                    "INSERT OR IGNORE INTO outbox (account_id, message_id, chat_id) VALUES (?1, ?2, ?3)",
                    params![account, id, chat],
                )
                .map_err(backend)?;
                Ok(())
            })
            .await
    }

    async fn lease_outbox(
        &self,
        account: &AccountId,
        limit: usize,
        until: DateTime<Utc>,
    ) -> Result<Vec<Message>, StoreError> {
        let account = account.to_string();
        // One writer: a poll's reads and writes are one transaction, so two polls never take
        // the same row.
        self.db
            .write(move |c| {
                let waiting: Vec<(String, String)> = {
                    let mut stmt = c
                        .prepare_cached(
                            "SELECT message_id, chat_id FROM outbox
                             WHERE account_id = ?1 AND lease_until IS NULL
                             ORDER BY message_id LIMIT ?2",
                        )
                        .map_err(backend)?;
                    stmt.query_map(params![account, limit as i64], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .map_err(backend)?
                    .collect::<Result<_, _>>()
                    .map_err(backend)?
                };
                let take = OwnedChange::of(&StatusChange {
                    from: &[MessageStatus::Queued],
                    to: MessageStatus::Sending,
                    provider_message_id: None,
                    error: None,
                    code: None,
                });
                let mut leased = Vec::new();
                for (id, _) in waiting {
                    if transition_in(c, &account, &id, &take)? {
                        cached::exec(
                            c,
                            "UPDATE outbox SET lease_until = ?3 WHERE account_id = ?1 AND message_id = ?2",
                            params![account, id, timestamp_key(&until)],
                        )
                        .map_err(backend)?;
                        if let Some(m) = super::load::<Message>(
                            c,
                            "SELECT data FROM messages WHERE account_id = ?1 AND id = ?2",
                            params![account, id],
                        )? {
                            leased.push(m);
                        }
                    } else {
                        // Withdrawn or settled meanwhile: it no longer waits.
                        cached::exec(
                            c,
                            "DELETE FROM outbox WHERE account_id = ?1 AND message_id = ?2",
                            params![account, id],
                        )
                        .map_err(backend)?;
                    }
                }
                Ok(leased)
            })
            .await
    }

    async fn outbox_lease(
        &self,
        account: &AccountId,
        message: &MessageId,
    ) -> Result<Option<OutboxLease>, StoreError> {
        let (account, message) = (account.to_string(), message.to_string());
        self.db
            .read(move |c| {
                let row: Option<(String, Option<String>)> = cached::query_row(
                    c,
                    "SELECT chat_id, lease_until FROM outbox WHERE account_id = ?1 AND message_id = ?2",
                    params![account, message],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(backend)?;
                match row {
                    Some((chat, Some(until))) => Ok(Some(OutboxLease {
                        chat: ChatJid::parse(&chat).map_err(backend)?,
                        until: parse_time(&until)?,
                    })),
                    _ => Ok(None),
                }
            })
            .await
    }

    async fn return_to_outbox(
        &self,
        account: &AccountId,
        message: &MessageId,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (account, message) = (account.to_string(), message.to_string());
        self.db
            .write(move |c| {
                let n = cached::exec(
                    c,
                    "UPDATE outbox SET lease_until = NULL
                     WHERE account_id = ?1 AND message_id = ?2 AND lease_until = ?3",
                    params![account, message, timestamp_key(&until)],
                )
                .map_err(backend)?;
                if n == 0 {
                    return Ok(false);
                }
                let back = OwnedChange::of(&StatusChange {
                    from: &[MessageStatus::Sending],
                    to: MessageStatus::Queued,
                    provider_message_id: None,
                    error: None,
                    code: None,
                });
                if transition_in(c, &account, &message, &back)? {
                    Ok(true)
                } else {
                    // Not under this lease any more: the lease stays as it was.
                    cached::exec(
                        c,
                        "UPDATE outbox SET lease_until = ?3 WHERE account_id = ?1 AND message_id = ?2",
                        params![account, message, timestamp_key(&until)],
                    )
                    .map_err(backend)?;
                    Ok(false)
                }
            })
            .await
    }
}
