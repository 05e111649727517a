//! How many deliveries to one endpoint run at once in this process. A slow or hanging endpoint
//! then holds a few workers, never all of them, and the other endpoints keep their pace.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// An endpoint that freed no place for this long is stuck: waiting for it only holds a worker.
const STUCK_AFTER: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct Endpoint {
    places: Arc<Semaphore>,
    last_freed: Arc<Mutex<Instant>>,
}

#[derive(Debug)]
pub struct EndpointGate {
    per_endpoint: usize,
    endpoints: Mutex<HashMap<String, Endpoint>>,
}

/// A place at an endpoint; dropping it frees the place.
#[derive(Debug)]
pub struct Place {
    _permit: OwnedSemaphorePermit,
    last_freed: Arc<Mutex<Instant>>,
}

impl Drop for Place {
    fn drop(&mut self) {
        *self.last_freed.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }
}

impl EndpointGate {
    pub fn new(per_endpoint: usize) -> Self {
        Self {
            per_endpoint,
            endpoints: Mutex::default(),
        }
    }

    /// A place for one more delivery to `endpoint`, waiting up to `patience` for one to free
    /// (a fast endpoint frees one within milliseconds, a stuck one is not waited for); `None`
    /// when none did.
    pub async fn enter(&self, endpoint: &str, patience: Duration) -> Option<Place> {
        let (places, last_freed) = {
            let mut map = self.endpoints.lock().unwrap_or_else(|p| p.into_inner());
            let e = map.entry(endpoint.to_string()).or_insert_with(|| Endpoint {
                places: Arc::new(Semaphore::new(self.per_endpoint)),
                last_freed: Arc::new(Mutex::new(Instant::now())),
            });
            (e.places.clone(), e.last_freed.clone())
        };
        let permit = match places.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                let freed = *last_freed.lock().unwrap_or_else(|p| p.into_inner());
                if freed.elapsed() > STUCK_AFTER {
                    return None;
                }
                tokio::time::timeout(patience, places.acquire_owned())
                    .await
                    .ok()?
                    .ok()?
            }
        };
        Some(Place {
            _permit: permit,
            last_freed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_endpoint_gets_its_own_share() {
        let gate = EndpointGate::new(2);
        let patience = Duration::from_millis(20);
        let a1 = gate.enter("a", patience).await;
        let a2 = gate.enter("a", patience).await;
        assert!(a1.is_some() && a2.is_some());
        assert!(gate.enter("a", patience).await.is_none());
        assert!(
            gate.enter("b", patience).await.is_some(),
            "another endpoint is not held back"
        );
        drop(a1);
        assert!(gate.enter("a", patience).await.is_some());
    }

    #[tokio::test]
    async fn a_stuck_endpoint_is_not_waited_for() {
        let gate = EndpointGate::new(1);
        let stuck = gate.enter("a", Duration::ZERO).await.expect("place");
        tokio::time::sleep(STUCK_AFTER + Duration::from_millis(50)).await;
        let asked = Instant::now();
        assert!(gate.enter("a", Duration::from_secs(5)).await.is_none());
        assert!(
            asked.elapsed() < Duration::from_secs(1),
            "it did not wait out its patience"
        );
        // Freeing a place makes the endpoint live again: when it is full next, it is waited for.
        drop(stuck);
        let held = gate.enter("a", Duration::ZERO).await.expect("place");
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            drop(held);
        });
        assert!(gate.enter("a", Duration::from_millis(500)).await.is_some());
    }

    #[tokio::test]
    async fn a_place_freed_while_waiting_is_taken() {
        let gate = Arc::new(EndpointGate::new(1));
        let first = gate.enter("a", Duration::ZERO).await.expect("place");
        let waiter = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.enter("a", Duration::from_secs(5)).await.is_some() })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        drop(first);
        assert!(waiter.await.expect("join"));
    }
}
