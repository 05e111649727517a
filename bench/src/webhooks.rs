//! Webhook delivery rate: the tests' receivers in this process answer at once (and one never
//! answers, for the scenario that checks a hanging endpoint does not slow the others). Events come from
//! ingested messages; each subscription wants `message.received`.

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::time::{Duration, Instant};
use switchboard_tests::receiver::{Answer, Receiver};

pub struct DeliveryResult {
    pub subscriptions: usize,
    pub hanging: bool,
    pub events: usize,
    pub deliveries: usize,
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
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
    let fast = Receiver::start(|_| Answer::Status(204)).await;
    let hang = Receiver::start(|_| Answer::Hang).await;
    for n in 0..subscriptions {
        subscribe(&http, base, admin, fast.endpoint(n)).await?;
    }
    if hanging {
        subscribe(&http, base, admin, hang.url.clone()).await?;
    }
    // The receiver notes arrivals on the monotonic clock; events carry the server's wall clock.
    let (clock, wall) = (Instant::now(), Utc::now());
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
        let got = fast.count();
        if got >= expected {
            break;
        }
        if Instant::now() > deadline {
            bail!("only {got} of {expected} deliveries arrived");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let received = fast.received();
    let last = received.iter().map(|r| r.at).max().context("no arrival")?;
    let span = last - started;
    let mut latencies: Vec<Duration> = received
        .iter()
        .filter_map(|r| {
            let created: DateTime<Utc> = r.json()["created_at"].as_str()?.parse().ok()?;
            let arrived = wall + chrono::Duration::from_std(r.at - clock).ok()?;
            (arrived - created).to_std().ok()
        })
        .collect();
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
