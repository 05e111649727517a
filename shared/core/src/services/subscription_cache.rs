//! The active webhook subscriptions, kept in memory for a few seconds: every event is matched
//! against them, and reading them for each one would cost a store round trip per event. A
//! change made through this process is seen at once (the cache is dropped); one made through
//! another process (another Lambda instance) within `TTL`.

use crate::domain::webhook::Subscription;
use crate::ports::{Store, StoreError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TTL: Duration = Duration::from_secs(5);

#[derive(Debug, Default)]
pub struct SubscriptionCache {
    held: Mutex<Option<(Instant, Arc<Vec<Subscription>>)>>,
}

impl SubscriptionCache {
    pub async fn active(&self, store: &dyn Store) -> Result<Arc<Vec<Subscription>>, StoreError> {
        if let Some((at, list)) = self.lock().as_ref()
            && at.elapsed() < TTL
        {
            return Ok(list.clone());
        }
        let list = Arc::new(store.active_webhooks().await?);
        *self.lock() = Some((Instant::now(), list.clone()));
        Ok(list)
    }

    /// After a subscription changed: the next event reads them again.
    pub fn invalidate(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Instant, Arc<Vec<Subscription>>)>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }
}
