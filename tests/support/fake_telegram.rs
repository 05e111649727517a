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
        });
        let app = axum::Router::new()
            .route("/{bot}/{method}", post(call))
            .with_state(shared.clone());
        let addr = crate::serve_on_loopback(app).await;
        Self {
            base_url: format!("http://{addr}"),
            shared,
        }
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
