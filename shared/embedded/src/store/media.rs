//! Media: what was read of a medium, cached by content and model; a message's medium as it was
//! understood; a bridge's inline bytes until the reply job read them.

use super::{EmbeddedStore, backend, to_json};
use crate::cached;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use switchboard_core::domain::chat::ChatJid;
use switchboard_core::domain::ids::{AccountId, MessageId};
use switchboard_core::domain::media::Media;
use switchboard_core::ports::{MediaStore, StoreError};

#[async_trait]
impl MediaStore for EmbeddedStore {
    async fn cached_text(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let key = key.to_string();
        let now = now.timestamp_millis();
        self.db
            .read(move |c| {
                cached::query_row(
                    c,
                    "SELECT text FROM media_readings WHERE key = ?1 AND expires_at > ?2",
                    params![key, now],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)
            })
            .await
    }

    async fn cache_text(
        &self,
        key: &str,
        text: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (key, text) = (key.to_string(), text.to_string());
        let expires = expires_at.timestamp_millis();
        self.db
            .write(move |c| {
                cached::exec(
                    c,
                    "INSERT INTO media_readings (key, text, expires_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (key) DO UPDATE SET text = excluded.text, expires_at = excluded.expires_at",
                    params![key, text, expires],
                )
                .map_err(backend)?;
                Ok(())
            })
            .await
    }

    async fn set_media(
        &self,
        account: &AccountId,
        _chat: &ChatJid,
        message: &MessageId,
        media: &Media,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (account, message) = (account.to_string(), message.to_string());
        let media = to_json(media)?;
        let at = to_json(&at)?;
        self.db
            .write(move |c| {
                cached::exec(
                    c,
                    "UPDATE messages SET data = json_set(data, '$.media', json(?1), '$.updated_at', json(?4))
                     WHERE id = ?2 AND account_id = ?3",
                    params![media, message, account, at],
                )
                .map_err(backend)?;
                Ok(())
            })
            .await
    }

    async fn keep_inline_media(
        &self,
        message: &str,
        bytes: &[u8],
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (key, bytes) = (message.to_string(), bytes.to_vec());
        let expires = expires_at.timestamp_millis();
        self.db
            .write(move |c| {
                cached::exec(
                    c,
                    "INSERT INTO inline_media (key, bytes, expires_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (key) DO UPDATE SET bytes = excluded.bytes, expires_at = excluded.expires_at",
                    params![key, bytes, expires],
                )
                .map_err(backend)?;
                Ok(())
            })
            .await
    }

    async fn inline_media(&self, message: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = message.to_string();
        self.db
            .read(move |c| {
                cached::query_row(
                    c,
                    "SELECT bytes FROM inline_media WHERE key = ?1",
                    [key],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)
            })
            .await
    }

    async fn forget_inline_media(&self, message: &str) -> Result<(), StoreError> {
        let key = message.to_string();
        self.db
            .write(move |c| {
                cached::exec(c, "DELETE FROM inline_media WHERE key = ?1", [key])
                    .map_err(backend)?;
                Ok(())
            })
            .await
    }
}
