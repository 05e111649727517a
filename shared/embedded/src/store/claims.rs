//! Claims: a key with an expiry, taken by one statement so that two racers cannot both win.

use super::{EmbeddedStore, backend};
use crate::cached;
use crate::db::Durability;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::params;
use std::time::Duration;
use switchboard_core::ports::{Claim, ClaimStore, StoreError};

impl EmbeddedStore {
    /// Frees the claims earlier runs held. Only one server uses a data dir at a time (it locks
    /// it), so at its start every claim in it was held by a server that stopped: the work it
    /// claimed may start again at once instead of when the claim would have expired.
    pub async fn release_claims_of_earlier_runs(&self) -> Result<u64, StoreError> {
        self.db
            .write(|c| {
                let n = cached::exec(c, "DELETE FROM claims", []).map_err(backend)?;
                Ok(n as u64)
            })
            .await
    }

    /// Deletes what no request can use any more: claims that expired, idempotency records
    /// past the time they are honoured, media readings and inline bytes past theirs, activity
    /// counts older than two days (DynamoDB's TTL does the same on AWS).
    pub async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        // The counts in memory first, so that none lands after the purge of its hour.
        self.flush_activity().await?;
        let hours = super::timestamp_key(&(now - super::activity::KEPT));
        let now = now.timestamp_millis();
        self.db
            .write(move |c| {
                let claims = cached::exec(c, "DELETE FROM claims WHERE expires_at <= ?1", [now])
                    .map_err(backend)?;
                let records = cached::exec(
                    c,
                    "DELETE FROM idempotency WHERE expires_at <= ?1 AND hold_until <= ?1",
                    [now],
                )
                .map_err(backend)?;
                let readings = cached::exec(
                    c,
                    "DELETE FROM media_readings WHERE expires_at <= ?1",
                    [now],
                )
                .map_err(backend)?;
                let inline =
                    cached::exec(c, "DELETE FROM inline_media WHERE expires_at <= ?1", [now])
                        .map_err(backend)?;
                let activity = cached::exec(c, "DELETE FROM activity WHERE hour < ?1", [&hours])
                    .map_err(backend)?;
                Ok((claims + records + readings + inline + activity) as u64)
            })
            .await
    }
}

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
