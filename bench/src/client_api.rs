//! The client messages API: accepted sends per second through `POST /api/v1/messages` (every
//! request with its own idempotency key, every key with a rate limit, so each send pays the
//! idempotency record, the rate check, the message and its audit row in one commit), and the
//! round trip of the MCP server's `send_message` tool.

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

pub struct SendResult {
    pub clients: usize,
    pub requests: usize,
    pub errors: usize,
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
}

impl SendResult {
    /// A row of the sends tables: `name`, clients, sends, errors, sends/s, p50, p99.
    pub fn row(&self, name: &str) -> String {
        format!(
            "| {name} | {} | {} | {} | {:.0} | {} | {} |\n",
            self.clients,
            self.requests,
            self.errors,
            self.per_second,
            crate::ms(self.p50),
            crate::ms(self.p99)
        )
    }
}

/// Which door the sends go through.
#[derive(Clone, Copy)]
pub enum Door {
    Rest,
    Mcp,
}

/// A client API key for any phone and channel, limited to 100,000 sends a minute (the most a
/// key may have), so the limiter runs on every send without refusing one.
pub async fn key(http: &reqwest::Client, base: &str, admin: &str, name: &str) -> Result<String> {
    let created: Value = http
        .post(format!("{base}/v1/api-keys"))
        .bearer_auth(admin)
        .json(&json!({"name": name, "phone_ids": ["*"], "channels": ["*"],
            "recipient_allowlist": null, "rate_limit_per_minute": 100_000,
            "require_confirmation": false}))
        .send()
        .await?
        .json()
        .await?;
    created["key"]
        .as_str()
        .map(str::to_string)
        .with_context(|| format!("no key: {created}"))
}

/// `n` keys, one per client.
pub async fn keys(
    http: &reqwest::Client,
    base: &str,
    admin: &str,
    n: usize,
) -> Result<Vec<String>> {
    let mut keys = Vec::with_capacity(n);
    for i in 0..n {
        keys.push(key(http, base, admin, &format!("bench-{i}")).await?);
    }
    Ok(keys)
}

/// What one send asks for: the phone, the client's index (its recipient) and the send's
/// idempotency key make the body.
pub type Body = fn(&str, usize, &str) -> Value;

/// A text by SMS.
pub fn sms_order(phone: &str, client: usize, idempotency_key: &str) -> Value {
    json!({"phone_id": phone, "channel": "sms", "to": format!("+1555{client:07}"),
        "text": "Your order shipped today.", "idempotency_key": idempotency_key})
}

/// `clients` assistants, each with its own key, sending as fast as they are answered.
pub async fn run(
    base: &str,
    keys: &[String],
    phone: &str,
    door: Door,
    body: Body,
    clients: usize,
    seconds: u64,
) -> Result<SendResult> {
    ensure!(keys.len() >= clients, "a key per client");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (c, key) in keys.iter().enumerate().take(clients) {
        let (http, key, phone, base) = (
            http.clone(),
            key.clone(),
            phone.to_string(),
            base.to_string(),
        );
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut errors, mut n) = (Vec::new(), 0usize, 0u64);
            let run = ulid_ish();
            while Instant::now() < deadline {
                n += 1;
                let idempotency_key = format!("bench-{run}-{clients}-{c}-{n}");
                let body = body(&phone, c, &idempotency_key);
                let t = Instant::now();
                let accepted = match door {
                    Door::Rest => http
                        .post(format!("{base}/api/v1/messages"))
                        .bearer_auth(&key)
                        .json(&body)
                        .send()
                        .await
                        .is_ok_and(|r| r.status().as_u16() == 202),
                    Door::Mcp => mcp_send(&http, &base, &key, body).await,
                };
                if accepted {
                    latencies.push(t.elapsed());
                } else {
                    errors += 1;
                }
            }
            (latencies, errors)
        }));
    }
    let (mut all, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (l, e) = t.await?;
        all.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed();
    all.sort();
    Ok(SendResult {
        clients,
        requests: all.len(),
        errors,
        per_second: all.len() as f64 / elapsed.as_secs_f64(),
        p50: crate::percentile(&all, 0.5),
        p99: crate::percentile(&all, 0.99),
    })
}

/// One `tools/call` of `send_message`, as an MCP client sends it to a stateless server: no
/// session, the protocol version in a header, JSON back.
async fn mcp_send(http: &reqwest::Client, base: &str, key: &str, arguments: Value) -> bool {
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "send_message", "arguments": arguments}});
    let answer = http
        .post(format!("{base}/mcp"))
        .bearer_auth(key)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18")
        .json(&call)
        .send()
        .await;
    let Ok(answer) = answer else { return false };
    let Ok(body) = answer.json::<Value>().await else {
        return false;
    };
    body["result"]["structuredContent"]["status"] == "queued"
}

/// A per-run prefix, so a rerun against the same data dir is not answered by replays.
fn ulid_ish() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}
