//! A fake of Meta's Graph API for WhatsApp Cloud on loopback: answers `POST
//! /{version}/{phone_number_id}/messages` (a text, a template, or the read-and-typing call),
//! `GET /{version}/{phone_number_id}` and `GET /{version}/{waba_id}/message_templates` (paged
//! with Meta's cursors) as Meta's documentation shows them, or with Meta's documented error
//! body when the test scripts one, and records every request.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// What the fake answers a send with (typing calls are always answered `{"success": true}`).
#[derive(Debug, Clone)]
pub enum GraphAnswer {
    Accepted,
    /// Not one of Meta's documented answers: 200 with no message id (as a truncating proxy
    /// might pass on). The message may have gone out.
    AcceptedWithoutId,
    /// Meta's error body with this code, at this HTTP status.
    Error {
        code: i64,
        status: u16,
    },
}

#[derive(Debug, Clone)]
pub struct GraphRequest {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub body: Value,
    /// When it arrived.
    pub at: std::time::Instant,
}

type Script = Arc<dyn Fn(usize) -> GraphAnswer + Send + Sync>;

/// A file a customer sent, as the Graph API holds it.
#[derive(Debug, Clone)]
struct Medium {
    bytes: Vec<u8>,
    mime_type: String,
}

struct Shared {
    requests: Mutex<Vec<GraphRequest>>,
    sends: Mutex<usize>,
    script: Mutex<Script>,
    base_url: Mutex<String>,
    media: Mutex<std::collections::HashMap<String, Medium>>,
    /// Downloads still to answer 404, as an expired media URL is.
    expired_downloads: Mutex<usize>,
    /// The business account's templates, as Meta lists them.
    templates: Mutex<Vec<Value>>,
}

#[derive(Clone)]
pub struct FakeGraph {
    /// What `WHATSAPP_API_BASE_URL` is set to.
    pub base_url: String,
    shared: Arc<Shared>,
}

/// The access token the fake accepts; any other is answered with error 190.
pub const ACCESS_TOKEN: &str = "EAAG-test-token";

/// Meta's titles of the codes the tests use (error codes reference).
fn title(code: i64) -> &'static str {
    match code {
        131047 => "Re-engagement message",
        131026 => "Message Undeliverable",
        131049 => "This message was not delivered to maintain healthy ecosystem engagement.",
        131050 => {
            "Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business."
        }
        132000 => "Template Param Count Mismatch",
        132001 => "Template does not exist",
        132012 => "Template Parameter Format Mismatch",
        132015 => "Template is Paused",
        132016 => "Template is Disabled",
        130429 => "Rate limit hit",
        131056 => "(Business Account, Consumer Account) pair rate limit hit",
        190 => "Invalid OAuth access token - Cannot parse access token",
        100 => "Invalid parameter",
        _ => "Unknown error",
    }
}

/// `X-Hub-Signature-256` of a notification body, as Meta signs it with the app secret.
pub fn hub_signature(app_secret: &str, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(app_secret.as_bytes()).expect("any key");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// The error body of Meta's "Error response syntax".
pub fn error_body(code: i64) -> Value {
    json!({"error": {
        "message": format!("(#{code}) {}", title(code)),
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": match code {
            131047 => "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
            130429 => "Cloud API message throughput has been reached.",
            _ => "See the error code reference.",
        }},
        "fbtrace_id": "AazDzN4vGZbrQcV1Bq0DLtS"
    }})
}

impl FakeGraph {
    pub async fn start() -> Self {
        let shared = Arc::new(Shared {
            requests: Mutex::default(),
            sends: Mutex::new(0),
            script: Mutex::new(Arc::new(|_| GraphAnswer::Accepted)),
            base_url: Mutex::default(),
            media: Mutex::default(),
            expired_downloads: Mutex::new(0),
            templates: Mutex::default(),
        });
        let app = axum::Router::new()
            .route("/{version}/{number}/messages", post(messages))
            .route("/{version}/{waba}/message_templates", get(templates))
            .route("/{version}/{number}", get(number))
            .route("/whatsapp_business/attachments/", get(download))
            .with_state(shared.clone());
        let addr = crate::serve_on_loopback(app).await;
        let base_url = format!("http://{addr}");
        *shared.base_url.lock().expect("lock") = base_url.clone();
        Self { base_url, shared }
    }

    /// Holds a medium under `media_id`, as Meta does for one a customer sent.
    pub fn add_media(&self, media_id: &str, bytes: Vec<u8>, mime_type: &str) {
        let medium = Medium {
            bytes,
            mime_type: mime_type.into(),
        };
        self.shared
            .media
            .lock()
            .expect("lock")
            .insert(media_id.into(), medium);
    }

    /// Adds a template to the business account, in Meta's shape (`name`, `language`, `status`,
    /// `category`, `parameter_format`, `components`).
    pub fn add_template(&self, template: Value) {
        self.shared.templates.lock().expect("lock").push(template);
    }

    /// The template list pages asked for.
    pub fn template_lists(&self) -> Vec<GraphRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.contains("/message_templates"))
            .collect()
    }

    /// The templates sent.
    pub fn template_sends(&self) -> Vec<GraphRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.body["type"] == "template")
            .collect()
    }

    /// The next `n` downloads answer 404, as a media URL past its five minutes does.
    pub fn expire_next_downloads(&self, n: usize) {
        *self.shared.expired_downloads.lock().expect("lock") = n;
    }

    /// The media URL lookups (`GET /{version}/{media_id}`) and downloads made.
    pub fn media_requests(&self) -> Vec<GraphRequest> {
        let media = self.shared.media.lock().expect("lock").clone();
        self.requests()
            .into_iter()
            .filter(|r| {
                r.path.starts_with("/whatsapp_business/")
                    || media.keys().any(|id| r.path.ends_with(&format!("/{id}")))
            })
            .collect()
    }

    /// Answers send number `n` (0-based; typing calls do not count) with `script(n)`.
    pub fn answer(&self, script: impl Fn(usize) -> GraphAnswer + Send + Sync + 'static) {
        *self.shared.script.lock().expect("lock") = Arc::new(script);
    }

    pub fn requests(&self) -> Vec<GraphRequest> {
        self.shared.requests.lock().expect("lock").clone()
    }

    /// The texts sent (not the typing calls).
    pub fn sends(&self) -> Vec<GraphRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.body["type"] == "text")
            .collect()
    }

    pub fn typing_calls(&self) -> Vec<GraphRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.body.get("typing_indicator").is_some())
            .collect()
    }

    /// Waits until `n` texts were sent.
    pub async fn wait_for_sends(&self, n: usize) -> Vec<GraphRequest> {
        crate::eventually(
            std::time::Duration::from_secs(20),
            &format!("{n} sends to the Graph API"),
            || async {
                let sends = self.sends();
                (sends.len() >= n).then_some(sends)
            },
        )
        .await
    }
}

fn record(shared: &Shared, method: &str, path: String, headers: &HeaderMap, body: Value) -> bool {
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let authorized = authorization.as_deref() == Some(&format!("Bearer {ACCESS_TOKEN}"));
    shared.requests.lock().expect("lock").push(GraphRequest {
        method: method.into(),
        path,
        authorization,
        body,
        at: std::time::Instant::now(),
    });
    authorized
}

fn error(code: i64, status: u16) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        Json(error_body(code)),
    )
        .into_response()
}

async fn messages(
    State(shared): State<Arc<Shared>>,
    Path((version, number)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let path = format!("/{version}/{number}/messages");
    if !record(&shared, "POST", path, &headers, body.clone()) {
        return error(190, 401);
    }
    if body.get("typing_indicator").is_some() {
        return Json(json!({"success": true})).into_response();
    }
    let n = {
        let mut sends = shared.sends.lock().expect("lock");
        *sends += 1;
        *sends - 1
    };
    let script = shared.script.lock().expect("lock").clone();
    match script(n) {
        GraphAnswer::Accepted => {
            let to = body["to"].as_str().unwrap_or_default();
            Json(json!({
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": format!("wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA{n}")}]
            }))
            .into_response()
        }
        GraphAnswer::AcceptedWithoutId => {
            Json(json!({"messaging_product": "whatsapp"})).into_response()
        }
        GraphAnswer::Error { code, status } => error(code, status),
    }
}

async fn number(
    State(shared): State<Arc<Shared>>,
    Path((version, number)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !record(
        &shared,
        "GET",
        format!("/{version}/{number}"),
        &headers,
        Value::Null,
    ) {
        return error(190, 401);
    }
    if number.starts_with("media-") {
        return media_url(&shared, &number);
    }
    Json(json!({"verified_name": "Bike Shop", "display_phone_number": "15550783881", "id": number}))
        .into_response()
}

/// Retrieve Media URL: the URL (valid five minutes, needing the token), its type, hash and
/// size; an id Meta does not hold (media ids expire after 7 days) is error 100.
fn media_url(shared: &Shared, id: &str) -> Response {
    let Some(medium) = shared.media.lock().expect("lock").get(id).cloned() else {
        let mut body = error_body(100);
        body["error"]["message"] = json!(format!(
            "Unsupported get request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation."
        ));
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    };
    let base = shared.base_url.lock().expect("lock").clone();
    let ext = medium.mime_type.split(['/', ';']).nth(1).unwrap_or("bin");
    Json(json!({
        "messaging_product": "whatsapp",
        "url": format!("{base}/whatsapp_business/attachments/?mid={id}&ext={ext}&hash=ATuQ"),
        "mime_type": medium.mime_type,
        "sha256": hex_sha256(&medium.bytes),
        // A string, as some of Meta's answers give it.
        "file_size": medium.bytes.len().to_string(),
        "id": id,
    }))
    .into_response()
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Download Media: the bytes, only with the access token; 404 past the URL's five minutes.
async fn download(
    State(shared): State<Arc<Shared>>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let id = query.get("mid").cloned().unwrap_or_default();
    let path = format!("/whatsapp_business/attachments/?mid={id}");
    if !record(&shared, "GET", path, &headers, Value::Null) {
        return error(190, 401);
    }
    {
        let mut expired = shared.expired_downloads.lock().expect("lock");
        if *expired > 0 {
            *expired -= 1;
            return StatusCode::NOT_FOUND.into_response();
        }
    }
    match shared.media.lock().expect("lock").get(&id).cloned() {
        Some(m) => ([("content-type", m.mime_type)], m.bytes).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Get Message Templates: a page of `limit` (default 25), from the `after` cursor, with
/// `paging.cursors` and, when more follow, `paging.next`.
async fn templates(
    State(shared): State<Arc<Shared>>,
    Path((version, waba)): Path<(String, String)>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let after = query.get("after").cloned();
    let mut path = format!("/{version}/{waba}/message_templates");
    if let Some(a) = &after {
        path.push_str(&format!("?after={a}"));
    }
    if !record(&shared, "GET", path, &headers, Value::Null) {
        return error(190, 401);
    }
    let all = shared.templates.lock().expect("lock").clone();
    let limit: usize = query
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(25);
    // Meta's cursors are opaque; these are the position, base64-encoded as Meta's look.
    let start = after
        .and_then(|a| base64::Engine::decode(&base64::engine::general_purpose::STANDARD, a).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0);
    let page: Vec<Value> = all.iter().skip(start).take(limit).cloned().collect();
    let end = start + page.len();
    let cursor = |i: usize| {
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, i.to_string())
    };
    let mut paging = json!({"cursors": {"before": cursor(start), "after": cursor(end)}});
    if end < all.len() {
        let base = shared.base_url.lock().expect("lock").clone();
        paging["next"] = json!(format!(
            "{base}/{version}/{waba}/message_templates?limit={limit}&after={}",
            cursor(end)
        ));
    }
    Json(json!({"data": page, "paging": paging})).into_response()
}
