//! Voice notes through the gateway: a signed WhatsApp notification with a voice note POSTed →
//! the reply at the tests' fake Graph API, which serves the note's bytes; the tests' fake
//! OpenAI-compatible server transcribes and answers at once. One chat per note, so each reply is
//! known by its recipient; every note has its own hash, so none is a cache hit.

use anyhow::{Result, ensure};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use switchboard_tests::fake_graph::{FakeGraph, hub_signature};
use switchboard_tests::server::rss_kib;

const APP_SECRET: &str = "bench-app-secret";
/// The media id every note names: the fake Graph API serves one file for all of them (the
/// gateway tells them apart by their hashes).
const MEDIA_ID: &str = "media-bench";

pub struct MediaResult {
    pub notes: usize,
    pub megabytes: f64,
    pub offered: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub peak_rss_kib: u64,
}

fn notification(number: &str, customer: &str, wamid: &str, sha: &str) -> (Vec<u8>, String) {
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "messages", "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": number},
            "contacts": [{"profile": {"name": "Customer"}, "wa_id": customer}],
            "messages": [{"from": customer, "id": wamid, "timestamp": switchboard_tests::wa_timestamp(0), "type": "audio",
                "audio": {"mime_type": "audio/ogg; codecs=opus", "sha256": sha, "id": MEDIA_ID, "voice": true}}]}}]}]})
    .to_string()
    .into_bytes();
    let signature = hub_signature(APP_SECRET, &body);
    (body, signature)
}

/// `notes` voice notes of `bytes` each, at `rate` a second (`f64::INFINITY`: all at once),
/// each in its own chat; the time from each notification to its reply at the Graph API, and
/// the server's peak RSS meanwhile (sampled every 10 ms).
#[allow(clippy::too_many_arguments)]
pub async fn run(
    base: &str,
    account: &str,
    number: &str,
    graph: &FakeGraph,
    pid: u32,
    notes: usize,
    bytes: usize,
    rate: f64,
    // A digit: it is part of the customers' numbers.
    tag: &str,
) -> Result<MediaResult> {
    let mut file = b"OggS".to_vec();
    file.resize(bytes, 0x4f);
    graph.add_media(MEDIA_ID, file, "audio/ogg; codecs=opus");
    let http = reqwest::Client::new();
    let url = format!("{base}/v1/ingest/whatsapp/{account}");
    let sent_before = graph.sends().len();
    let peak = Arc::new(AtomicU64::new(0));
    let sampled = peak.clone();
    let sampling = tokio::spawn(async move {
        loop {
            sampled.fetch_max(rss_kib(pid).unwrap_or(0), Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    let started = Instant::now();
    let mut posted: HashMap<String, Instant> = HashMap::new();
    let mut tasks = Vec::new();
    for n in 0..notes {
        if rate.is_finite() {
            let due = started + Duration::from_secs_f64(n as f64 / rate);
            tokio::time::sleep_until(due.into()).await;
        }
        let customer = format!("1652{tag}{n:05}");
        let (body, signature) = notification(
            number,
            &customer,
            &format!("wamid.m-{tag}-{n}"),
            &format!("sha-{tag}-{n}"),
        );
        posted.insert(customer, Instant::now());
        let (http, url) = (http.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(&url)
                .header("content-type", "application/json")
                .header("x-hub-signature-256", signature)
                .body(body)
                .send()
                .await?;
            ensure!(r.status().as_u16() == 200, "ingest answered {}", r.status());
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let waiting = Instant::now();
    let arrivals = loop {
        let sends = graph.sends();
        let arrivals: HashMap<String, Instant> = sends[sent_before..]
            .iter()
            .filter_map(|r| Some((r.body["to"].as_str()?.to_string(), r.at)))
            .collect();
        let missing = posted.keys().filter(|c| !arrivals.contains_key(*c)).count();
        if missing == 0 {
            break arrivals;
        }
        ensure!(
            waiting.elapsed() < Duration::from_secs(120),
            "{missing} replies never reached the Graph API"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    sampling.abort();
    let peak_rss_kib = peak.load(Ordering::Relaxed).max(rss_kib(pid).unwrap_or(0));
    let mut latencies: Vec<Duration> = posted
        .iter()
        .map(|(c, t)| arrivals[c].duration_since(*t))
        .collect();
    latencies.sort();
    Ok(MediaResult {
        notes,
        megabytes: bytes as f64 / 1e6,
        offered: rate,
        p50: crate::percentile(&latencies, 0.5),
        p99: crate::percentile(&latencies, 0.99),
        peak_rss_kib,
    })
}
