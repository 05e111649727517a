//! Paces, in the process's memory: one GCRA limiter (the `governor` crate) per distinct rate,
//! keyed. The local process is the only sender on its data, so memory is where the pace
//! lives; a restart forgets it, which lets one burst through at most.

use super::EmbeddedStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchboard_core::ports::{Rate, RateStore, StoreError};

/// Keys seen (chats, mostly) before the limiters drop the ones that are back to a full burst.
const TIDY_EVERY: usize = 10_000;

#[derive(Default)]
pub struct Paces {
    limiters: Mutex<HashMap<Rate, Arc<DefaultKeyedRateLimiter<String>>>>,
    clock: DefaultClock,
}

impl Paces {
    fn limiter(&self, rate: Rate) -> Option<Arc<DefaultKeyedRateLimiter<String>>> {
        let mut limiters = self.limiters.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(l) = limiters.get(&rate) {
            return Some(l.clone());
        }
        let burst = NonZeroU32::new(rate.count)?;
        let quota = Quota::with_period(rate.per / rate.count)?.allow_burst(burst);
        let limiter = Arc::new(DefaultKeyedRateLimiter::keyed(quota));
        limiters.insert(rate, limiter.clone());
        Some(limiter)
    }

    fn take(&self, key: &str, rate: Rate) -> Option<Duration> {
        // A rate of nothing, or in no time, paces nothing.
        let limiter = self.limiter(rate)?;
        let outcome = limiter.check_key(&key.to_string());
        if limiter.len() > TIDY_EVERY {
            limiter.retain_recent();
        }
        outcome
            .err()
            .map(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

#[async_trait]
impl RateStore for EmbeddedStore {
    async fn take_rate(
        &self,
        key: &str,
        rate: Rate,
        _now: DateTime<Utc>,
    ) -> Result<Option<Duration>, StoreError> {
        Ok(self.paces.take(key, rate))
    }
}
