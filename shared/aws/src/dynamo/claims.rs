use super::item::{self, key, n};
use super::keys::{self, CLAIM_SK};
use super::{DynamoStore, held};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::time::Duration;
use switchboard_core::ports::{Claim, ClaimStore, StoreError};

#[async_trait]
impl ClaimStore for DynamoStore {
    /// Taken when absent or expired: one conditional write, so two racers cannot both win.
    /// DynamoDB's TTL removes the record a day after it expires.
    async fn claim(
        &self,
        claim_key: &str,
        now: DateTime<Utc>,
        hold_for: Duration,
    ) -> Result<Claim, StoreError> {
        let hold =
            chrono::Duration::from_std(hold_for).map_err(|e| StoreError::Backend(e.to_string()))?;
        let expires = now + hold;
        let mut row = key(keys::claim(claim_key), CLAIM_SK);
        row.insert("expires_ms".into(), n(expires.timestamp_millis()));
        row.insert(keys::TTL.into(), item::expires(expires, 1));
        Ok(
            if held(
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(row))
                    .condition_expression("attribute_not_exists(pk) OR expires_ms <= :now")
                    .expression_attribute_values(":now", n(now.timestamp_millis()))
                    .send()
                    .await,
            )? {
                Claim::Acquired
            } else {
                Claim::Busy
            },
        )
    }
}
