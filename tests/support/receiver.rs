//! A webhook receiver on loopback: records every request and answers as the test scripts it
//! (a status per request number, or no answer at all). `verify` checks a signature the way the
//! Standard Webhooks specification defines it, written here apart from the project's signer.

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

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    /// Answers request number `n` (0-based) with `script(n)`.
    pub async fn start(script: impl Fn(usize) -> Answer + Send + Sync + 'static) -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let script: Script = Arc::new(script);
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state((script, received.clone()));
        let port = crate::serve_on_loopback(app).await.port();
        Self {
            url: format!("http://127.0.0.1:{port}/hook"),
            port,
            received,
        }
    }

    pub fn ok() -> impl Fn(usize) -> Answer {
        |_| Answer::Status(200)
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
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

async fn receive(
    State((script, received)): State<(Script, Arc<Mutex<Vec<Received>>>)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let n = {
        let mut all = received.lock().expect("lock");
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
    match script(n) {
        Answer::Status(code) => status(code).into_response(),
        Answer::Throttle(code, seconds) => {
            (status(code), [("retry-after", seconds.to_string())]).into_response()
        }
        Answer::Hang => std::future::pending::<Response>().await,
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
