//! Media: readings (transcripts, descriptions) under `MR#{key}`, expiring by TTL; a message's
//! medium as the `media` attribute of its item, laid over `data` when read; a bridge's inline
//! bytes in chunks under `IM#{key}` (an item holds at most 400 KB), deleted once read and
//! expiring by TTL otherwise.

use super::item::{self, get_n, get_s, key, n, s};
use super::keys;
use super::messages::message_key;
use super::{DynamoStore, backend, tx_put};
use async_trait::async_trait;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use switchboard_core::domain::chat::ChatJid;
use switchboard_core::domain::ids::{AccountId, MessageId};
use switchboard_core::domain::media::Media;
use switchboard_core::ports::{MediaStore, StoreError};

/// The attribute holding a message's medium once the reply job has dealt with it.
pub(super) const MEDIA: &str = "media";
const TEXT: &str = "text";
const EXPIRES: &str = "expires_ms";
const BYTES: &str = "bytes";
/// Bytes per item of inline media: under DynamoDB's 400 KB item limit with room for the keys.
const CHUNK: usize = 350 * 1024;

fn reading_key(key: &str) -> super::item::Item {
    item::key(format!("MR#{key}"), "MR")
}

fn inline_pk(key: &str) -> String {
    format!("IM#{key}")
}

/// DynamoDB's TTL removes an item within days of its time: the expiry is checked on read too.
fn ttl(at: DateTime<Utc>) -> AttributeValue {
    n(at.timestamp())
}

#[async_trait]
impl MediaStore for DynamoStore {
    async fn cached_text(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let found = self.get(reading_key(key)).await?;
        Ok(found
            .filter(|row| get_n(row, EXPIRES).is_some_and(|at| at > now.timestamp_millis()))
            .and_then(|row| get_s(&row, TEXT).map(str::to_string)))
    }

    async fn cache_text(
        &self,
        key: &str,
        text: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut row = reading_key(key);
        row.insert(TEXT.into(), s(text));
        row.insert(EXPIRES.into(), n(expires_at.timestamp_millis()));
        row.insert(keys::TTL.into(), ttl(expires_at));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(row))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn set_media(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        message: &MessageId,
        media: &Media,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let value = item::json(media)?;
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(message_key(account, chat, message)))
            .update_expression("SET #m = :m, updated_at = :at")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#m", MEDIA)
            .expression_attribute_values(":m", value)
            .expression_attribute_values(":at", item::s(item::timestamp(&at)))
            .send()
            .await;
        // A message deleted with its account meanwhile: nothing to keep.
        super::held(out).map(|_| ())
    }

    async fn keep_inline_media(
        &self,
        message: &str,
        bytes: &[u8],
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let pk = inline_pk(message);
        let writes = bytes
            .chunks(CHUNK)
            .enumerate()
            .map(|(i, chunk)| {
                let mut row = key(pk.clone(), format!("{i:04}"));
                row.insert(BYTES.into(), AttributeValue::B(Blob::new(chunk)));
                row.insert(keys::TTL.into(), ttl(expires_at));
                tx_put(self.put(row))
            })
            .collect::<Result<Vec<_>, _>>()?;
        // One transaction: a reader finds every chunk or none.
        self.transact(writes).await.map_err(|e| e.into_store())
    }

    async fn inline_media(&self, message: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let items = self
            .query_all(
                self.query()
                    .key_condition_expression("pk = :pk")
                    .expression_attribute_values(":pk", s(inline_pk(message)))
                    .consistent_read(true),
            )
            .await?;
        if items.is_empty() {
            return Ok(None);
        }
        let mut bytes = Vec::new();
        for row in &items {
            match row.get(BYTES) {
                Some(AttributeValue::B(blob)) => bytes.extend_from_slice(blob.as_ref()),
                _ => {
                    return Err(StoreError::Backend(
                        "an inline media chunk has no bytes".into(),
                    ));
                }
            }
        }
        Ok(Some(bytes))
    }

    async fn forget_inline_media(&self, message: &str) -> Result<(), StoreError> {
        let keys = self.partition_keys(&inline_pk(message)).await?;
        self.delete_all(keys).await
    }
}
