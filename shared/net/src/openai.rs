//! The OpenAI-compatible chat completions client: `POST {base_url}/chat/completions`, the whole
//! call bounded by the configured timeout, every failure classified for the AI log.

use crate::guard::UrlGuard;
use crate::http::{error_chain, read_at_most, snippet};
use async_trait::async_trait;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use switchboard_core::ports::{ChatMessage, Completion, CompletionRequest, Llm, LlmError};

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
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<&'a serde_json::Value>,
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

fn classify(e: reqwest::Error) -> LlmError {
    if let Some(refused) = UrlGuard::refusal(&e) {
        return LlmError::Blocked(refused.to_string());
    }
    LlmError::Connect(error_chain(e))
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
            response_format: req.response_format.as_ref(),
        };
        let mut request = self.http.post(url).json(&body);
        if let Some(key) = &req.api_key {
            request = request.bearer_auth(key.expose_secret());
        }
        let mut response = request.send().await.map_err(classify)?;
        let status = response.status();
        let bytes = read_at_most(&mut response, MAX_BODY)
            .await
            .map_err(classify)?
            .ok_or_else(|| LlmError::BadBody(format!("larger than {MAX_BODY} bytes")))?;
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
