//! A fake OpenAI-compatible server on loopback: answers `POST /v1/chat/completions` the way a
//! test asks (a reply, an error status, a bad body, no answer at all) and records every request.

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

#[derive(Clone)]
pub struct FakeLlm {
    pub base_url: String,
    behaviour: Arc<Mutex<Behaviour>>,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl FakeLlm {
    pub async fn start() -> Self {
        let behaviour = Arc::new(Mutex::new(Behaviour::Echoing));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let app = axum::Router::new()
            .route("/v1/chat/completions", post(complete))
            .with_state((behaviour.clone(), requests.clone()));
        let addr = crate::serve_on_loopback(app).await;
        Self {
            base_url: format!("http://{addr}/v1"),
            behaviour,
            requests,
        }
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
        .and_then(|m| m["content"].as_str())
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
