//! The system-test harness: the whole app on port 0 with a fresh data dir (`spawn_app`), the
//! real binary as a child process (`ServerProcess`), and helpers that read like the API.

pub mod aws;
pub mod contract;
pub mod fake_llm;
pub mod lambda;
pub mod receiver;

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
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
    stop: Option<oneshot::Sender<()>>,
    _dir: Option<TempDir>,
}

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
    app
}

/// Starts the app on an existing data dir (kept by the caller).
pub async fn start_in(data_dir: &Path, settings: &[(&str, &str)]) -> TestApp {
    start_with(data_dir, settings, &QueueName::ALL).await
}

async fn start_with(data_dir: &Path, settings: &[(&str, &str)], workers: &[QueueName]) -> TestApp {
    let vars: HashMap<String, String> = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
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
        stop: Some(stop),
        _dir: None,
    }
}

impl TestApp {
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

    /// Waits for `n` log rows of the account, then returns them, newest first.
    pub async fn wait_for_logs(&self, account: &str, n: usize) -> Vec<Value> {
        eventually(
            Duration::from_secs(15),
            &format!("{n} AI log rows"),
            || async {
                let logs = self.logs(&format!("account_id={account}")).await;
                (logs.len() >= n && logs.iter().all(|l| l["status"] != "generated")).then_some(logs)
            },
        )
        .await
    }
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

/// The real binary, run as a user would run it.
pub struct ServerProcess {
    pub child: Child,
    pub base: String,
    pub stdout: String,
}

impl ServerProcess {
    /// Starts `switchboard serve` on a free port and waits for `/healthz`.
    pub async fn start(data_dir: &Path, extra_env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let out = data_dir.with_extension(format!("stdout-{port}"));
        let file = std::fs::File::create(&out).expect("stdout file");
        let mut cmd = Command::new(switchboard_binary());
        cmd.arg("serve")
            .env_clear()
            .env("SWITCHBOARD_ADDR", format!("127.0.0.1:{port}"))
            .env("SWITCHBOARD_DATA_DIR", data_dir)
            .env("RUST_LOG", "warn")
            .stdout(file)
            .stderr(Stdio::null());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn switchboard");
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        eventually(Duration::from_secs(20), "the server to be healthy", || {
            let url = format!("{base}/healthz");
            let client = client.clone();
            async move {
                client
                    .get(url)
                    .send()
                    .await
                    .ok()
                    .filter(|r| r.status().is_success())
            }
        })
        .await;
        let stdout = eventually(Duration::from_secs(5), "the banner", || {
            let out = out.clone();
            async move {
                std::fs::read_to_string(&out)
                    .ok()
                    .filter(|s| s.contains("admin token"))
            }
        })
        .await;
        Self {
            child,
            base,
            stdout,
        }
    }

    /// The token printed on the line after `label`.
    pub fn printed_after(&self, label: &str) -> Option<String> {
        let mut lines = self.stdout.lines();
        lines.find(|l| l.contains(label))?;
        lines.next().map(|l| l.trim().to_string())
    }

    /// Ends the process the hard way: no graceful shutdown, as a crash or power cut would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}
