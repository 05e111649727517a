//! Posting a signed event to a subscriber's URL.

use async_trait::async_trait;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct WebhookRequest {
    pub url: url::Url,
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature`.
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    pub timeout: Duration,
}

/// The receiver answered (any status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookResponse {
    pub status: u16,
    /// `Retry-After` in seconds, when given as seconds.
    pub retry_after: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendFailure {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// Refused by the URL guard: a private address the operator did not allow.
    #[error("{0}")]
    Refused(String),
    #[error("connection failed: {0}")]
    Connection(String),
}

#[async_trait]
pub trait WebhookSender: Send + Sync {
    async fn post(&self, request: WebhookRequest) -> Result<WebhookResponse, SendFailure>;
}
