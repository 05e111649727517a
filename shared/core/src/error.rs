//! The one error type of the application. Every failure a request can meet becomes an
//! `AppError`; `http::error_body` is the single place that turns it into a status and body.

use crate::domain::validation::ValidationError;
use crate::ports::{CipherError, QueueError, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Malformed JSON or a value of the wrong type (400).
    #[error("{message}")]
    BadRequest {
        code: &'static str,
        message: String,
        field: Option<String>,
    },
    /// A well-formed request with a bad value (422).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("missing or invalid credentials")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("expected a JSON body with Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("too many requests")]
    RateLimited { retry_after_secs: u64 },
    /// A service upstream (the LLM) failed or refused; the message says how.
    #[error("{message}")]
    Upstream { code: &'static str, message: String },
    /// A backend (store, queue, cipher) failed; the cause is logged, never returned.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(message) => AppError::conflict("conflict", message),
            StoreError::Backend(cause) => AppError::Internal(format!("store: {cause}")),
        }
    }
}

impl From<QueueError> for AppError {
    fn from(e: QueueError) -> Self {
        AppError::Internal(format!("queue: {e}"))
    }
}

impl From<CipherError> for AppError {
    fn from(e: CipherError) -> Self {
        AppError::Internal(format!("cipher: {e}"))
    }
}
