//! Each account's activity per hour: one row per account and hour. Counts gather in memory and
//! are written together at most every second (`flush_activity`, which `switchboard serve`
//! runs each second and when it stops), so counting adds no write to a message's path: every
//! write waits for the one writer thread, and one more per message cost ingest a fifth of its
//! throughput. A read writes what is pending first, so it is exact; a crash loses at most the
//! last second's counts, which are statistics.

use super::{EmbeddedStore, backend, timestamp_key};
use crate::cached;
use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::params;
use std::sync::Mutex;
use switchboard_core::domain::activity::Activity;
use switchboard_core::domain::ids::AccountId;
use switchboard_core::ports::{ActivityStore, StoreError};

/// Hours kept (older ones go with the store's hourly purge): the overview reads one day; a
/// second covers a clock that moved.
pub(super) const KEPT: TimeDelta = TimeDelta::hours(48);

/// Counts not written yet, by account and hour; one flush at a time, so a read that flushes
/// first sees every count made before it.
#[derive(Default)]
pub struct Pending {
    counts: Mutex<Vec<(AccountId, DateTime<Utc>, Activity)>>,
    flushing: tokio::sync::Mutex<()>,
}

impl Pending {
    fn add(&self, account: &AccountId, hour: DateTime<Utc>, add: &Activity) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        match counts
            .iter_mut()
            .find(|(a, h, _)| a == account && *h == hour)
        {
            Some((_, _, sum)) => sum.add(add),
            None => counts.push((account.clone(), hour, *add)),
        }
    }

    fn take(&self) -> Vec<(AccountId, DateTime<Utc>, Activity)> {
        std::mem::take(&mut *self.counts.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl EmbeddedStore {
    /// Writes the counts gathered since the last flush, in one write.
    pub async fn flush_activity(&self) -> Result<(), StoreError> {
        let _one = self.pending.flushing.lock().await;
        let counts = self.pending.take();
        if counts.is_empty() {
            return Ok(());
        }
        let rows: Vec<_> = counts
            .iter()
            .map(|(account, hour, add)| (account.to_string(), timestamp_key(hour), add.counts()))
            .collect();
        let written = self
            .db
            .write(move |c| {
                for (account, hour, n) in &rows {
                    let [a, b, c_, d, e] = n.map(|v| v as i64);
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
                        params![account, hour, a, b, c_, d, e],
                    )
                    .map_err(backend)?;
                }
                Ok(())
            })
            .await;
        if written.is_err() {
            // Kept for the next flush rather than lost.
            for (account, hour, add) in &counts {
                self.pending.add(account, *hour, add);
            }
        }
        written
    }
}

#[async_trait]
impl ActivityStore for EmbeddedStore {
    async fn count_activity(
        &self,
        account: &AccountId,
        hour: DateTime<Utc>,
        add: &Activity,
    ) -> Result<(), StoreError> {
        self.pending.add(account, hour, add);
        Ok(())
    }

    async fn activity_since(
        &self,
        account: &AccountId,
        since: DateTime<Utc>,
    ) -> Result<Activity, StoreError> {
        self.flush_activity().await?;
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
