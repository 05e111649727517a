//! The one place where errors become HTTP: status, `{"error": {"code", "message", "field"}}`,
//! and `Retry-After` for 429. Internal causes are logged here and never returned.

use crate::error::AppError;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A stable snake_case code, e.g. `invalid_value`.
    pub code: String,
    pub message: String,
    /// The JSON path of the offending field, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For `outside_service_window`: when the window closed (null: the contact never wrote).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Option<chrono::DateTime<chrono::Utc>>>,
}

fn body(status: StatusCode, code: &str, message: String, field: Option<String>) -> Response {
    let detail = ErrorDetail {
        code: code.to_string(),
        message,
        field,
        expires_at: None,
    };
    (status, Json(ErrorBody { error: detail })).into_response()
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let message = self.to_string();
        let code = self.code();
        let status = match &self {
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Invalid(_) | AppError::OutsideWindow { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) | AppError::Denied { .. } => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Upstream { .. } => StatusCode::BAD_GATEWAY,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        match self {
            AppError::BadRequest { field, .. } => body(status, code, message, field),
            AppError::Invalid(e) => body(status, code, e.message, Some(e.field)),
            AppError::RateLimited { retry_after_secs } => {
                let mut response = body(status, code, message, None);
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
                response
            }
            AppError::OutsideWindow { expires_at } => {
                let detail = ErrorDetail {
                    code: code.to_string(),
                    message,
                    field: None,
                    expires_at: Some(expires_at),
                };
                (status, Json(ErrorBody { error: detail })).into_response()
            }
            AppError::Internal(cause) => {
                tracing::error!(%cause, "request failed");
                body(status, code, "internal error".to_string(), None)
            }
            _ => body(status, code, message, None),
        }
    }
}
