//! How many deliveries to one endpoint run at once in this process. A slow or hanging endpoint
//! then holds a few workers, never all of them, and the other endpoints keep their pace.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug)]
pub struct EndpointGate {
    per_endpoint: usize,
    in_flight: Arc<Mutex<HashMap<String, usize>>>,
}

/// Held while a delivery runs; leaving frees the place.
#[derive(Debug)]
pub struct Entered {
    key: String,
    in_flight: Arc<Mutex<HashMap<String, usize>>>,
}

impl EndpointGate {
    pub fn new(per_endpoint: usize) -> Self {
        Self {
            per_endpoint,
            in_flight: Arc::default(),
        }
    }

    /// A place for one more delivery to `endpoint`, or `None` when it has its share running.
    pub fn try_enter(&self, endpoint: &str) -> Option<Entered> {
        let mut map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(endpoint.to_string()).or_insert(0);
        if *n >= self.per_endpoint {
            return None;
        }
        *n += 1;
        Some(Entered {
            key: endpoint.to_string(),
            in_flight: self.in_flight.clone(),
        })
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        let mut map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_endpoint_gets_its_own_share() {
        let gate = EndpointGate::new(2);
        let a1 = gate.try_enter("a");
        let a2 = gate.try_enter("a");
        assert!(a1.is_some() && a2.is_some());
        assert!(gate.try_enter("a").is_none());
        assert!(
            gate.try_enter("b").is_some(),
            "another endpoint is not held back"
        );
        drop(a1);
        assert!(gate.try_enter("a").is_some());
    }
}
