//! A webhook receiver on loopback: records every request and answers as the test scripts it
//! (a status per request number, no answer at all, or none until the test releases it), and
//! counts the requests it holds open at once. `verify` checks a signature the way the Standard
//! Webhooks specification defines it, written here apart from the project's signer.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub enum Answer {
    Status(u16),
    /// A status with `Retry-After: <seconds>`.
    Throttle(u16, u64),
    /// Never answers.
    Hang,
    /// Answers 200 once the test calls `release`.
    Hold,
}

#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

type Script = Arc<dyn Fn(usize) -> Answer + Send + Sync>;

/// What the server side shares with the test's handle.
struct Shared {
    script: Mutex<Script>,
    received: Mutex<Vec<Received>>,
    /// (requests open now, the most open at once).
    open: Mutex<(usize, usize)>,
    released: tokio::sync::watch::Sender<bool>,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    pub port: u16,
    shared: Arc<Shared>,
}

impl Receiver {
    /// Answers request number `n` (0-based) with `script(n)`.
    pub async fn start(script: impl Fn(usize) -> Answer + Send + Sync + 'static) -> Self {
        let shared = Arc::new(Shared {
            script: Mutex::new(Arc::new(script)),
            received: Mutex::default(),
            open: Mutex::default(),
            released: tokio::sync::watch::channel(false).0,
        });
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .route("/hook/{endpoint}", axum::routing::post(receive))
            .with_state(shared.clone());
        let port = crate::serve_on_loopback(app).await.port();
        Self {
            url: format!("http://127.0.0.1:{port}/hook"),
            port,
            shared,
        }
    }

    /// Another endpoint of the same receiver (a server keeps one gate per endpoint URL).
    pub fn endpoint(&self, n: usize) -> String {
        format!("{}/{n}", self.url)
    }

    pub fn ok() -> impl Fn(usize) -> Answer {
        |_| Answer::Status(200)
    }

    /// Answers from now on with `script` (request numbers still count from the first).
    pub fn answer(&self, script: impl Fn(usize) -> Answer + Send + Sync + 'static) {
        *self.shared.script.lock().expect("lock") = Arc::new(script);
    }

    /// Answers the held requests, and every later `Hold`, with 200.
    pub fn release(&self) {
        self.shared.released.send_replace(true);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().expect("lock").clone()
    }

    /// How many requests came in (without copying them).
    pub fn count(&self) -> usize {
        self.shared.received.lock().expect("lock").len()
    }

    /// The most requests it held open at once.
    pub fn most_open(&self) -> usize {
        self.shared.open.lock().expect("lock").1
    }

    /// Waits until at least `n` requests came in.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        crate::eventually(
            Duration::from_secs(20),
            &format!("{n} webhook requests"),
            || async {
                let got = self.received();
                (got.len() >= n).then_some(got)
            },
        )
        .await
    }
}

/// Counts a request as open until it is answered or the client gives up on it.
struct Open(Arc<Shared>);

impl Open {
    fn new(shared: Arc<Shared>) -> Self {
        {
            let mut open = shared.open.lock().expect("lock");
            open.0 += 1;
            open.1 = open.1.max(open.0);
        }
        Self(shared)
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.open.lock().expect("lock").0 -= 1;
    }
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let _open = Open::new(shared.clone());
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let n = {
        let mut all = shared.received.lock().expect("lock");
        all.push(Received {
            id: header("webhook-id"),
            timestamp: header("webhook-timestamp"),
            signature: header("webhook-signature"),
            body: body.to_vec(),
            at: Instant::now(),
        });
        all.len() - 1
    };
    let status = |code| StatusCode::from_u16(code).expect("status");
    let script = shared.script.lock().expect("lock").clone();
    match script(n) {
        Answer::Status(code) => status(code).into_response(),
        Answer::Throttle(code, seconds) => {
            (status(code), [("retry-after", seconds.to_string())]).into_response()
        }
        Answer::Hang => std::future::pending::<Response>().await,
        Answer::Hold => {
            let mut released = shared.released.subscribe();
            let _ = released.wait_for(|r| *r).await;
            StatusCode::OK.into_response()
        }
    }
}

/// Whether `received` carries a valid signature for `secret` (`whsec_...`): any of the
/// space-separated `v1,` signatures must equal HMAC-SHA256(key, "{id}.{timestamp}.{body}").
pub fn verify(secret: &str, received: &Received) -> bool {
    let Some(key) = secret
        .strip_prefix("whsec_")
        .and_then(|k| STANDARD.decode(k).ok())
    else {
        return false;
    };
    let mut signed = format!("{}.{}.", received.id, received.timestamp).into_bytes();
    signed.extend_from_slice(&received.body);
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).expect("key");
    mac.update(&signed);
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    received
        .signature
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .any(|s| s == expected)
}
