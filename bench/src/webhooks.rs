//! Webhook delivery rate: receivers in this process answer at once (and one never answers, for
//! the scenario that checks a hanging endpoint does not slow the others). Events come from
//! ingested messages; each subscription wants `message.received`.

use anyhow::{Context, Result, bail};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct DeliveryResult {
    pub subscriptions: usize,
    pub hanging: bool,
    pub events: usize,
    pub deliveries: usize,
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
}

#[derive(Default)]
struct Arrivals {
    /// Event creation (server stamp) to arrival here, per delivery to a fast endpoint.
    latencies: Vec<Duration>,
    last: Option<Instant>,
}

type Shared = Arc<Mutex<Arrivals>>;

async fn fast(State(arrivals): State<Shared>, Path(_): Path<usize>, body: String) -> StatusCode {
    let now = Utc::now();
    let created: Option<DateTime<Utc>> = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v["created_at"].as_str().and_then(|t| t.parse().ok()));
    let mut a = arrivals.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(created) = created {
        a.latencies
            .push((now - created).to_std().unwrap_or_default());
    }
    a.last = Some(Instant::now());
    StatusCode::NO_CONTENT
}

async fn hang() -> StatusCode {
    std::future::pending::<()>().await;
    StatusCode::OK
}

async fn receivers() -> Result<(String, Shared)> {
    let arrivals = Shared::default();
    let app = axum::Router::new()
        .route("/fast/{n}", post(fast))
        .route("/hang", post(hang))
        .with_state(arrivals.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((format!("http://{addr}"), arrivals))
}

async fn subscribe(http: &reqwest::Client, base: &str, admin: &str, url: String) -> Result<()> {
    let res = http
        .post(format!("{base}/v1/webhooks"))
        .bearer_auth(admin)
        .json(&json!({"url": url, "events": ["message.received"]}))
        .send()
        .await?;
    if res.status().as_u16() != 201 {
        bail!("subscribing failed: {}", res.status());
    }
    Ok(())
}

/// Ingests `events` messages from 16 clients and waits for every delivery to the fast
/// endpoints; the rate is deliveries over the span from the first ingest to the last arrival.
pub async fn run(
    base: &str,
    admin: &str,
    account: &str,
    token: &str,
    subscriptions: usize,
    hanging: bool,
    events: usize,
) -> Result<DeliveryResult> {
    let http = reqwest::Client::new();
    let (receiver, arrivals) = receivers().await?;
    for n in 0..subscriptions {
        subscribe(&http, base, admin, format!("{receiver}/fast/{n}")).await?;
    }
    if hanging {
        subscribe(&http, base, admin, format!("{receiver}/hang")).await?;
    }
    let started = Instant::now();
    let clients = 16;
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (http, url, token) = (
            http.clone(),
            format!("{base}/v1/ingest/{account}"),
            token.to_string(),
        );
        tasks.push(tokio::spawn(async move {
            for n in (client..events).step_by(clients) {
                let chat = format!("1666{:07}@s.whatsapp.net", n % 64);
                let body = json!({"message_id": format!("wh-bench-{n}"), "chat_id": chat, "from": chat, "text": "hello"});
                let res = http.post(&url).bearer_auth(&token).json(&body).send().await?;
                if res.status().as_u16() != 202 {
                    bail!("ingest answered {}", res.status());
                }
            }
            Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let expected = events * subscriptions;
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let got = arrivals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .latencies
            .len();
        if got >= expected {
            break;
        }
        if Instant::now() > deadline {
            bail!("only {got} of {expected} deliveries arrived");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let a = arrivals.lock().unwrap_or_else(|p| p.into_inner());
    let span = a.last.context("no arrival")? - started;
    let mut latencies = a.latencies.clone();
    latencies.sort();
    Ok(DeliveryResult {
        subscriptions,
        hanging,
        events,
        deliveries: latencies.len(),
        per_second: latencies.len() as f64 / span.as_secs_f64(),
        p50: crate::percentile(&latencies, 0.5),
        p99: crate::percentile(&latencies, 0.99),
    })
}
