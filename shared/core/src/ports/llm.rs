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

/// One message of a conversation. With images its content goes as parts (the text, then each
/// image as a data URL), as OpenAI's vision input takes it; without, as a plain string.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
    pub images: Vec<Image>,
}

impl ChatMessage {
    pub fn text(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
            images: Vec::new(),
        }
    }
}

/// An image inlined in a message: `data:<mime>;base64,...` (provider URLs need a token the
/// model does not have).
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// Shared, not copied, by each try of a request (an image can weigh megabytes).
    pub data_url: std::sync::Arc<str>,
}

impl Serialize for ChatMessage {
    fn serialize<S: serde::Serializer>(&self, z: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = z.serialize_map(Some(2))?;
        map.serialize_entry("role", &self.role)?;
        if self.images.is_empty() {
            map.serialize_entry("content", &self.content)?;
        } else {
            let mut parts = vec![serde_json::json!({"type": "text", "text": self.content})];
            parts.extend(self.images.iter().map(|i| {
                serde_json::json!({"type": "image_url",
                    "image_url": {"url": &*i.data_url, "detail": "low"}})
            }));
            map.serialize_entry("content", &parts)?;
        }
        map.end()
    }
}

/// `POST {base_url}/audio/transcriptions`: one file, as multipart.
#[derive(Debug, Clone)]
pub struct TranscriptionRequest {
    pub base_url: HttpUrl,
    pub api_key: Option<SecretString>,
    pub model: String,
    /// With the extension the endpoint reads the format from (`voice.ogg`).
    pub file_name: String,
    pub mime_type: String,
    /// Shared, not copied, by each try.
    pub bytes: bytes::Bytes,
    pub timeout: Duration,
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
    /// The text of an audio file; one try (the caller decides on retries).
    async fn transcribe(&self, request: TranscriptionRequest) -> Result<String, LlmError>;
}
