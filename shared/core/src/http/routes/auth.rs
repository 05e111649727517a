//! Admin login with `ADMIN_PASSWORD`, answered with a short-lived admin JWT.

use crate::auth::password_matches;
use crate::error::AppError;
use crate::http::ErrorBody;
use crate::http::extract::JsonBody;
use crate::services::AppState;
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How long a login's token lasts.
const LOGIN_TTL: Duration = Duration::from_secs(12 * 3600);

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    token: String,
    token_type: &'static str,
    expires_at: DateTime<Utc>,
}

super::area!([login]);

#[utoipa::path(
    post, path = "/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses(
        (status = 200, body = LoginResponse),
        (status = 401, body = ErrorBody, description = "wrong password"),
        (status = 403, body = ErrorBody, description = "login is disabled: ADMIN_PASSWORD is not set"),
        (status = 429, body = ErrorBody, description = "too many failed attempts"),
    )
)]
async fn login(
    State(s): State<AppState>,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Json<LoginResponse>, AppError> {
    let expected = s
        .settings
        .admin_password
        .as_ref()
        .ok_or(AppError::Forbidden(
            "login is disabled: ADMIN_PASSWORD is not set",
        ))?;
    if let Some(retry_after_secs) = s.login_throttle.retry_after() {
        return Err(AppError::RateLimited { retry_after_secs });
    }
    if !password_matches(&body.password, expected) {
        s.login_throttle.record_failure();
        return Err(AppError::Unauthorized);
    }
    let (token, expires_at) = s
        .admin_tokens
        .mint("admin", s.clock.now(), LOGIN_TTL)
        .map_err(AppError::Internal)?;
    Ok(Json(LoginResponse {
        token,
        token_type: "Bearer",
        expires_at,
    }))
}
