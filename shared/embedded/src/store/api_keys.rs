//! Client API keys, each created and deleted with its audit row.

use super::audit::insert_audit_in;
use super::{EmbeddedStore, backend, load_with_hash, query_data, to_json};
use crate::cached;
use async_trait::async_trait;
use rusqlite::params;
use switchboard_core::domain::account::TokenHash;
use switchboard_core::domain::api_key::ApiKey;
use switchboard_core::domain::audit::AuditEntry;
use switchboard_core::domain::ids::ApiKeyId;
use switchboard_core::domain::page::{Page, PageRequest};
use switchboard_core::ports::{ApiKeyStore, StoreError};

#[async_trait]
impl ApiKeyStore for EmbeddedStore {
    async fn insert_api_key(
        &self,
        key: &ApiKey,
        hash: &TokenHash,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let (id, hash, data, audit) = (
            key.id.to_string(),
            hash.0.clone(),
            to_json(key)?,
            audit.clone(),
        );
        self.db
            .write(move |c| {
                cached::exec(
                    c,
                    "INSERT INTO api_keys (id, key_hash, data) VALUES (?1, ?2, ?3)",
                    params![id, hash, data],
                )
                .map_err(backend)?;
                insert_audit_in(c, &audit)
            })
            .await
    }

    async fn api_key_with_hash(
        &self,
        id: &ApiKeyId,
    ) -> Result<Option<(ApiKey, TokenHash)>, StoreError> {
        let id = id.to_string();
        self.db
            .read(move |c| {
                load_with_hash(c, "SELECT data, key_hash FROM api_keys WHERE id = ?1", id)
            })
            .await
    }

    async fn list_api_keys(&self, page: &PageRequest) -> Result<Page<ApiKey>, StoreError> {
        let after = page.after.clone().unwrap_or_default();
        let limit = page.limit;
        self.db
            .read(move |c| {
                let items: Vec<ApiKey> = query_data(
                    c,
                    "SELECT data FROM api_keys WHERE id > ?1 ORDER BY id LIMIT ?2",
                    params![after, limit as i64 + 1],
                )?;
                Ok(Page::from_overfetch(items, limit, |k| k.id.to_string()))
            })
            .await
    }

    async fn delete_api_key(&self, id: &ApiKeyId, audit: &AuditEntry) -> Result<bool, StoreError> {
        let (id, audit) = (id.to_string(), audit.clone());
        self.db
            .write(move |c| {
                let n =
                    cached::exec(c, "DELETE FROM api_keys WHERE id = ?1", [id]).map_err(backend)?;
                if n == 0 {
                    return Ok(false);
                }
                insert_audit_in(c, &audit)?;
                Ok(true)
            })
            .await
    }
}
