//! How many deliveries to one endpoint run at once in this process. A slow or hanging endpoint
//! then holds a few workers, never all of them, and the other endpoints keep their pace.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
// Tokio's clock, so tests can pause and advance it instead of sleeping.
use tokio::time::Instant;

/// An endpoint that freed no slot for this long is stuck: waiting for it only holds a worker.
const STUCK_AFTER: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct Endpoint {
    slots: Arc<Semaphore>,
    last_freed: Arc<Mutex<Instant>>,
}

#[derive(Debug)]
pub struct EndpointSlots {
    per_endpoint: usize,
    endpoints: Mutex<HashMap<String, Endpoint>>,
}

/// A slot at an endpoint; dropping it frees the slot.
#[derive(Debug)]
pub struct Slot {
    _permit: OwnedSemaphorePermit,
    last_freed: Arc<Mutex<Instant>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        *self.last_freed.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }
}

impl EndpointSlots {
    pub fn new(per_endpoint: usize) -> Self {
        Self {
            per_endpoint,
            endpoints: Mutex::default(),
        }
    }

    /// A slot for one more delivery to `endpoint`, waiting up to `patience` for one to free
    /// (a fast endpoint frees one within milliseconds, a stuck one is not waited for); `None`
    /// when none did.
    pub async fn take(&self, endpoint: &str, patience: Duration) -> Option<Slot> {
        let (slots, last_freed) = {
            let mut map = self.endpoints.lock().unwrap_or_else(|p| p.into_inner());
            let e = map.entry(endpoint.to_string()).or_insert_with(|| Endpoint {
                slots: Arc::new(Semaphore::new(self.per_endpoint)),
                last_freed: Arc::new(Mutex::new(Instant::now())),
            });
            (e.slots.clone(), e.last_freed.clone())
        };
        let permit = match slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                let freed = *last_freed.lock().unwrap_or_else(|p| p.into_inner());
                if freed.elapsed() > STUCK_AFTER {
                    return None;
                }
                tokio::time::timeout(patience, slots.acquire_owned())
                    .await
                    .ok()?
                    .ok()?
            }
        };
        Some(Slot {
            _permit: permit,
            last_freed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn each_endpoint_gets_its_own_share() {
        let slots = EndpointSlots::new(2);
        let patience = Duration::from_millis(20);
        let a1 = slots.take("a", patience).await;
        let a2 = slots.take("a", patience).await;
        assert!(a1.is_some() && a2.is_some());
        assert!(slots.take("a", patience).await.is_none());
        assert!(
            slots.take("b", patience).await.is_some(),
            "another endpoint is not held back"
        );
        drop(a1);
        assert!(slots.take("a", patience).await.is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn a_stuck_endpoint_is_not_waited_for() {
        let slots = EndpointSlots::new(1);
        let stuck = slots.take("a", Duration::ZERO).await.expect("slot");
        tokio::time::advance(STUCK_AFTER + Duration::from_millis(50)).await;
        let asked = Instant::now();
        assert!(slots.take("a", Duration::from_secs(5)).await.is_none());
        assert_eq!(
            asked.elapsed(),
            Duration::ZERO,
            "it did not wait out its patience"
        );
        // Freeing a slot makes the endpoint live again: when it is full next, it is waited for.
        drop(stuck);
        let held = slots.take("a", Duration::ZERO).await.expect("slot");
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            drop(held);
        });
        assert!(slots.take("a", Duration::from_millis(500)).await.is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn a_slot_freed_while_waiting_is_taken() {
        let slots = Arc::new(EndpointSlots::new(1));
        let first = slots.take("a", Duration::ZERO).await.expect("slot");
        let waiter = {
            let slots = slots.clone();
            tokio::spawn(async move { slots.take("a", Duration::from_secs(5)).await.is_some() })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        drop(first);
        assert!(waiter.await.expect("join"));
    }
}
