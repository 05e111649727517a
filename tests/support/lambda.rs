//! Lambda, played offline: a Lambda Runtime API per function (the endpoints a bootstrap polls
//! for events and posts results to), the function's built binary started as Lambda starts it,
//! the SQS event source mapping (receive a batch, invoke, delete what succeeded), and a proxy in
//! front of the AWS emulator that counts the requests the functions make.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};
use tokio::sync::{Notify, oneshot};

const API: &str = "/2018-06-01/runtime";

type Outcome = Result<Value, Value>;

#[derive(Default)]
struct Runtime {
    pending: Mutex<VecDeque<(String, Value)>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    arrived: Notify,
    /// Woken by the first `next` call or an init error: the init is over.
    initialised: Notify,
    first_next: Mutex<Option<Instant>>,
    init_error: Mutex<Option<String>>,
}

/// A function's Runtime API and its running bootstrap.
pub struct Function {
    pub name: String,
    runtime: Arc<Runtime>,
    started: Instant,
    child: Child,
    /// Each invocation's time, event handed over to answer posted.
    handled: Mutex<Vec<Duration>>,
    /// Bytes the bootstrap wrote to stdout and stderr: what CloudWatch Logs would take in.
    logged: Arc<AtomicU64>,
}

/// Where the cargo-built binaries are: `SWITCHBOARD_FUNCTION_DIR` (a release build, for the
/// benchmark), else the target dir the test binary was built in.
pub fn binary(name: &str) -> PathBuf {
    let dir = match std::env::var_os("SWITCHBOARD_FUNCTION_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let exe = std::env::current_exe().expect("test exe");
            // target/<profile>/deps/system-xxxx → target/<profile>/<name>
            exe.parent()
                .and_then(|d| d.parent())
                .expect("target dir")
                .to_path_buf()
        }
    };
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built: ./scripts/test builds the function binaries before the tests",
        path.display()
    );
    path
}

impl Function {
    /// Starts `binary` with the Runtime API and the variables Lambda sets, plus `env`.
    pub async fn start(name: &str, env: &[(String, String)]) -> Function {
        let runtime = Arc::new(Runtime::default());
        let app = Router::new()
            .route(&format!("{API}/invocation/next"), get(next))
            .route(&format!("{API}/invocation/{{id}}/response"), post(respond))
            .route(&format!("{API}/invocation/{{id}}/error"), post(fail))
            .route(&format!("{API}/init/error"), post(init_error))
            .with_state(runtime.clone());
        let addr = crate::serve_on_loopback(app).await;
        let started = Instant::now();
        let mut child = Command::new(binary(name))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        let logged = Arc::new(AtomicU64::new(0));
        // stdout (the JSON log lines) is counted; stderr is counted and passed on, so a
        // panic's message still reaches the test's output.
        if let Some(out) = child.stdout.take() {
            tokio::spawn(count(out, logged.clone(), false));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(count(err, logged.clone(), true));
        }
        Function {
            name: name.to_string(),
            runtime,
            started,
            child,
            handled: Mutex::new(Vec::new()),
            logged,
        }
    }

    /// The bytes logged so far, and a fresh start.
    pub fn take_log_bytes(&self) -> u64 {
        self.logged.swap(0, Ordering::Relaxed)
    }

    /// Process start to its first `next` call: the function's init.
    pub async fn init_time(&self) -> Duration {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let initialised = self.runtime.initialised.notified();
            if let Some(at) = *self.runtime.first_next.lock().expect("lock") {
                return at - self.started;
            }
            if let Some(e) = self.runtime.init_error.lock().expect("lock").clone() {
                panic!("{} failed its init: {e}", self.name);
            }
            tokio::time::timeout_at(deadline, initialised)
                .await
                .unwrap_or_else(|_| panic!("{} never asked for an event", self.name));
        }
    }

    /// Hands the function one event and waits for its answer (`Err`: it reported an error).
    pub async fn invoke(&self, event: Value) -> Outcome {
        let id = ulid::Ulid::new().to_string();
        let (tx, rx) = oneshot::channel();
        self.runtime
            .waiting
            .lock()
            .expect("lock")
            .insert(id.clone(), tx);
        self.runtime
            .pending
            .lock()
            .expect("lock")
            .push_back((id, event));
        self.runtime.arrived.notify_one();
        let asked = Instant::now();
        let outcome = tokio::time::timeout(Duration::from_secs(60), rx)
            .await
            .unwrap_or_else(|_| panic!("{} did not answer in 60 s", self.name))
            .expect("answer");
        self.handled.lock().expect("lock").push(asked.elapsed());
        outcome
    }

    /// The invocation times so far, and a fresh start.
    pub fn take_timings(&self) -> Vec<Duration> {
        std::mem::take(&mut *self.handled.lock().expect("lock"))
    }

    /// The bootstrap's peak resident memory so far, in KB (`VmHWM`): what its memory size
    /// must hold.
    pub fn peak_rss_kb(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()?)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// CPU time the bootstrap has used so far (user and system), in ms: what a smaller memory
    /// size, which gets a smaller share of a vCPU, would stretch.
    pub fn cpu_ms(&self) -> Option<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()?)).ok()?;
        // Fields after the command's closing parenthesis; utime and stime are the 14th and
        // 15th of the whole line, in clock ticks (100 a second on Linux).
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks: u64 =
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(ticks * 10)
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Reads a pipe to its end, adding up its bytes (and copying them to stderr when `echo`).
async fn count(mut pipe: impl tokio::io::AsyncRead + Unpin, total: Arc<AtomicU64>, echo: bool) {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 8192];
    while let Ok(n) = pipe.read(&mut buf).await {
        if n == 0 {
            break;
        }
        total.fetch_add(n as u64, Ordering::Relaxed);
        if echo {
            use std::io::Write;
            let _ = std::io::stderr().write_all(&buf[..n]);
        }
    }
}

async fn next(State(rt): State<Arc<Runtime>>) -> Response {
    rt.first_next
        .lock()
        .expect("lock")
        .get_or_insert_with(Instant::now);
    rt.initialised.notify_waiters();
    loop {
        let notified = rt.arrived.notified();
        if let Some((id, event)) = rt.pending.lock().expect("lock").pop_front() {
            let deadline = chrono::Utc::now().timestamp_millis() + 300_000;
            let mut headers = HeaderMap::new();
            headers.insert("lambda-runtime-aws-request-id", id.parse().expect("id"));
            headers.insert(
                "lambda-runtime-deadline-ms",
                deadline.to_string().parse().expect("deadline"),
            );
            headers.insert(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:local"
                    .parse()
                    .expect("arn"),
            );
            headers.insert(
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000"
                    .parse()
                    .expect("trace"),
            );
            return (StatusCode::OK, headers, event.to_string()).into_response();
        }
        notified.await;
    }
}

fn settle(rt: &Runtime, id: &str, outcome: Outcome) -> StatusCode {
    match rt.waiting.lock().expect("lock").remove(id) {
        Some(tx) => {
            let _ = tx.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn respond(
    State(rt): State<Arc<Runtime>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    settle(&rt, &id, Ok(value))
}

async fn fail(State(rt): State<Arc<Runtime>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    settle(&rt, &id, Err(value))
}

async fn init_error(State(rt): State<Arc<Runtime>>, body: Bytes) -> StatusCode {
    *rt.init_error.lock().expect("lock") = Some(String::from_utf8_lossy(&body).into_owned());
    rt.initialised.notify_waiters();
    StatusCode::ACCEPTED
}

/// A sample event from `events/`, parsed.
pub fn sample(path: &str) -> Value {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(path);
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    serde_json::from_str(&text).expect("sample event is JSON")
}

/// An HTTP API (payload 2.0) event made from a sample: another method, path, token and body.
pub fn http_event(
    sample_path: &str,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> Value {
    let mut event = sample(sample_path);
    event["rawPath"] = json!(path);
    event["requestContext"]["http"]["method"] = json!(method);
    event["requestContext"]["http"]["path"] = json!(path);
    event["headers"]["authorization"] = json!(format!("Bearer {token}"));
    match body {
        Some(b) => {
            let text = b.to_string();
            event["headers"]["content-type"] = json!("application/json");
            event["headers"]["content-length"] = json!(text.len().to_string());
            event["body"] = json!(text);
        }
        None => {
            if let Some(h) = event["headers"].as_object_mut() {
                h.remove("content-length");
                h.remove("content-type");
            }
            event["body"] = Value::Null;
        }
    }
    event["isBase64Encoded"] = json!(false);
    event
}

/// The status and JSON body of an HTTP function's answer.
pub fn http_answer(outcome: Outcome) -> (u16, Value) {
    let answer = outcome.unwrap_or_else(|e| panic!("the function failed: {e}"));
    let status = answer["statusCode"].as_u64().expect("statusCode") as u16;
    let body = answer["body"].as_str().unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// The SQS event source mapping of one queue: receive up to ten, invoke, delete what the
/// function did not report as failed. What failed comes back after the visibility timeout,
/// and moto moves it to the dead-letter queue after the queue's receive count.
pub struct EventSource {
    pub client: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub queue_arn: String,
}

impl EventSource {
    /// One poll; the number of records handed to the function.
    pub async fn pump(&self, function: &Function) -> usize {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(2)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .expect("receive");
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            return 0;
        }
        let records: Vec<Value> = messages
            .iter()
            .map(|m| {
                let attributes: BTreeMap<String, String> = m
                    .attributes
                    .clone()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k.as_str().to_string(), v))
                    .collect();
                json!({
                    "messageId": m.message_id,
                    "receiptHandle": m.receipt_handle,
                    "body": m.body,
                    "attributes": attributes,
                    "messageAttributes": {},
                    "md5OfBody": m.md5_of_body,
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.queue_arn,
                    "awsRegion": "us-east-1",
                })
            })
            .collect();
        let answer = function
            .invoke(json!({ "Records": records }))
            .await
            .unwrap_or_else(|e| panic!("{} failed the whole batch: {e}", function.name));
        let failed: Vec<String> = answer["batchItemFailures"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_string))
            .collect();
        for m in &messages {
            if !failed
                .iter()
                .any(|f| Some(f.as_str()) == m.message_id.as_deref())
            {
                self.client
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(m.receipt_handle.clone().unwrap_or_default())
                    .send()
                    .await
                    .expect("delete");
            }
        }
        messages.len()
    }
}

/// Lambda's SQS pollers for several queues, each handing its records to its function.
pub struct Mappings<'a>(pub Vec<(&'a EventSource, &'a Function)>);

impl Mappings<'_> {
    /// Polls every queue and invokes its function until `done` answers, or panics after
    /// `within`. A round in which every queue was empty is followed by a pause, as Lambda's
    /// pollers pause: what is left then is a delayed message (SQS `DelaySeconds`) or one
    /// whose visibility timeout has not run out, and SQS shows those only when their time
    /// comes.
    pub async fn until<T, F, Fut>(&self, within: Duration, what: &str, mut done: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + within;
        loop {
            let mut handed = 0;
            for (source, function) in &self.0 {
                handed += source.pump(function).await;
            }
            if let Some(v) = done().await {
                return v;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            if handed == 0 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

pub async fn queue_arn(client: &aws_sdk_sqs::Client, url: &str) -> String {
    use aws_sdk_sqs::types::QueueAttributeName;
    client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("attributes")
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("arn")
}

/// Bodies waiting in a queue (a dead-letter queue, say), read without keeping them hidden.
pub async fn peek(client: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    let out = client
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .visibility_timeout(0)
        .send()
        .await
        .expect("receive");
    out.messages
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.body)
        .collect()
}

/// A proxy in front of the AWS emulator that counts requests by operation
/// (`DynamoDB_20120810.PutItem`, `AmazonSQS.SendMessage`, `TrentService.Decrypt`).
#[derive(Clone)]
pub struct CountingProxy {
    pub url: String,
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl CountingProxy {
    pub async fn start(upstream: String) -> Self {
        let counts: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
        let client = reqwest::Client::new();
        let state = (upstream, client, counts.clone());
        let app = Router::new().fallback(forward).with_state(Arc::new(state));
        let addr = crate::serve_on_loopback(app).await;
        Self {
            url: format!("http://{addr}"),
            counts,
        }
    }

    /// The counts so far, and a fresh start.
    pub fn take(&self) -> BTreeMap<String, u64> {
        std::mem::take(&mut *self.counts.lock().expect("lock"))
    }
}

type ProxyState = Arc<(String, reqwest::Client, Arc<Mutex<BTreeMap<String, u64>>>)>;

async fn forward(
    State(state): State<ProxyState>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (upstream, client, counts) = &*state;
    let operation = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("other")
        .to_string();
    *counts.lock().expect("lock").entry(operation).or_default() += 1;
    relay(client, upstream, method, &uri, &headers, body)
        .await
        .into_response()
}

/// What came back from an upstream a request was relayed to: its status, headers (less the
/// framing ones) and body; a gateway error when it could not be reached.
pub struct Relayed(pub Result<(StatusCode, HeaderMap, Bytes), String>);

impl IntoResponse for Relayed {
    fn into_response(self) -> Response {
        match self.0 {
            Ok(answer) => answer.into_response(),
            Err(e) => (StatusCode::BAD_GATEWAY, e).into_response(),
        }
    }
}

/// An admin's (or any token's) request to the `api` function: its status and JSON answer.
pub async fn call_api(
    api: &Function,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let event = http_event("api/post-account.json", method, path, token, body);
    http_answer(api.invoke(event).await)
}

/// Sends a request on to `upstream` as it came (method, path, headers, body): the proxies in
/// front of moto and of the fakes.
pub async fn relay(
    client: &reqwest::Client,
    upstream: &str,
    method: axum::http::Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Relayed {
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut request = client
        .request(method, format!("{upstream}{path}"))
        .body(body);
    for (name, value) in headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    let answer = match request.send().await {
        Ok(answer) => answer,
        Err(e) => return Relayed(Err(e.to_string())),
    };
    let status = answer.status();
    let mut out = HeaderMap::new();
    for (name, value) in answer.headers() {
        if name != "content-length" && name != "transfer-encoding" && name != "connection" {
            out.insert(name.clone(), value.clone());
        }
    }
    match answer.bytes().await {
        Ok(bytes) => Relayed(Ok((status, out, bytes))),
        Err(e) => Relayed(Err(e.to_string())),
    }
}
