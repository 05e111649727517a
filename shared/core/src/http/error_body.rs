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
}

fn body(status: StatusCode, code: &str, message: String, field: Option<String>) -> Response {
    let detail = ErrorDetail {
        code: code.to_string(),
        message,
        field,
    };
    (status, Json(ErrorBody { error: detail })).into_response()
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let message = self.to_string();
        match self {
            AppError::BadRequest { code, field, .. } => {
                body(StatusCode::BAD_REQUEST, code, message, field)
            }
            AppError::Invalid(e) => body(
                StatusCode::UNPROCESSABLE_ENTITY,
                e.code,
                e.message,
                Some(e.field),
            ),
            AppError::Unauthorized => body(StatusCode::UNAUTHORIZED, "unauthorized", message, None),
            AppError::Forbidden(_) => body(StatusCode::FORBIDDEN, "forbidden", message, None),
            AppError::NotFound(_) => body(StatusCode::NOT_FOUND, "not_found", message, None),
            AppError::Conflict { code, .. } => body(StatusCode::CONFLICT, code, message, None),
            AppError::PayloadTooLarge { .. } => body(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                message,
                None,
            ),
            AppError::UnsupportedMediaType => body(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                message,
                None,
            ),
            AppError::RateLimited { retry_after_secs } => {
                let mut response =
                    body(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message, None);
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
                response
            }
            AppError::Upstream { code, .. } => body(StatusCode::BAD_GATEWAY, code, message, None),
            AppError::Internal(cause) => {
                tracing::error!(%cause, "request failed");
                body(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "internal error".to_string(),
                    None,
                )
            }
        }
    }
}
