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
    /// Authenticated, but a policy refuses this (403 with its own code).
    #[error("{message}")]
    Denied { code: &'static str, message: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("expected a JSON body with Content-Type: application/json")]
    UnsupportedMediaType,
    /// A free-form WhatsApp message outside the customer's 24-hour window (422), with when it
    /// closed (`None`: the contact never wrote).
    #[error(
        "outside the 24-hour customer service window: only a template can reach this contact now"
    )]
    OutsideWindow {
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    },
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
    /// The stable code clients see (and the audit records).
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest { code, .. }
            | AppError::Denied { code, .. }
            | AppError::Conflict { code, .. }
            | AppError::Upstream { code, .. } => code,
            AppError::Invalid(e) => e.code,
            AppError::Unauthorized => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::PayloadTooLarge { .. } => "payload_too_large",
            AppError::UnsupportedMediaType => "unsupported_media_type",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::OutsideWindow { .. } => "outside_service_window",
            AppError::Internal(_) => "internal_error",
        }
    }

    pub fn denied(code: &'static str, message: impl Into<String>) -> Self {
        Self::Denied {
            code,
            message: message.into(),
        }
    }

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
