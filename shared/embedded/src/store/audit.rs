//! The audit of the client API: appended, listed newest first by key and outcome.

use super::{EmbeddedStore, backend, name_of, query_data, to_json};
use crate::cached;
use async_trait::async_trait;
use rusqlite::{Connection, params};
use switchboard_core::domain::audit::AuditEntry;
use switchboard_core::domain::page::{Page, PageRequest};
use switchboard_core::ports::{AuditFilter, AuditStore, StoreError};

/// `insert_audit` in the caller's transaction.
pub(super) fn insert_audit_in(c: &Connection, entry: &AuditEntry) -> Result<(), StoreError> {
    cached::exec(
        c,
        "INSERT INTO audit (id, key_id, outcome, data) VALUES (?1, ?2, ?3, ?4)",
        params![
            entry.id.as_str(),
            entry.key_id.as_ref().map(|k| k.to_string()),
            name_of(&entry.outcome)?,
            to_json(entry)?
        ],
    )
    .map_err(backend)?;
    Ok(())
}

#[async_trait]
impl AuditStore for EmbeddedStore {
    async fn insert_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let entry = entry.clone();
        self.db.write(move |c| insert_audit_in(c, &entry)).await
    }

    async fn list_audit(
        &self,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditEntry>, StoreError> {
        let key = filter.key_id.as_ref().map(|k| k.to_string());
        let outcome = filter.outcome.map(|o| o.as_str());
        let before = page.after.clone().unwrap_or_else(|| "~".into());
        let limit = page.limit;
        self.db
            .read(move |c| {
                let items: Vec<AuditEntry> = query_data(
                    c,
                    "SELECT data FROM audit
                     WHERE id < ?1 AND (?2 IS NULL OR key_id = ?2) AND (?3 IS NULL OR outcome = ?3)
                     ORDER BY id DESC LIMIT ?4",
                    params![before, key, outcome, limit as i64 + 1],
                )?;
                Ok(Page::from_overfetch(items, limit, |e| e.id.to_string()))
            })
            .await
    }
}
