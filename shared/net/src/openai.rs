//! The OpenAI-compatible chat completions client: `POST {base_url}/chat/completions`, the whole
//! call bounded by the configured timeout, every failure classified for the AI log. A 429 or
//! 503 is tried again after the `Retry-After` the endpoint asks for (or a short growing pause),
//! as OpenAI's own clients do, as long as the wait fits in that timeout.

use crate::guard::UrlGuard;
use crate::http::{error_chain, read_at_most, retry_after, snippet};
use async_trait::async_trait;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};
use switchboard_core::ports::{
    ChatMessage, Completion, CompletionRequest, Llm, LlmError, TranscriptionRequest,
};

/// Answers larger than this are not chat completions.
const MAX_BODY: usize = 2 * 1024 * 1024;

/// The pauses before the tries after a 429 or 503 that names no `Retry-After`; their number
/// is how many times a call is tried again.
const PAUSES: [Duration; 3] = [
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
];

/// A failed try, with how long the endpoint asked to wait before the next.
struct Failure {
    error: LlmError,
    retry_after: Option<Duration>,
}

impl From<LlmError> for Failure {
    fn from(error: LlmError) -> Self {
        Self {
            error,
            retry_after: None,
        }
    }
}

/// Busy, not wrong: a rate limit or an overloaded server.
fn worth_another_try(error: &LlmError) -> bool {
    matches!(
        error,
        LlmError::Client { status: 429, .. } | LlmError::Server { status: 503, .. }
    )
}

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
    async fn call(&self, req: &CompletionRequest) -> Result<Completion, Failure> {
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
        let wait = retry_after(&response);
        let bytes = read_at_most(&mut response, MAX_BODY)
            .await
            .map_err(classify)?
            .ok_or_else(|| LlmError::BadBody(format!("larger than {MAX_BODY} bytes")))?;
        if status.is_client_error() || status.is_redirection() {
            return Err(Failure {
                error: LlmError::Client {
                    status: status.as_u16(),
                    detail: snippet(&bytes),
                },
                retry_after: wait,
            });
        }
        if !status.is_success() {
            return Err(Failure {
                error: LlmError::Server {
                    status: status.as_u16(),
                    detail: snippet(&bytes),
                },
                retry_after: wait,
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
        let deadline = Instant::now() + limit;
        let tries = async {
            let mut pauses = PAUSES.iter();
            loop {
                let failure = match self.call(&request).await {
                    Ok(completion) => return Ok(completion),
                    Err(failure) => failure,
                };
                let Some(pause) = pauses.next().filter(|_| worth_another_try(&failure.error))
                else {
                    return Err(failure.error);
                };
                let wait = failure.retry_after.unwrap_or(*pause);
                // A wait that outlasts the budget would only end in a timeout: say why now.
                if Instant::now() + wait >= deadline {
                    return Err(failure.error);
                }
                tracing::info!(error = %failure.error, wait_ms = wait.as_millis() as u64, "the LLM is busy: trying again");
                tokio::time::sleep(wait).await;
            }
        };
        match tokio::time::timeout(limit, tries).await {
            Ok(result) => result,
            Err(_) => Err(LlmError::Timeout(limit.as_secs())),
        }
    }

    async fn transcribe(&self, request: TranscriptionRequest) -> Result<String, LlmError> {
        let limit = request.timeout;
        match tokio::time::timeout(limit, self.transcription(request)).await {
            Ok(result) => result,
            Err(_) => Err(LlmError::Timeout(limit.as_secs())),
        }
    }
}

#[derive(Deserialize)]
struct Transcription {
    text: String,
}

impl OpenAiClient {
    /// `POST {base_url}/audio/transcriptions` as multipart: the file under a name whose
    /// extension says its format (`voice.ogg`), the model, and `response_format=json`.
    async fn transcription(&self, req: TranscriptionRequest) -> Result<String, LlmError> {
        let mut url = req.base_url.as_url().clone();
        url.set_path(&format!(
            "{}/audio/transcriptions",
            url.path().trim_end_matches('/')
        ));
        self.guard
            .check_url(&url)
            .map_err(|r| LlmError::Blocked(r.to_string()))?;
        let essence = req.mime_type.split(';').next().unwrap_or_default().trim();
        // A type the sender wrote oddly still goes, as bytes: the file name says the format.
        let plain = essence.contains('/')
            && essence
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/+-.".contains(&b));
        let essence = if plain {
            essence
        } else {
            "application/octet-stream"
        };
        let length = req.bytes.len() as u64;
        let file = reqwest::multipart::Part::stream_with_length(req.bytes, length)
            .file_name(req.file_name)
            .mime_str(essence)
            .map_err(|e| LlmError::BadBody(e.to_string()))?;
        let form = reqwest::multipart::Form::new()
            .part("file", file)
            .text("model", req.model)
            .text("response_format", "json");
        let mut request = self.http.post(url).multipart(form);
        if let Some(key) = &req.api_key {
            request = request.bearer_auth(key.expose_secret());
        }
        let mut response = request.send().await.map_err(classify)?;
        let status = response.status();
        let bytes = read_at_most(&mut response, MAX_BODY)
            .await
            .map_err(classify)?
            .ok_or_else(|| LlmError::BadBody(format!("larger than {MAX_BODY} bytes")))?;
        let detail = || transcription_error(&bytes);
        if status.is_client_error() || status.is_redirection() {
            return Err(LlmError::Client {
                status: status.as_u16(),
                detail: detail(),
            });
        }
        if !status.is_success() {
            return Err(LlmError::Server {
                status: status.as_u16(),
                detail: detail(),
            });
        }
        let parsed: Transcription =
            serde_json::from_slice(&bytes).map_err(|e| LlmError::BadBody(e.to_string()))?;
        Ok(parsed.text.trim().to_string())
    }
}

/// The endpoint's own words: OpenAI's `error.message`, else the start of the body.
fn transcription_error(bytes: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| snippet(bytes))
}
