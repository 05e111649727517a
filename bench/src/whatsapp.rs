//! WhatsApp Cloud API through the gateway: signed notifications per second through ingest (the
//! signature check included), and the time from a notification POSTed to the reply arriving at
//! the tests' fake Graph API in this process, with their zero-latency fake LLM (which answers
//! "reply to: <text>").

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use switchboard_tests::fake_graph::{ACCESS_TOKEN, FakeGraph, hub_signature};

const APP_SECRET: &str = "bench-app-secret";

/// A WhatsApp Cloud account for a number; returns its id.
pub async fn account(
    http: &reqwest::Client,
    base: &str,
    admin: &str,
    number: &str,
) -> Result<String> {
    account_with(http, base, admin, number, None).await
}

/// The same, with the business account whose templates it sends when `business` names one.
pub async fn account_with(
    http: &reqwest::Client,
    base: &str,
    admin: &str,
    number: &str,
    business: Option<&str>,
) -> Result<String> {
    let mut config = json!({"phone_number_id": number, "access_token": ACCESS_TOKEN,
        "app_secret": APP_SECRET});
    if let Some(business) = business {
        config["business_account_id"] = json!(business);
    }
    let created: Value = http
        .post(format!("{base}/v1/accounts"))
        .bearer_auth(admin)
        .json(&json!({"name": number, "provider": "whatsapp_cloud", "provider_config": config}))
        .send()
        .await?
        .json()
        .await?;
    created["id"]
        .as_str()
        .map(str::to_string)
        .with_context(|| format!("no account: {created}"))
}

/// A notification with one text from `customer`, as Meta sends it, and its signature.
fn notification(number: &str, customer: &str, wamid: &str, text: &str) -> (Vec<u8>, String) {
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "messages", "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": number},
            "contacts": [{"profile": {"name": "Customer"}, "wa_id": customer}],
            "messages": [{"from": customer, "id": wamid, "timestamp": switchboard_tests::wa_timestamp(0), "type": "text",
                "text": {"body": text}}]}}]}]})
    .to_string()
    .into_bytes();
    let signature = hub_signature(APP_SECRET, &body);
    (body, signature)
}

pub struct IngestResult {
    pub clients: usize,
    pub requests: usize,
    pub errors: usize,
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
}

/// `clients` senders POSTing signed notifications back to back for `seconds` (AI off: each is
/// stored, queued and its skip logged by the server's workers meanwhile).
pub async fn ingest(
    base: &str,
    account: &str,
    number: &str,
    clients: usize,
    seconds: u64,
) -> Result<IngestResult> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()?;
    let url = format!("{base}/v1/ingest/whatsapp/{account}");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (http, url, number) = (http.clone(), url.clone(), number.to_string());
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut errors, mut n) = (Vec::new(), 0usize, 0u64);
            let customer = format!("1650{clients:03}{c:04}");
            while Instant::now() < deadline {
                n += 1;
                let (body, signature) = notification(
                    &number,
                    &customer,
                    &format!("wamid.in-{clients}-{c}-{n}"),
                    "Is my order on its way?",
                );
                let t = Instant::now();
                let answer = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("x-hub-signature-256", signature)
                    .body(body)
                    .send()
                    .await;
                match answer {
                    Ok(r) if r.status().as_u16() == 200 => latencies.push(t.elapsed()),
                    _ => errors += 1,
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
    Ok(IngestResult {
        clients,
        requests: all.len(),
        errors,
        per_second: all.len() as f64 / elapsed.as_secs_f64(),
        p50: crate::percentile(&all, 0.5),
        p99: crate::percentile(&all, 0.99),
    })
}

/// The texts the fake Graph API was sent replies to, with when each reply arrived.
fn arrivals(graph: &FakeGraph) -> HashMap<String, Instant> {
    graph
        .sends()
        .into_iter()
        .filter_map(|r| {
            let reply = r.body["text"]["body"].as_str()?;
            Some((reply.strip_prefix("reply to: ")?.to_string(), r.at))
        })
        .collect()
}

pub struct ReplyResult {
    pub chats: usize,
    pub numbers: usize,
    pub offered: f64,
    pub replies: usize,
    pub p50: Duration,
    pub p99: Duration,
}

/// `chats` chats spread over the `accounts` (one number each), writing in turns at `rate`
/// messages a second in all for `seconds`; for each message, the time from its notification
/// being POSTed to its reply reaching the Graph API.
pub async fn replies(
    base: &str,
    accounts: &[(String, String)],
    graph: &FakeGraph,
    chats: usize,
    rate: f64,
    seconds: u64,
) -> Result<ReplyResult> {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let every = Duration::from_secs_f64(chats as f64 / rate);
    let mut tasks = Vec::new();
    for c in 0..chats {
        let (account, number) = accounts[c % accounts.len()].clone();
        let (http, base) = (http.clone(), base.to_string());
        let phase = every.mul_f64(c as f64 / chats as f64);
        tasks.push(tokio::spawn(async move {
            let customer = format!("1651{chats:03}{c:04}");
            let url = format!("{base}/v1/ingest/whatsapp/{account}");
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + phase, every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let (mut posted, mut n) = (Vec::new(), 0u64);
            while Instant::now() < deadline {
                tick.tick().await;
                n += 1;
                // The level in the text too: levels with as many chats must not share replies.
                let text = format!("order {chats}-{rate}-{c}-{n}");
                let (body, signature) = notification(
                    &number,
                    &customer,
                    &format!("wamid.r-{chats}-{rate}-{c}-{n}"),
                    &text,
                );
                let t = Instant::now();
                let r = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("x-hub-signature-256", signature)
                    .body(body)
                    .send()
                    .await?;
                ensure!(r.status().as_u16() == 200, "ingest answered {}", r.status());
                posted.push((text, t));
            }
            anyhow::Ok(posted)
        }));
    }
    let mut posted = Vec::new();
    for t in tasks {
        posted.extend(t.await??);
    }
    // Every reply arrives, or the run is not a measurement.
    let waiting = Instant::now();
    let arrivals = loop {
        let arrivals = arrivals(graph);
        let missing = posted
            .iter()
            .filter(|(text, _)| !arrivals.contains_key(text))
            .count();
        if missing == 0 {
            break arrivals;
        }
        ensure!(
            waiting.elapsed() < Duration::from_secs(60),
            "{missing} replies never reached the Graph API ({} did)",
            arrivals.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut latencies: Vec<Duration> = posted
        .iter()
        .filter_map(|(text, t)| arrivals.get(text).map(|a| a.duration_since(*t)))
        .collect();
    latencies.sort();
    Ok(ReplyResult {
        chats,
        numbers: accounts.len(),
        offered: rate,
        replies: latencies.len(),
        p50: crate::percentile(&latencies, 0.5),
        p99: crate::percentile(&latencies, 0.99),
    })
}
