//! The system-test harness: the whole app on port 0 with a fresh data dir, a fake LLM and a
//! webhook receiver (`spawn_app`), the real binary as a child process (`ServerProcess`), and
//! helpers that read like the API.

pub mod aws;
pub mod contract;
pub mod fake_graph;
pub mod fake_llm;
pub mod fake_smtp;
pub mod fake_telegram;
pub mod lambda;
pub mod queues;
pub mod receiver;
pub mod server;
pub mod smtp;

pub use server::ServerProcess;

use fake_graph::FakeGraph;
use fake_llm::FakeLlm;
use fake_telegram::FakeTelegram;
use receiver::Receiver;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use switchboard::local_settings::LocalSettings;
use switchboard::serve::{self, Running};
use switchboard_core::ports::QueueName;
use switchboard_core::services::AppState;
use tempfile::TempDir;
use tokio::sync::oneshot;

/// Serves `app` on a free loopback port, in the background, for the rest of the test.
pub async fn serve_on_loopback(app: axum::Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

pub const PRIVATE_CHAT: &str = "15551234567@s.whatsapp.net";

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub admin: String,
    pub sandbox_id: String,
    pub sandbox_token: String,
    pub state: AppState,
    pub running: Option<Running>,
    pub data_dir: PathBuf,
    /// A fake OpenAI-compatible LLM on loopback (point a level's `base_url` at `llm.base_url`).
    pub llm: FakeLlm,
    /// A webhook receiver on loopback, answering 200 until told otherwise.
    pub hooks: Receiver,
    /// Meta's Graph API and Telegram's Bot API, faked on loopback; the app's provider settings
    /// point at them.
    pub graph: FakeGraph,
    pub telegram: FakeTelegram,
    /// The queues this app's workers consume.
    workers: Vec<QueueName>,
    stop: Option<oneshot::Sender<()>>,
    _dir: Option<TempDir>,
}

/// Jobs due later than this are not part of the work `until_idle` waits for (a retry an hour
/// away, a debounce of minutes).
const IDLE_HORIZON: Duration = Duration::from_secs(30);

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// The app with extra settings, e.g. `ADMIN_PASSWORD`.
pub async fn spawn_app_with(settings: &[(&str, &str)]) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut app = start_in(dir.path(), settings).await;
    app._dir = Some(dir);
    app
}

/// The app with the webhook queue left unconsumed, so tests can read the events on it.
pub async fn spawn_app_keeping_events(settings: &[(&str, &str)]) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let workers = [QueueName::AiReply, QueueName::Outbound];
    let mut app = start_with(dir.path(), settings, &workers).await;
    app._dir = Some(dir);
    // Events go on the queue only when a subscription wants them: one that wants them all,
    // never delivered to (no webhook worker runs), keeps them there to be read.
    let hook = json!({"url": "https://hooks.example.com/kept", "events": ["*"]});
    let (status, body) = app.post("/v1/webhooks", &app.admin, hook).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app
}

/// Starts the app on an existing data dir (kept by the caller).
pub async fn start_in(data_dir: &Path, settings: &[(&str, &str)]) -> TestApp {
    start_with(data_dir, settings, &QueueName::ALL).await
}

async fn start_with(data_dir: &Path, settings: &[(&str, &str)], workers: &[QueueName]) -> TestApp {
    let (graph, telegram) = (FakeGraph::start().await, FakeTelegram::start().await);
    let mut vars: HashMap<String, String> = HashMap::from([
        ("WHATSAPP_API_BASE_URL".to_string(), graph.base_url.clone()),
        (
            "TELEGRAM_API_BASE_URL".to_string(),
            telegram.base_url.clone(),
        ),
    ]);
    vars.extend(settings.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let env = move |k: &str| vars.get(k).cloned();
    let local = LocalSettings {
        addr: "127.0.0.1:0".parse().expect("addr"),
        data_dir: data_dir.to_path_buf(),
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let running = serve::start_with_workers(
        &local,
        &env,
        async {
            let _ = stopped.await;
        },
        workers,
    )
    .await
    .expect("app starts");
    let state = running.state.clone();
    let (admin, _) = state
        .admin_tokens
        .mint("tests", state.clock.now(), Duration::from_secs(3600))
        .expect("admin token");
    let (sandbox_id, sandbox_token) = running
        .sandbox
        .as_ref()
        .map(|(id, t)| {
            (
                id.to_string(),
                secrecy::ExposeSecret::expose_secret(t).to_string(),
            )
        })
        .unwrap_or_default();
    TestApp {
        base: format!("http://{}", running.addr),
        client: reqwest::Client::new(),
        admin,
        sandbox_id,
        sandbox_token,
        state,
        running: Some(running),
        data_dir: data_dir.to_path_buf(),
        llm: FakeLlm::start().await,
        hooks: Receiver::start(Receiver::ok()).await,
        graph,
        telegram,
        workers: workers.to_vec(),
        stop: Some(stop),
        _dir: None,
    }
}

impl TestApp {
    /// Waits until the app is idle: no job running and none due within a few seconds on the
    /// queues its workers consume. What has not happened by then is not going to.
    pub async fn until_idle(&self) {
        let queue = &self.running.as_ref().expect("running").queue;
        queue.until_idle(&self.workers, IDLE_HORIZON).await;
    }

    /// Turns AI replies on at the global level, answered by the fake LLM at once.
    pub async fn use_llm(&self) {
        self.put_global_ai(json!({
            "enabled": true, "base_url": self.llm.base_url, "api_key": "sk-global",
            "reply_delay_seconds": 0,
        }))
        .await;
    }

    /// Stops the server and its workers, keeping the data dir.
    pub async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(running) = self.running.take() {
            running.wait().await.expect("clean shutdown");
        }
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let text = res.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call("GET", path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call("POST", path, Some(token), Some(&body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call("PUT", path, Some(token), Some(&body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call("PATCH", path, Some(token), Some(&body)).await
    }

    /// Creates an account; returns (id, token).
    pub async fn create_account(&self, name: &str) -> (String, String) {
        let (status, body) = self
            .post(
                "/v1/accounts",
                &self.admin,
                json!({"name": name, "provider": "sandbox"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (str_at(&body, "id"), str_at(&body, "token"))
    }

    pub async fn put_global_ai(&self, body: Value) -> Value {
        let (status, body) = self.put("/v1/ai/global", &self.admin, body).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    pub async fn ingest(&self, account: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.post(&format!("/v1/ingest/{account}"), token, body)
            .await
    }

    pub async fn messages(&self, account: &str, chat: &str) -> Vec<Value> {
        let (status, body) = self
            .get(
                &format!("/v1/accounts/{account}/chats/{chat}/messages"),
                &self.admin,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["items"].as_array().cloned().unwrap_or_default()
    }
}

impl TestApp {
    /// Events waiting on the webhook queue (with `spawn_app_keeping_events`), as JSON.
    pub async fn events(&self) -> Vec<Value> {
        let queue = &self.running.as_ref().expect("running").queue;
        let bodies = queue.peek(QueueName::Webhook).await.expect("peek");
        bodies
            .iter()
            .filter_map(|b| serde_json::from_str(b).ok())
            .collect()
    }

    pub async fn events_of(&self, event_type: &str) -> Vec<Value> {
        self.events()
            .await
            .into_iter()
            .filter(|e| e["type"] == event_type)
            .collect()
    }

    /// Waits for `n` events of a type on the webhook queue (a step writes its log row, then
    /// enqueues its event), then returns them.
    pub async fn wait_for_events(&self, event_type: &str, n: usize) -> Vec<Value> {
        eventually(
            Duration::from_secs(10),
            &format!("{n} {event_type} events"),
            || async {
                let events = self.events_of(event_type).await;
                (events.len() >= n).then_some(events)
            },
        )
        .await
    }

    /// AI log rows, newest first.
    pub async fn logs(&self, query: &str) -> Vec<Value> {
        let (status, body) = self.get(&format!("/v1/ai/logs?{query}"), &self.admin).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["items"].as_array().cloned().unwrap_or_default()
    }

    /// Waits for `n` log rows of the account that are decided for good (none still
    /// `generated`, i.e. waiting for its send), then returns them, newest first.
    pub async fn wait_for_settled_logs(&self, account: &str, n: usize) -> Vec<Value> {
        eventually(
            Duration::from_secs(15),
            &format!("{n} settled AI log rows"),
            || async {
                let logs = self.logs(&format!("account_id={account}")).await;
                (logs.len() >= n && logs.iter().all(|l| l["status"] != "generated")).then_some(logs)
            },
        )
        .await
    }

    /// The AI's messages in a chat of the sandbox account, newest first.
    pub async fn replies(&self, chat: &str) -> Vec<Value> {
        self.replies_of(&self.sandbox_id, chat).await
    }

    /// The AI's messages in a chat of an account, newest first.
    pub async fn replies_of(&self, account: &str, chat: &str) -> Vec<Value> {
        self.messages(account, chat)
            .await
            .into_iter()
            .filter(|m| m["origin"] == "ai")
            .collect()
    }

    /// Waits until `n` of the AI's messages in a chat of the sandbox account are sent; returns
    /// all of them.
    pub async fn wait_sent_replies(&self, chat: &str, n: usize) -> Vec<Value> {
        self.wait_sent_replies_of(&self.sandbox_id, chat, n).await
    }

    /// Waits until `n` of the AI's messages in a chat of an account are sent; returns all of
    /// them.
    pub async fn wait_sent_replies_of(&self, account: &str, chat: &str, n: usize) -> Vec<Value> {
        eventually(
            Duration::from_secs(15),
            &format!("{n} sent replies"),
            || async {
                let r = self.replies_of(account, chat).await;
                (r.iter().filter(|m| m["status"] == "sent").count() >= n).then_some(r)
            },
        )
        .await
    }

    /// Subscribes `url` to `events` (of one account, or all); returns the created webhook.
    pub async fn subscribe(&self, url: &str, events: Value, account: Option<&str>) -> Value {
        let mut body = json!({"url": url, "events": events});
        if let Some(a) = account {
            body["account_id"] = json!(a);
        }
        let (status, created) = self.post("/v1/webhooks", &self.admin, body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created
    }

    /// A webhook as the API shows it.
    pub async fn webhook(&self, id: &str) -> Value {
        let (status, body) = self.get(&format!("/v1/webhooks/{id}"), &self.admin).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// A webhook's delivery attempts, newest first.
    pub async fn attempts(&self, webhook: &str) -> Vec<Value> {
        let (status, body) = self
            .get(&format!("/v1/webhooks/{webhook}/deliveries"), &self.admin)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["items"].as_array().cloned().unwrap_or_default()
    }

    /// Waits for `n` delivery attempts of a webhook; returns them, newest first.
    pub async fn wait_attempts(&self, webhook: &str, n: usize) -> Vec<Value> {
        eventually(
            Duration::from_secs(20),
            &format!("{n} attempts"),
            || async {
                let all = self.attempts(webhook).await;
                (all.len() >= n).then_some(all)
            },
        )
        .await
    }
}

/// A WhatsApp notification's `timestamp` (Unix seconds, as a string) `offset` seconds after a
/// minute ago: inside the customer's 24-hour window, in the order of `offset`.
pub fn wa_timestamp(offset: i64) -> String {
    (chrono::Utc::now().timestamp() - 60 + offset).to_string()
}

pub fn str_at(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no string `{key}` in {v}"))
        .to_string()
}

/// An inbound text in the API's ingest shape.
pub fn inbound(message_id: &str, chat: &str, text: &str) -> Value {
    json!({"message_id": message_id, "chat_id": chat, "from": chat, "text": text})
}

/// Polls `check` until it returns `Some`, or panics after `within`.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The `switchboard` binary of this build; the test command builds it before the tests.
pub fn switchboard_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let bin = dir.join("switchboard");
    assert!(
        bin.exists(),
        "{} is missing: build it first (`cargo build -p switchboard`), as the README's test command does",
        bin.display()
    );
    bin
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// One operation of the API document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// Upper case, as HTTP writes it.
    pub method: String,
    /// With its parameters, e.g. `/v1/accounts/{id}/chats/{chat_jid}/messages`.
    pub path: String,
    pub has_body: bool,
}

/// Every operation of the OpenAPI document: the route lists of the tests come from here, so a
/// new route is covered without an edit.
pub fn operations() -> Vec<Operation> {
    let document = switchboard_core::http::openapi();
    let mut out = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            if !["get", "put", "post", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            out.push(Operation {
                method: method.to_uppercase(),
                path: path.clone(),
                has_body: operation.get("requestBody").is_some(),
            });
        }
    }
    out
}

/// A path template with its parameters filled: `{chat_jid}` with `chat`, any other with `id`.
pub fn fill_path(template: &str, id: &str, chat: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c);
        let name = &rest[open + 1..close];
        out.push_str(if name == "chat_jid" { chat } else { id });
        rest = rest.get(close + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}
