//! Client API keys, each in its own partition with the hash of its secret, listed from `gsi1`;
//! created and deleted in one transaction with their audit row.

use super::audit::audit_item;
use super::item::{self, Item, get_s, json, key, parse_all, s};
use super::keys::{self, API_KEY_SK, GSI1PK, GSI1SK};
use super::{DynamoStore, tx_put};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};
use switchboard_core::domain::account::TokenHash;
use switchboard_core::domain::api_key::ApiKey;
use switchboard_core::domain::audit::AuditEntry;
use switchboard_core::domain::ids::ApiKeyId;
use switchboard_core::domain::page::{Page, PageRequest};
use switchboard_core::ports::{ApiKeyStore, StoreError};

const HASH: &str = "key_hash";

fn key_of(id: &ApiKeyId) -> Item {
    key(keys::api_key(id), API_KEY_SK)
}

#[async_trait]
impl ApiKeyStore for DynamoStore {
    async fn insert_api_key(
        &self,
        api_key: &ApiKey,
        hash: &TokenHash,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut row = key_of(&api_key.id);
        row.extend(item::item([
            (item::DATA, json(api_key)?),
            (HASH, s(&hash.0)),
            (GSI1PK, s(keys::API_KEYS)),
            (GSI1SK, s(api_key.id.as_str())),
        ]));
        let items = vec![
            tx_put(
                self.put(row)
                    .condition_expression("attribute_not_exists(pk)"),
            )?,
            tx_put(self.put(audit_item(audit)?))?,
        ];
        self.transact(items).await.map_err(|e| e.into_store())
    }

    async fn api_key_with_hash(
        &self,
        id: &ApiKeyId,
    ) -> Result<Option<(ApiKey, TokenHash)>, StoreError> {
        let Some(row) = self.get(key_of(id)).await? else {
            return Ok(None);
        };
        let hash = get_s(&row, HASH)
            .ok_or_else(|| StoreError::Backend(format!("api key {id} has no hash")))?;
        Ok(Some((item::data(&row)?, TokenHash(hash.to_string()))))
    }

    async fn list_api_keys(&self, page: &PageRequest) -> Result<Page<ApiKey>, StoreError> {
        let items = self
            .query_up_to(
                self.after_in_index(keys::API_KEYS, page.after.as_deref()),
                page.limit + 1,
            )
            .await?;
        Ok(Page::from_overfetch(
            parse_all(&items)?,
            page.limit,
            |k: &ApiKey| k.id.to_string(),
        ))
    }

    async fn delete_api_key(&self, id: &ApiKeyId, audit: &AuditEntry) -> Result<bool, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key_of(id)))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let items = vec![
            TransactWriteItem::builder().delete(delete).build(),
            tx_put(self.put(audit_item(audit)?))?,
        ];
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(e) if e.failed_at(0) => Ok(false),
            Err(e) => Err(e.into_store()),
        }
    }
}
