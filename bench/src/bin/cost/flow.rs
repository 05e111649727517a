//! One deployment on the emulator and the five release functions run as Lambda runs them,
//! recorded per function; a WhatsApp customer's messages taken through them one at a time,
//! each to its sent reply (and Meta's statuses, and the webhook deliveries, as the scope says),
//! with the queues idle before the next.

use crate::ledger::{Ledger, Recorder, Recorders};
use anyhow::{Context, Result, bail};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_core::auth::AdminTokens;
use switchboard_core::settings::Settings;
use switchboard_tests::aws;
use switchboard_tests::fake_graph::{ACCESS_TOKEN, FakeGraph, hub_signature};
use switchboard_tests::fake_llm::FakeLlm;
use switchboard_tests::lambda::{
    EventSource, Function, call_api, http_answer, queue_arn, relay, sample,
};
use switchboard_tests::receiver::Receiver;

pub const FUNCTIONS: [&str; 5] = ["api", "ingest", "ai-reply", "outbound", "webhook-fanout"];
const JWT_SECRET: &str = "cost-bench-secret-of-enough-length-0123456789";
const APP_SECRET: &str = "cost-bench-app-secret";
const PHONE_NUMBER_ID: &str = "106540352242922";

#[derive(Debug, Clone, Copy)]
pub struct Scope {
    pub name: &'static str,
    pub statuses: bool,
    pub subscription: bool,
}

/// How long the outside answers: the LLM, the Graph API, a subscriber.
#[derive(Debug, Clone, Copy)]
pub struct Latency {
    pub llm: Duration,
    pub graph: Duration,
    pub subscriber: Duration,
}

/// One function's share of the measured messages.
#[derive(Debug, Default, Clone)]
pub struct FunctionCost {
    pub name: &'static str,
    pub ledger: Ledger,
    pub invocations: u64,
    pub billed_ms: u64,
    pub log_bytes: u64,
    /// SQS batches its event source handed it: a receive and a delete each.
    pub batches: u64,
    /// The bootstrap's peak resident memory, MB.
    pub peak_rss_mb: f64,
    /// CPU time it used, ms.
    pub cpu_ms: u64,
}

pub struct Measured {
    pub messages: usize,
    pub http_requests: u64,
    /// `api`, `ingest`, `ai-reply`, `outbound`, `webhook-fanout`; `api` serves no step of
    /// the flow (it only set the account up and is read for the reply's id) and is not priced.
    pub functions: Vec<FunctionCost>,
}

/// A reverse proxy that answers as its upstream did, `delay` later: the outside's latency.
async fn slow(upstream: String, delay: Duration) -> String {
    type Shared = Arc<(String, reqwest::Client, Duration)>;
    async fn pass(
        State(state): State<Shared>,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> Response {
        let (upstream, client, delay) = &*state;
        let answer = relay(client, upstream, method, &uri, &headers, body).await;
        tokio::time::sleep(*delay).await;
        answer.into_response()
    }
    let app = Router::new().fallback(pass).with_state(Arc::new((
        upstream,
        reqwest::Client::new(),
        delay,
    )));
    format!("http://{}", switchboard_tests::serve_on_loopback(app).await)
}

fn admin_token() -> Result<String> {
    let env = |name: &str| (name == "ADMIN_JWT_SECRET").then(|| JWT_SECRET.to_string());
    let settings = Settings::from_env(&env, false).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(AdminTokens::new(&settings)
        .mint("cost", chrono::Utc::now(), Duration::from_secs(3600))
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .0)
}

pub struct Flow {
    recorders: Vec<Recorder>,
    functions: Vec<Function>,
    /// The queues of ai-reply, outbound and webhook-fanout, with their batch counts.
    sources: Vec<(EventSource, usize, u64)>,
    graph: FakeGraph,
    hooks: Receiver,
    scope: Scope,
    admin: String,
    account: String,
    http_requests: u64,
    /// Each function's CPU time at the last `take`, ms.
    cpu_seen: Vec<u64>,
}

impl Flow {
    pub async fn start(scope: Scope, latency: Latency, log_level: &str) -> Result<Self> {
        let d = aws::deployment(3).await;
        let recorders_on = Recorders::new(aws::endpoint());
        let graph = FakeGraph::start().await;
        let llm = FakeLlm::start().await;
        let hooks = Receiver::start(Receiver::ok()).await;
        let graph_url = slow(graph.base_url.clone(), latency.graph).await;
        let llm_url = slow(
            llm.base_url.trim_end_matches("/v1").to_string(),
            latency.llm,
        )
        .await;
        let hooks_url = slow(
            format!("http://127.0.0.1:{}", hooks.port),
            latency.subscriber,
        )
        .await;

        let mut recorders = Vec::new();
        let mut functions = Vec::new();
        // One at a time, so each init has the machine to itself, as on Lambda.
        for name in FUNCTIONS {
            let recorder = recorders_on.recorder().await;
            let mut env = d.env_through(&recorder.url);
            for (k, v) in [
                ("ADMIN_JWT_SECRET", JWT_SECRET),
                ("ALLOW_PRIVATE_NETWORK_URLS", "true"),
                ("RUST_LOG", log_level),
                ("WHATSAPP_API_BASE_URL", &graph_url),
            ] {
                env.push((k.into(), v.into()));
            }
            let f = Function::start(name, &env).await;
            f.init_time().await;
            functions.push(f);
            recorders.push(recorder);
        }
        let client = aws_sdk_sqs::Client::new(&d.sdk);
        let mut sources = Vec::new();
        for (url, function) in [
            (&d.settings.ai_reply_queue_url, 2),
            (&d.settings.outbound_queue_url, 3),
            (&d.settings.webhook_queue_url, 4),
        ] {
            let source = EventSource {
                client: client.clone(),
                queue_url: url.clone(),
                queue_arn: queue_arn(&client, url).await,
            };
            sources.push((source, function, 0));
        }
        let mut flow = Self {
            recorders,
            functions,
            sources,
            graph,
            hooks,
            scope,
            admin: admin_token()?,
            account: String::new(),
            http_requests: 0,
            cpu_seen: vec![0; FUNCTIONS.len()],
        };
        let (status, account) = flow
            .call(
                "POST",
                "/v1/accounts",
                Some(
                    json!({"name": "Bike shop", "provider": "whatsapp_cloud", "provider_config": {
                    "phone_number_id": PHONE_NUMBER_ID, "access_token": ACCESS_TOKEN,
                    "app_secret": APP_SECRET}}),
                ),
            )
            .await;
        if status != 201 {
            bail!("creating the account: {status} {account}");
        }
        flow.account = account["id"].as_str().context("account id")?.to_string();
        // The defaults otherwise: a human-like delay of a few seconds, a typing indicator.
        let ai = json!({"enabled": true, "base_url": format!("{llm_url}/v1"),
            "api_key": "sk-cost-bench", "model_name": "gpt-4o-mini"});
        let (status, body) = flow.call("PUT", "/v1/ai/global", Some(ai)).await;
        if status != 200 {
            bail!("configuring the AI: {status} {body}");
        }
        if scope.subscription {
            let hook = json!({"url": format!("{hooks_url}/hook"), "events": ["*"]});
            let (status, body) = flow.call("POST", "/v1/webhooks", Some(hook)).await;
            if status != 201 {
                bail!("subscribing: {status} {body}");
            }
        }
        Ok(flow)
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        call_api(&self.functions[0], &self.admin, method, path, body.as_ref()).await
    }

    /// A notification Meta posts to `ingest`, signed with the app secret.
    async fn notify(&mut self, notification: &Value) -> Result<()> {
        let body = notification.to_string();
        let path = format!("/v1/ingest/whatsapp/{}", self.account);
        let mut event = sample("ingest/post-whatsapp.json");
        event["rawPath"] = json!(path);
        event["requestContext"]["http"]["path"] = json!(path);
        event["pathParameters"]["proxy"] = json!(format!("whatsapp/{}", self.account));
        event["headers"]["content-length"] = json!(body.len().to_string());
        event["headers"]["x-hub-signature-256"] = json!(hub_signature(APP_SECRET, body.as_bytes()));
        event["body"] = json!(body);
        self.http_requests += 1;
        let (status, answer) = http_answer(self.functions[1].invoke(event).await);
        if status != 200 {
            bail!("ingest answered {status}: {answer}");
        }
        Ok(())
    }

    async fn idle(&self) -> Result<bool> {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        for (source, _, _) in &self.sources {
            let attributes = source
                .client
                .get_queue_attributes()
                .queue_url(&source.queue_url)
                .attribute_names(A::ApproximateNumberOfMessages)
                .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
                .attribute_names(A::ApproximateNumberOfMessagesDelayed)
                .send()
                .await?
                .attributes
                .unwrap_or_default();
            if attributes.values().any(|v| v != "0") {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Plays the event sources until the queues are idle and `done` holds.
    async fn settle(&mut self, what: &str, done: impl Fn(&Self) -> bool) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let mut handed = 0;
            for i in 0..self.sources.len() {
                let (source, function, _) = &self.sources[i];
                let n = source.pump(&self.functions[*function]).await;
                if n > 0 {
                    self.sources[i].2 += 1;
                }
                handed += n;
            }
            if handed == 0 && done(self) && self.idle().await? {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("timed out waiting for {what}");
            }
            if handed == 0 {
                // What is left is delayed (the reply's human-like delay) or in flight.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// Message `n`: a customer writes, the reply goes out, Meta reports on it (scope A).
    pub async fn message(&mut self, n: usize) -> Result<()> {
        let customer = format!("1650555{:04}", 1000 + n);
        let text = "Hi! Is the cargo bike I ordered last week ready for pick-up? I can come by \
                    tomorrow after work, around six.";
        let inbound = json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398",
            "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
                "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": customer}],
                "messages": [{"from": customer, "id": format!("wamid.cost{n}"),
                    "timestamp": switchboard_tests::wa_timestamp(0), "type": "text",
                    "text": {"body": text}}]}}]}]});
        self.notify(&inbound).await?;
        let sends = n + 1;
        self.settle("the reply", |f| f.graph.sends().len() >= sends)
            .await?;
        if self.scope.statuses {
            let chat = format!("{customer}@s.whatsapp.net");
            let path = format!("/v1/accounts/{}/chats/{chat}/messages", self.account);
            let (_, listed) = self.call("GET", &path, None).await;
            let wamid = listed["items"]
                .as_array()
                .and_then(|m| m.iter().find(|m| m["from_me"] == true))
                .and_then(|m| m["provider_message_id"].as_str())
                .context("the reply's wamid")?
                .to_string();
            for status in ["sent", "delivered", "read"] {
                let report = json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398",
                    "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
                        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
                        "statuses": [{"id": wamid, "status": status,
                            "timestamp": switchboard_tests::wa_timestamp(0), "recipient_id": customer,
                            "conversation": {"id": "CONVERSATION_ID", "origin": {"type": "service"}},
                            "pricing": {"billable": false, "pricing_model": "PMP", "category": "service",
                                "type": "free_customer_service"}}]}}]}]});
                self.notify(&report).await?;
            }
            self.settle("the statuses' events", |_| true).await?;
        }
        if self.scope.subscription && self.hooks.count() == 0 {
            bail!("no webhook was delivered");
        }
        Ok(())
    }

    /// What the functions did since the last call, and a fresh start.
    pub fn take(&mut self) -> Vec<FunctionCost> {
        let mut out: Vec<FunctionCost> = FUNCTIONS
            .iter()
            .zip(&self.functions)
            .zip(&self.recorders)
            .map(|((name, f), r)| {
                let timings = f.take_timings();
                FunctionCost {
                    name,
                    ledger: r.take(),
                    invocations: timings.len() as u64,
                    billed_ms: timings
                        .iter()
                        .map(|t| t.as_micros().div_ceil(1000) as u64)
                        .sum(),
                    log_bytes: f.take_log_bytes(),
                    batches: 0,
                    peak_rss_mb: f.peak_rss_kb().unwrap_or(0) as f64 / 1024.0,
                    cpu_ms: f.cpu_ms().unwrap_or(0),
                }
            })
            .collect();
        for (_, function, batches) in &mut self.sources {
            out[*function].batches = std::mem::take(batches);
        }
        // CPU time is counted from the start: what this stretch added.
        for (cost, seen) in out.iter_mut().zip(&mut self.cpu_seen) {
            let total = cost.cpu_ms;
            cost.cpu_ms = total.saturating_sub(*seen);
            *seen = total;
        }
        self.http_requests = 0;
        out
    }

    /// Measures `messages` warm messages after one that warms the functions' caches.
    pub async fn measure(mut self, messages: usize) -> Result<Measured> {
        self.message(0).await?;
        self.take();
        for n in 1..=messages {
            self.message(n).await?;
        }
        let http_requests = self.http_requests;
        let functions = self.take();
        for f in self.functions {
            f.stop().await;
        }
        Ok(Measured {
            messages,
            http_requests,
            functions,
        })
    }
}
