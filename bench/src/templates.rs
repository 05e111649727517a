//! WhatsApp templates: `GET /v1/accounts/{id}/templates` at a fixed rate with the Graph API's
//! list requests counted (the cache should ask Meta once per ten minutes), and the body of a
//! client template send (run by `client_api::run`, beside text sends).

use anyhow::Result;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_tests::fake_graph::FakeGraph;

pub struct ListResult {
    pub asked: usize,
    pub answered: usize,
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub graph_calls: usize,
}

/// A WhatsApp Cloud account whose business account holds one approved template; its id.
pub async fn account(
    http: &reqwest::Client,
    base: &str,
    admin: &str,
    graph: &FakeGraph,
) -> Result<String> {
    graph.add_template(
        json!({"name": "bike_ready", "language": "en_US", "status": "APPROVED",
        "category": "UTILITY", "parameter_format": "POSITIONAL",
        "components": [{"type": "BODY", "text": "Hi {{1}}, your {{2}} is ready.",
            "example": {"body_text": [["Ann", "bike"]]}}]}),
    );
    let business = Some("102290129340398");
    crate::whatsapp::account_with(http, base, admin, "106540352242922", business).await
}

/// A template by WhatsApp.
pub fn template_order(phone: &str, client: usize, idempotency_key: &str) -> Value {
    json!({"phone_id": phone, "channel": "wa", "to": format!("+1555{client:07}"),
        "template": {"name": "bike_ready", "language": "en_US", "params": {"body": ["Ann", "bike"]}},
        "idempotency_key": idempotency_key})
}

/// Lists at `rate` a second for `seconds`, each request on its own task (an open loop, so a
/// slow answer does not slow the rate asked).
pub async fn lists(
    base: &str,
    admin: &str,
    account: &str,
    graph: &FakeGraph,
    rate: f64,
    seconds: u64,
) -> Result<ListResult> {
    let http = reqwest::Client::new();
    let url = Arc::new(format!("{base}/v1/accounts/{account}/templates"));
    let before = graph.template_lists().len();
    let started = Instant::now();
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    let mut tasks = Vec::new();
    while started.elapsed() < Duration::from_secs(seconds) {
        ticks.tick().await;
        let (http, url, admin) = (http.clone(), url.clone(), admin.to_string());
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let ok = http
                .get(url.as_str())
                .bearer_auth(admin)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            ok.then(|| t.elapsed())
        }));
    }
    let asked = tasks.len();
    let mut latencies = Vec::new();
    for t in tasks {
        if let Some(l) = t.await? {
            latencies.push(l);
        }
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Ok(ListResult {
        asked,
        answered: latencies.len(),
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: crate::percentile(&latencies, 0.5),
        p99: crate::percentile(&latencies, 0.99),
        graph_calls: graph.template_lists().len() - before,
    })
}
