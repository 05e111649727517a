//! Each account's activity per hour: one row per account and hour, its counts added in place.

use super::{EmbeddedStore, backend, timestamp_key};
use crate::cached;
use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::params;
use switchboard_core::domain::activity::Activity;
use switchboard_core::domain::ids::AccountId;
use switchboard_core::ports::{ActivityStore, StoreError};

/// Hours kept (older ones go with the store's hourly purge): the overview reads one day; a
/// second covers a clock that moved.
pub(super) const KEPT: TimeDelta = TimeDelta::hours(48);

#[async_trait]
impl ActivityStore for EmbeddedStore {
    async fn count_activity(
        &self,
        account: &AccountId,
        hour: DateTime<Utc>,
        add: &Activity,
    ) -> Result<(), StoreError> {
        let (account, key) = (account.to_string(), timestamp_key(&hour));
        let [a, b, c_, d, e] = add.counts().map(|n| n as i64);
        self.db
            .write(move |c| {
                cached::exec(
                    c,
                    "INSERT INTO activity (account_id, hour, messages_in, messages_out, ai_sent, ai_skipped, ai_failed)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (account_id, hour) DO UPDATE SET
                       messages_in = messages_in + excluded.messages_in,
                       messages_out = messages_out + excluded.messages_out,
                       ai_sent = ai_sent + excluded.ai_sent,
                       ai_skipped = ai_skipped + excluded.ai_skipped,
                       ai_failed = ai_failed + excluded.ai_failed",
                    params![account, key, a, b, c_, d, e],
                )
                .map_err(backend)?;
                Ok(())
            })
            .await
    }

    async fn activity_since(
        &self,
        account: &AccountId,
        since: DateTime<Utc>,
    ) -> Result<Activity, StoreError> {
        let (account, since) = (account.to_string(), timestamp_key(&since));
        self.db
            .read(move |c| {
                let sums = cached::query_row(
                    c,
                    "SELECT COALESCE(SUM(messages_in), 0), COALESCE(SUM(messages_out), 0),
                            COALESCE(SUM(ai_sent), 0), COALESCE(SUM(ai_skipped), 0),
                            COALESCE(SUM(ai_failed), 0)
                     FROM activity WHERE account_id = ?1 AND hour >= ?2",
                    params![account, since],
                    |r| {
                        let n = |i: usize| r.get::<_, i64>(i).map(|v| v.max(0) as u64);
                        Ok([n(0)?, n(1)?, n(2)?, n(3)?, n(4)?])
                    },
                )
                .map_err(backend)?;
                Ok(Activity::from_counts(sums))
            })
            .await
    }
}
