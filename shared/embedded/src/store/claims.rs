use super::{EmbeddedStore, backend};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
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
        self.db
            .write(move |c| {
                let current: Option<(bool, i64)> = c
                    .query_row("SELECT done, expires_at FROM claims WHERE key = ?1", [&key], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()
                    .map_err(backend)?;
                match current {
                    Some((true, _)) => Ok(Claim::Done),
                    Some((false, until)) if until > now => Ok(Claim::Busy),
                    _ => {
                        c.execute(
                            "INSERT INTO claims (key, done, expires_at) VALUES (?1, 0, ?2)
                             ON CONFLICT (key) DO UPDATE SET done = 0, expires_at = excluded.expires_at",
                            params![key, expires],
                        )
                        .map_err(backend)?;
                        Ok(Claim::Acquired)
                    }
                }
            })
            .await
    }

    async fn complete_claim(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_string();
        self.db
            .write(move |c| {
                c.execute("UPDATE claims SET done = 1 WHERE key = ?1", [key])
                    .map_err(backend)?;
                Ok(())
            })
            .await
    }
}
