//! `/v1/ingest/whatsapp/{account_id}` and `/v1/ingest/telegram/{account_id}`: the providers'
//! own webhooks, with no bearer token: each is verified by the provider's signature (or secret
//! header) over the raw body before anything in it is read.

use crate::domain::provider::ProviderKind;
use crate::error::AppError;
use crate::http::ErrorBody;
use crate::http::extract::{MAX_PROVIDER_BODY_BYTES, PathText, RawBody};
use crate::services::AppState;
use crate::usecases::notifications::{self, Taken};
use axum::Json;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct TakenView {
    /// Messages in the notification (a message seen before included).
    messages: usize,
    /// Of those, seen before: stored once, answered once.
    duplicates: usize,
    /// Status reports applied (or kept for a second look when their message is not known yet).
    statuses: usize,
}

impl From<Taken> for TakenView {
    fn from(t: Taken) -> Self {
        Self {
            messages: t.messages,
            duplicates: t.duplicates,
            statuses: t.statuses,
        }
    }
}

super::area!(
    layer = DefaultBodyLimit::max(MAX_PROVIDER_BODY_BYTES);
    [whatsapp_handshake, whatsapp_notification],
    [telegram_update],
);

#[utoipa::path(
    get, path = "/v1/ingest/whatsapp/{account_id}", tag = "ingest",
    params(
        ("account_id" = String, Path),
        ("hub.mode" = String, Query, example = "subscribe"),
        ("hub.verify_token" = String, Query),
        ("hub.challenge" = String, Query),
    ),
    responses(
        (status = 200, body = String, content_type = "text/plain", description = "the challenge, as sent"),
        (status = 403, body = ErrorBody, description = "a wrong or missing verify token, or another hub.mode"),
    )
)]
async fn whatsapp_handshake(
    State(s): State<AppState>,
    PathText(account_id): PathText<String>,
    RawQuery(query): RawQuery,
) -> Result<impl IntoResponse, AppError> {
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(query.as_deref().unwrap_or_default())
            .map_err(|e| AppError::bad_request("invalid_query", e.to_string()))?;
    let challenge =
        notifications::verify_subscription(&s, &account_id, ProviderKind::WhatsappCloud, &query)
            .await?;
    Ok(([(header::CONTENT_TYPE, "text/plain")], challenge))
}

#[utoipa::path(
    post, path = "/v1/ingest/whatsapp/{account_id}", tag = "ingest",
    params(
        ("account_id" = String, Path),
        ("X-Hub-Signature-256" = String, Header, description = "`sha256=` and the lowercase hex HMAC-SHA256 of the raw body with the app secret"),
    ),
    request_body(content = Object, description = "a WhatsApp Cloud API notification, as Meta sends it"),
    responses(
        (status = 200, body = TakenView, description = "verified and taken in (also when nothing in it is of use: Meta retries anything else)"),
        (status = 401, body = ErrorBody, description = "a missing or wrong signature; nothing is stored"),
    )
)]
async fn whatsapp_notification(
    State(s): State<AppState>,
    PathText(account_id): PathText<String>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<TakenView>, AppError> {
    let taken = notifications::receive(
        &s,
        &account_id,
        ProviderKind::WhatsappCloud,
        &headers,
        &body,
    )
    .await?;
    Ok(Json(taken.into()))
}

#[utoipa::path(
    post, path = "/v1/ingest/telegram/{account_id}", tag = "ingest",
    params(
        ("account_id" = String, Path),
        ("X-Telegram-Bot-Api-Secret-Token" = String, Header, description = "the account's webhook_secret, as set by connect"),
    ),
    request_body(content = Object, description = "a Telegram Bot API Update"),
    responses(
        (status = 200, body = TakenView),
        (status = 401, body = ErrorBody, description = "a missing or wrong secret token; nothing is stored"),
    )
)]
async fn telegram_update(
    State(s): State<AppState>,
    PathText(account_id): PathText<String>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<TakenView>, AppError> {
    let taken =
        notifications::receive(&s, &account_id, ProviderKind::TelegramBot, &headers, &body).await?;
    Ok(Json(taken.into()))
}
