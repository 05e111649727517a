//! Claims: a key with an expiry, taken by one statement so that two racers cannot both win.

use super::{EmbeddedStore, backend};
use crate::cached;
use crate::db::Durability;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::params;
use std::time::Duration;
use switchboard_core::ports::{Claim, ClaimStore, StoreError};

#[async_trait]
impl ClaimStore for EmbeddedStore {
    async fn claim(
        &self,
        key: &str,
        now: DateTime<Utc>,
        hold_for: Duration,
    ) -> Result<Claim, StoreError> {
        let key = key.to_string();
        let now = now.timestamp_millis();
        let expires = now + hold_for.as_millis() as i64;
        // A claim lost in a crash of the machine was held by a run that died with it.
        self.db
            .write_with(Durability::Relaxed, move |c| {
                // Taken when absent or expired; one statement, so two racers cannot both win.
                let n = cached::exec(
                    c,
                    "INSERT INTO claims (key, expires_at) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
                     WHERE claims.expires_at <= ?3",
                    params![key, expires, now],
                )
                .map_err(backend)?;
                Ok(if n == 1 { Claim::Acquired } else { Claim::Busy })
            })
            .await
    }
}
