//! The audit: each row in its own partition, listed newest first from `gsi1` (all rows, over
//! the list's shards: every client send writes one) or `gsi2` (one key's), the outcome as a
//! filter.

use super::item::{self, Item, json, key, name_of, parse_all, s};
use super::keys::{self, AUDIT_SK, GSI1PK, GSI1SK, GSI2, GSI2PK, GSI2SK};
use super::{DynamoStore, held};
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use switchboard_core::domain::audit::AuditEntry;
use switchboard_core::domain::page::{Page, PageRequest};
use switchboard_core::ports::{AuditFilter, AuditStore, StoreError};

pub(super) fn audit_item(entry: &AuditEntry) -> Result<Item, StoreError> {
    let mut row = key(keys::audit(&entry.id), AUDIT_SK);
    row.extend(item::item([
        (item::DATA, json(entry)?),
        ("outcome", s(name_of(&entry.outcome)?)),
        (GSI1PK, s(keys::shard(keys::AUDIT, entry.id.as_str()))),
        (GSI1SK, s(entry.id.as_str())),
    ]));
    if let Some(k) = &entry.key_id {
        row.insert(GSI2PK.into(), s(keys::audit_of(k)));
        row.insert(GSI2SK.into(), s(entry.id.as_str()));
    }
    Ok(row)
}

#[async_trait]
impl AuditStore for DynamoStore {
    async fn insert_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let written = held(
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(audit_item(entry)?))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await,
        )?;
        if written {
            Ok(())
        } else {
            Err(StoreError::Conflict(format!(
                "audit row {} exists",
                entry.id
            )))
        }
    }

    async fn list_audit(
        &self,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditEntry>, StoreError> {
        let before = page.after.clone().unwrap_or_else(|| keys::HIGHEST.into());
        let refined = |q: QueryFluentBuilder| match filter.outcome {
            Some(outcome) => q
                .filter_expression("outcome = :o")
                .expression_attribute_values(":o", s(outcome.as_str())),
            None => q,
        };
        let items = match &filter.key_id {
            Some(k) => {
                let q = self
                    .query()
                    .index_name(GSI2)
                    .key_condition_expression(format!("{GSI2PK} = :p AND {GSI2SK} < :before"))
                    .expression_attribute_values(":p", s(keys::audit_of(k)))
                    .expression_attribute_values(":before", s(&before))
                    .scan_index_forward(false);
                self.query_up_to(refined(q), page.limit + 1).await?
            }
            None => {
                self.query_shards(keys::AUDIT, &before, page.limit + 1, refined)
                    .await?
            }
        };
        Ok(Page::from_overfetch(
            parse_all(&items)?,
            page.limit,
            |e: &AuditEntry| e.id.to_string(),
        ))
    }
}
