//! A fake OpenAI-compatible server on loopback: answers `POST /v1/chat/completions` the way a
//! test asks (a reply, an error status, a bad body, no answer at all) and records every request;
//! and `POST /v1/audio/transcriptions` (multipart, as OpenAI's speech-to-text takes it),
//! recording each upload.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub enum Behaviour {
    /// Answers "reply to: <last user message>".
    Echoing,
    Fixed(String),
    Status(u16, String),
    BadBody,
    /// Never answers.
    Hang,
    /// Answers OpenAI's 429 rate-limit error with `Retry-After: <seconds>` this many more
    /// times, then echoes.
    Throttled {
        times: usize,
        retry_after: u64,
    },
    /// Answers with this text, but refuses `response_format` of these types with OpenAI's 400
    /// (as models without structured outputs do).
    Refusing(Vec<&'static str>, String),
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub body: Value,
    pub authorization: Option<String>,
}

/// How the transcription endpoint answers.
#[derive(Debug, Clone)]
pub enum Hearing {
    /// `{"text": "heard <n> bytes of <file name>"}`.
    Heard,
    /// This status with OpenAI's error body, `times` times, then `Heard`.
    Failing {
        status: u16,
        message: String,
        times: usize,
    },
}

/// One upload to the transcription endpoint.
#[derive(Debug, Clone)]
pub struct Upload {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
    pub model: String,
    pub response_format: String,
    pub authorization: Option<String>,
}

#[derive(Clone)]
pub struct FakeLlm {
    pub base_url: String,
    behaviour: Arc<Mutex<Behaviour>>,
    requests: Arc<Mutex<Vec<Recorded>>>,
    hearing: Arc<Mutex<Hearing>>,
    uploads: Arc<Mutex<Vec<Upload>>>,
}

impl FakeLlm {
    pub async fn start() -> Self {
        let behaviour = Arc::new(Mutex::new(Behaviour::Echoing));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let hearing = Arc::new(Mutex::new(Hearing::Heard));
        let uploads = Arc::new(Mutex::new(Vec::new()));
        let app = axum::Router::new()
            .route("/v1/chat/completions", post(complete))
            .with_state((behaviour.clone(), requests.clone()))
            .merge(
                axum::Router::new()
                    .route("/v1/audio/transcriptions", post(transcribe))
                    .with_state((hearing.clone(), uploads.clone())),
            )
            .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024));
        let addr = crate::serve_on_loopback(app).await;
        Self {
            base_url: format!("http://{addr}/v1"),
            behaviour,
            requests,
            hearing,
            uploads,
        }
    }

    pub fn hear(&self, h: Hearing) {
        *self.hearing.lock().expect("lock") = h;
    }

    pub fn uploads(&self) -> Vec<Upload> {
        self.uploads.lock().expect("lock").clone()
    }

    pub fn set(&self, b: Behaviour) {
        *self.behaviour.lock().expect("lock") = b;
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("lock").clone()
    }
}

type Shared = (Arc<Mutex<Behaviour>>, Arc<Mutex<Vec<Recorded>>>);

async fn complete(
    State((behaviour, requests)): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let last_user = body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| {
            // A plain string, or parts (text and images) whose text part is read.
            m["content"].as_str().or_else(|| {
                m["content"]
                    .as_array()?
                    .iter()
                    .find(|p| p["type"] == "text")?["text"]
                    .as_str()
            })
        })
        .unwrap_or_default()
        .to_string();
    let format = body["response_format"]["type"].as_str().map(str::to_string);
    requests.lock().expect("lock").push(Recorded {
        body,
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    });
    let b = {
        let mut current = behaviour.lock().expect("lock");
        let now = current.clone();
        if let Behaviour::Throttled { times, retry_after } = now {
            *current = if times > 1 {
                Behaviour::Throttled {
                    times: times - 1,
                    retry_after,
                }
            } else {
                Behaviour::Echoing
            };
        }
        now
    };
    let text = match b {
        Behaviour::Throttled { retry_after, .. } => {
            // OpenAI's body for a rate limit (error codes reference).
            let error = json!({"error": {
                "message": "Rate limit reached for requests", "type": "requests",
                "param": null, "code": "rate_limit_exceeded"}});
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", retry_after.to_string())],
                Json(error),
            )
                .into_response();
        }
        Behaviour::Refusing(types, text) => {
            if let Some(t) = format.filter(|t| types.contains(&t.as_str())) {
                let error = json!({"error": {
                    "message": format!("Invalid parameter: 'response_format' of type '{t}' is not supported with this model."),
                    "type": "invalid_request_error", "param": "response_format", "code": null}});
                return (StatusCode::BAD_REQUEST, Json(error)).into_response();
            }
            text
        }
        Behaviour::Echoing => format!("reply to: {last_user}"),
        Behaviour::Fixed(t) => t,
        Behaviour::Status(code, body) => {
            return (
                StatusCode::from_u16(code).unwrap_or(StatusCode::IM_A_TEAPOT),
                body,
            )
                .into_response();
        }
        Behaviour::BadBody => return (StatusCode::OK, "{\"choices\": \"nope\"}").into_response(),
        Behaviour::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            String::new()
        }
    };
    Json(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "fake",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
    }))
    .into_response()
}

type Hearings = (Arc<Mutex<Hearing>>, Arc<Mutex<Vec<Upload>>>);

async fn transcribe(
    State((hearing, uploads)): State<Hearings>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let Some(parts) = header("content-type").and_then(|t| multipart(&t, &body)) else {
        let error = json!({"error": {"message": "expected multipart/form-data", "type": "invalid_request_error"}});
        return (StatusCode::BAD_REQUEST, Json(error)).into_response();
    };
    let field = |name: &str| parts.iter().find(|p| p.name == name);
    let text = |name: &str| {
        field(name)
            .map(|p| String::from_utf8_lossy(&p.bytes).to_string())
            .unwrap_or_default()
    };
    let Some(file) = field("file") else {
        let error = json!({"error": {"message": "you must provide a file", "type": "invalid_request_error"}});
        return (StatusCode::BAD_REQUEST, Json(error)).into_response();
    };
    let upload = Upload {
        file_name: file.file_name.clone().unwrap_or_default(),
        content_type: file.content_type.clone().unwrap_or_default(),
        bytes: file.bytes.clone(),
        model: text("model"),
        response_format: text("response_format"),
        authorization: header("authorization"),
    };
    uploads.lock().expect("lock").push(upload.clone());
    let now = {
        let mut h = hearing.lock().expect("lock");
        let now = h.clone();
        if let Hearing::Failing {
            status,
            message,
            times,
        } = now.clone()
        {
            *h = if times > 1 {
                Hearing::Failing {
                    status,
                    message,
                    times: times - 1,
                }
            } else {
                Hearing::Heard
            };
        }
        now
    };
    match now {
        Hearing::Heard => Json(json!({
            "text": format!("heard {} bytes of {}", upload.bytes.len(), upload.file_name)
        }))
        .into_response(),
        Hearing::Failing {
            status, message, ..
        } => {
            let error = json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}});
            (
                StatusCode::from_u16(status).unwrap_or(StatusCode::IM_A_TEAPOT),
                Json(error),
            )
                .into_response()
        }
    }
}

struct Part {
    name: String,
    file_name: Option<String>,
    content_type: Option<String>,
    bytes: Vec<u8>,
}

/// The parts of a `multipart/form-data` body (RFC 7578), enough to check what a client sent.
fn multipart(content_type: &str, body: &[u8]) -> Option<Vec<Part>> {
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))?
        .trim_matches('"');
    let delimiter = format!("--{boundary}").into_bytes();
    let mut parts = Vec::new();
    let mut rest = body;
    loop {
        let at = find(rest, &delimiter)?;
        rest = &rest[at + delimiter.len()..];
        if rest.starts_with(b"--") {
            return Some(parts);
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let head_end = find(rest, b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&rest[..head_end]).to_string();
        rest = &rest[head_end + 4..];
        let next = find(rest, &delimiter)?;
        let bytes = rest[..next.checked_sub(2)?].to_vec();
        let mut part = Part {
            name: String::new(),
            file_name: None,
            content_type: None,
            bytes,
        };
        for line in head.split("\r\n") {
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("content-disposition:") {
                for item in line.split(';').skip(1) {
                    let (k, v) = item.trim().split_once('=')?;
                    let v = v.trim_matches('"').to_string();
                    match k {
                        "name" => part.name = v,
                        "filename" => part.file_name = Some(v),
                        _ => {}
                    }
                }
            } else if let Some(v) = lower.strip_prefix("content-type:") {
                part.content_type = Some(v.trim().to_string());
            }
        }
        parts.push(part);
        rest = &rest[next..];
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
