//! A fake of Telegram's Bot API on loopback: `POST /bot<token>/<method>` for getMe, setWebhook,
//! sendMessage and sendChatAction, answered in the API's envelope (`{"ok": true, "result": ...}`
//! or `{"ok": false, "error_code", "description", "parameters"}`), as the test scripts it, with
//! every call recorded.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// The bot token the fake knows; any other is 401 Unauthorized.
pub const BOT_TOKEN: &str = "7000000001:AAE-test-token";
pub const BOT_ID: i64 = 7000000001;
pub const BOT_USERNAME: &str = "bike_shop_bot";

#[derive(Debug, Clone)]
pub enum BotAnswer {
    Ok,
    /// 429 with `retry_after` seconds.
    TooManyRequests(u64),
    /// 403 "Forbidden: bot was blocked by the user".
    Blocked,
}

#[derive(Debug, Clone)]
pub struct BotCall {
    pub method: String,
    pub body: Value,
}

type Script = Arc<dyn Fn(usize) -> BotAnswer + Send + Sync>;

struct Shared {
    calls: Mutex<Vec<BotCall>>,
    sends: Mutex<usize>,
    script: Mutex<Script>,
    /// Files by `file_id`: their unique id and bytes.
    files: Mutex<std::collections::HashMap<String, (String, Vec<u8>)>>,
    /// File paths downloaded.
    downloads: Mutex<Vec<String>>,
}

#[derive(Clone)]
pub struct FakeTelegram {
    /// What `TELEGRAM_API_BASE_URL` is set to.
    pub base_url: String,
    shared: Arc<Shared>,
}

impl FakeTelegram {
    pub async fn start() -> Self {
        let shared = Arc::new(Shared {
            calls: Mutex::default(),
            sends: Mutex::new(0),
            script: Mutex::new(Arc::new(|_| BotAnswer::Ok)),
            files: Mutex::default(),
            downloads: Mutex::default(),
        });
        let app = axum::Router::new()
            .route("/{bot}/{method}", post(call))
            .route("/file/{bot}/{*path}", axum::routing::get(file))
            .with_state(shared.clone());
        let addr = crate::serve_on_loopback(app).await;
        Self {
            base_url: format!("http://{addr}"),
            shared,
        }
    }

    /// Holds a file a user sent, for `getFile` and its download.
    pub fn add_file(&self, file_id: &str, file_unique_id: &str, bytes: Vec<u8>) {
        self.shared
            .files
            .lock()
            .expect("lock")
            .insert(file_id.into(), (file_unique_id.into(), bytes));
    }

    /// The file paths downloaded from `/file/bot<token>/<file_path>`.
    pub fn downloads(&self) -> Vec<String> {
        self.shared.downloads.lock().expect("lock").clone()
    }

    /// Answers sendMessage number `n` (0-based) with `script(n)`.
    pub fn answer(&self, script: impl Fn(usize) -> BotAnswer + Send + Sync + 'static) {
        *self.shared.script.lock().expect("lock") = Arc::new(script);
    }

    pub fn calls(&self, method: &str) -> Vec<BotCall> {
        self.shared
            .calls
            .lock()
            .expect("lock")
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    pub async fn wait_for(&self, method: &str, n: usize) -> Vec<BotCall> {
        crate::eventually(
            std::time::Duration::from_secs(20),
            &format!("{n} {method} calls"),
            || async {
                let calls = self.calls(method);
                (calls.len() >= n).then_some(calls)
            },
        )
        .await
    }
}

fn failure(status: u16, description: &str, parameters: Option<Value>) -> Response {
    let mut body = json!({"ok": false, "error_code": status, "description": description});
    if let Some(p) = parameters {
        body["parameters"] = p;
    }
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        Json(body),
    )
        .into_response()
}

async fn call(
    State(shared): State<Arc<Shared>>,
    Path((bot, method)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    shared.calls.lock().expect("lock").push(BotCall {
        method: method.clone(),
        body: body.clone(),
    });
    if bot != format!("bot{BOT_TOKEN}") {
        return failure(401, "Unauthorized", None);
    }
    let ok = |result: Value| Json(json!({"ok": true, "result": result})).into_response();
    match method.as_str() {
        "getMe" => ok(
            json!({"id": BOT_ID, "is_bot": true, "first_name": "Bike Shop",
            "username": BOT_USERNAME, "can_join_groups": true,
            "can_read_all_group_messages": false, "supports_inline_queries": false}),
        ),
        "setWebhook" => Json(json!({"ok": true, "result": true, "description": "Webhook was set"}))
            .into_response(),
        "sendChatAction" => ok(json!(true)),
        "getFile" => {
            let id = body["file_id"].as_str().unwrap_or_default();
            match shared.files.lock().expect("lock").get(id) {
                Some((unique, bytes)) => ok(json!({
                    "file_id": id, "file_unique_id": unique, "file_size": bytes.len(),
                    "file_path": format!("voice/file_{unique}.oga"),
                })),
                None => failure(400, "Bad Request: invalid file_id", None),
            }
        }
        "sendMessage" => {
            let n = {
                let mut sends = shared.sends.lock().expect("lock");
                *sends += 1;
                *sends - 1
            };
            let script = shared.script.lock().expect("lock").clone();
            match script(n) {
                BotAnswer::Ok => ok(json!({
                    "message_id": 1000 + n,
                    "from": {"id": BOT_ID, "is_bot": true, "first_name": "Bike Shop", "username": BOT_USERNAME},
                    "chat": {"id": body["chat_id"], "type": "private"},
                    "date": chrono::Utc::now().timestamp(),
                    "text": body["text"],
                })),
                BotAnswer::TooManyRequests(seconds) => failure(
                    429,
                    &format!("Too Many Requests: retry after {seconds}"),
                    Some(json!({"retry_after": seconds})),
                ),
                BotAnswer::Blocked => failure(403, "Forbidden: bot was blocked by the user", None),
            }
        }
        _ => failure(404, "Not Found", None),
    }
}

/// A file's bytes at `/file/bot<token>/<file_path>`, as `getFile` named it.
async fn file(
    State(shared): State<Arc<Shared>>,
    Path((bot, path)): Path<(String, String)>,
) -> Response {
    if bot != format!("bot{BOT_TOKEN}") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    shared.downloads.lock().expect("lock").push(path.clone());
    let unique = path
        .rsplit('/')
        .next()
        .and_then(|f| f.strip_prefix("file_"))
        .and_then(|f| f.split('.').next())
        .unwrap_or_default()
        .to_string();
    let files = shared.files.lock().expect("lock");
    match files.values().find(|(u, _)| *u == unique) {
        Some((_, bytes)) => bytes.clone().into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
