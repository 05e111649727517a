//! Chat completion through an OpenAI-compatible endpoint.

use crate::domain::validation::HttpUrl;
use async_trait::async_trait;
use secrecy::SecretString;
use serde::Serialize;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

#[derive(Debug, Clone)]
pub struct CompletionRequest {
    pub base_url: HttpUrl,
    pub api_key: Option<SecretString>,
    pub model: String,
    pub messages: Vec<ChatMessage>,
    pub temperature: f64,
    pub max_tokens: u32,
    /// OpenAI's `response_format` (`{"type": "json_schema", ...}` or `{"type": "json_object"}`);
    /// `None`: plain text.
    pub response_format: Option<serde_json::Value>,
    /// The whole call (connect, send, wait, read) is cut at this.
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub text: String,
    pub prompt_tokens: Option<u32>,
    pub completion_tokens: Option<u32>,
}

/// Why a completion failed, in the words written to the AI log.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmError {
    #[error("timeout: no complete answer within {0} s")]
    Timeout(u64),
    #[error("the LLM refused the request: HTTP {status}: {detail}")]
    Client { status: u16, detail: String },
    #[error("the LLM failed: HTTP {status}: {detail}")]
    Server { status: u16, detail: String },
    #[error("the LLM answered with an unusable body: {0}")]
    BadBody(String),
    #[error("cannot reach the LLM: {0}")]
    Connect(String),
    #[error("refused by the URL guard: {0}")]
    Blocked(String),
}

#[async_trait]
pub trait Llm: Send + Sync {
    async fn complete(&self, request: CompletionRequest) -> Result<Completion, LlmError>;
}
