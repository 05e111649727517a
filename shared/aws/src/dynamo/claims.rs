//! Claims: one conditional write takes a key that is absent or expired.

use super::item::{self, key, n};
use super::keys::{self, CLAIM_SK};
use super::{DynamoStore, values};
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
            if self
                .put_if(
                    row,
                    "attribute_not_exists(pk) OR expires_ms <= :now",
                    None,
                    values([(":now", n(now.timestamp_millis()))]),
                )
                .await?
            {
                Claim::Acquired
            } else {
                Claim::Busy
            },
        )
    }
}
