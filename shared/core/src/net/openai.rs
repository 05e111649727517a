//! The OpenAI-compatible chat completions client: `POST {base_url}/chat/completions`, the whole
//! call bounded by the configured timeout, every failure classified for the AI log.

use super::guard::UrlGuard;
use crate::ports::{ChatMessage, Completion, CompletionRequest, Llm, LlmError};
use async_trait::async_trait;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

/// Answers larger than this are not chat completions.
const MAX_BODY: usize = 2 * 1024 * 1024;

pub struct OpenAiClient {
    http: reqwest::Client,
    guard: UrlGuard,
}

impl OpenAiClient {
    pub fn new(guard: UrlGuard) -> Result<Self, String> {
        let http = guard
            .client_builder()
            .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { http, guard })
    }
}

#[derive(Serialize)]
struct RequestBody<'a> {
    model: &'a str,
    messages: &'a [ChatMessage],
    temperature: f64,
    max_tokens: u32,
}

#[derive(Deserialize)]
struct ResponseBody {
    choices: Vec<Choice>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    message: ChoiceMessage,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    content: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    prompt_tokens: Option<u32>,
    completion_tokens: Option<u32>,
}

fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    let cut: String = text.chars().take(300).collect();
    if cut.len() < text.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

fn classify(e: reqwest::Error) -> LlmError {
    if let Some(refused) = UrlGuard::refusal(&e) {
        return LlmError::Blocked(refused.to_string());
    }
    LlmError::Connect(super::describe(&e))
}

impl OpenAiClient {
    async fn call(&self, req: &CompletionRequest) -> Result<Completion, LlmError> {
        let mut url = req.base_url.as_url().clone();
        url.set_path(&format!(
            "{}/chat/completions",
            url.path().trim_end_matches('/')
        ));
        self.guard
            .check_url(&url)
            .map_err(|r| LlmError::Blocked(r.to_string()))?;
        let body = RequestBody {
            model: &req.model,
            messages: &req.messages,
            temperature: req.temperature,
            max_tokens: req.max_tokens,
        };
        let mut request = self.http.post(url).json(&body);
        if let Some(key) = &req.api_key {
            request = request.bearer_auth(key.expose_secret());
        }
        let mut response = request.send().await.map_err(classify)?;
        let status = response.status();
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() > MAX_BODY {
                return Err(LlmError::BadBody(format!("larger than {MAX_BODY} bytes")));
            }
        }
        if status.is_client_error() || status.is_redirection() {
            return Err(LlmError::Client {
                status: status.as_u16(),
                detail: snippet(&bytes),
            });
        }
        if !status.is_success() {
            return Err(LlmError::Server {
                status: status.as_u16(),
                detail: snippet(&bytes),
            });
        }
        let parsed: ResponseBody =
            serde_json::from_slice(&bytes).map_err(|e| LlmError::BadBody(e.to_string()))?;
        let text = parsed
            .choices
            .into_iter()
            .next()
            .and_then(|c| c.message.content)
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| LlmError::BadBody("no choices[0].message.content".into()))?;
        Ok(Completion {
            text,
            prompt_tokens: parsed.usage.as_ref().and_then(|u| u.prompt_tokens),
            completion_tokens: parsed.usage.as_ref().and_then(|u| u.completion_tokens),
        })
    }
}

#[async_trait]
impl Llm for OpenAiClient {
    async fn complete(&self, request: CompletionRequest) -> Result<Completion, LlmError> {
        let limit = request.timeout;
        match tokio::time::timeout(limit, self.call(&request)).await {
            Ok(result) => result,
            Err(_) => Err(LlmError::Timeout(limit.as_secs())),
        }
    }
}
