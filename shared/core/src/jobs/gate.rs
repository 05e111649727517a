//! How many deliveries to one endpoint run at once in this process. A slow or hanging endpoint
//! then holds a few workers, never all of them, and the other endpoints keep their pace.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug)]
pub struct EndpointGate {
    per_endpoint: usize,
    places: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl EndpointGate {
    pub fn new(per_endpoint: usize) -> Self {
        Self {
            per_endpoint,
            places: Mutex::default(),
        }
    }

    /// A place for one more delivery to `endpoint`, waiting up to `patience` for one to free
    /// (a fast endpoint frees one within milliseconds); `None` when none did. Dropping the
    /// place frees it.
    pub async fn enter(&self, endpoint: &str, patience: Duration) -> Option<OwnedSemaphorePermit> {
        let places = {
            let mut map = self.places.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(endpoint.to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_endpoint)))
                .clone()
        };
        tokio::time::timeout(patience, places.acquire_owned())
            .await
            .ok()?
            .ok()
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
