//! `/api/v1/phones/{phone_id}/outbox`: a relay phone pulls its queued messages, each under a
//! lease, and reports what became of each (the phone's account token, or an admin).

use crate::domain::ids::MessageId;
use crate::domain::message::{Message, MessageStatus, MessageView};
use crate::domain::page::ListBody;
use crate::domain::validation::{ValidationError, bounded_text};
use crate::error::AppError;
use crate::http::ErrorBody;
use crate::http::extract::{AccountPath, JsonBody, PathText, QueryParams};
use crate::services::AppState;
use crate::usecases::outbox::{self, Report};
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

const DEFAULT_LEASE_SECONDS: u64 = 120;
const MAX_LEASE_SECONDS: u64 = 3600;
const DEFAULT_LIMIT: usize = 10;
const MAX_LIMIT: usize = 100;

fn outbox_limit_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    crate::domain::page::limit_schema_of(MAX_LIMIT)
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// 1..=100, default 10.
    #[param(schema_with = outbox_limit_schema)]
    limit: Option<String>,
    /// How long the phone has to report each message before it fails with `lease_expired`:
    /// 1..=3600, default 120.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 3600)]
    lease_seconds: Option<String>,
}

fn number(
    field: &str,
    raw: Option<&str>,
    range: (u64, u64),
    default: u64,
) -> Result<u64, AppError> {
    let Some(raw) = raw else {
        return Ok(default);
    };
    let n: u64 = raw.trim().parse().map_err(|_| AppError::BadRequest {
        code: "invalid_type",
        message: format!("{field} must be an integer"),
        field: Some(field.to_string()),
    })?;
    if !(range.0..=range.1).contains(&n) {
        return Err(ValidationError::new(
            field,
            format!("must be an integer from {} to {}", range.0, range.1),
        )
        .into());
    }
    Ok(n)
}

/// A message as the phone sends it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct OutboxItem {
    id: MessageId,
    #[schema(example = "15551234567@sms")]
    chat_id: String,
    /// `sms`, `wa`, `tg` or `pchat`, from the chat.
    channel: Option<&'static str>,
    /// The recipient in the channel's terms (`+15551234567` for SMS and WhatsApp).
    to: String,
    text: Option<String>,
    created_at: DateTime<Utc>,
    /// Report before this, or the message fails with `lease_expired`.
    lease_until: DateTime<Utc>,
}

fn item(m: &Message, lease_until: DateTime<Utc>) -> OutboxItem {
    let (channel, to) = outbox::recipient(m);
    OutboxItem {
        id: m.id.clone(),
        chat_id: m.chat_id.to_string(),
        channel,
        to,
        text: m.text.clone(),
        created_at: m.created_at,
        lease_until,
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    status: ReportedStatus,
    /// Why it failed; `not_sent` puts the message back in the outbox.
    #[schema(min_length = 1, max_length = 1000)]
    error: Option<String>,
    /// The id the phone's channel gave the message.
    #[schema(min_length = 1, max_length = 256)]
    provider_message_id: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportedStatus {
    Sent,
    Delivered,
    Failed,
}

super::area!([take_outbox], [report]);

#[utoipa::path(
    get, path = "/api/v1/phones/{phone_id}/outbox", tag = "relay", security(("admin" = []), ("account" = [])),
    params(("phone_id" = String, Path, description = "the relay phone's account id"), OutboxQuery),
    responses(
        (status = 200, body = ListBody<OutboxItem>, description = "the oldest queued messages, now `sending` under a lease; two polls never get the same message"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody, description = "no such phone, or not a relay phone"),
        (status = 422, body = ErrorBody),
    )
)]
async fn take_outbox(
    State(s): State<AppState>,
    AccountPath(account): AccountPath,
    QueryParams(q): QueryParams<OutboxQuery>,
) -> Result<Json<ListBody<OutboxItem>>, AppError> {
    let limit = number(
        "limit",
        q.limit.as_deref(),
        (1, MAX_LIMIT as u64),
        DEFAULT_LIMIT as u64,
    )?;
    let lease = number(
        "lease_seconds",
        q.lease_seconds.as_deref(),
        (1, MAX_LEASE_SECONDS),
        DEFAULT_LEASE_SECONDS,
    )?;
    let (messages, until) =
        outbox::take(&s, &account, limit as usize, Duration::from_secs(lease)).await?;
    Ok(Json(ListBody {
        items: messages.iter().map(|m| item(m, until)).collect(),
        next_cursor: None,
    }))
}

#[utoipa::path(
    post, path = "/api/v1/phones/{phone_id}/outbox/{id}", tag = "relay", request_body = ReportBody,
    security(("admin" = []), ("account" = [])),
    params(("phone_id" = String, Path), ("id" = String, Path, description = "the message id")),
    responses(
        (status = 200, body = MessageView, description = "the message as it stands; a repeated or late report changes nothing"),
        (status = 404, body = ErrorBody, description = "no such phone, or a message it never took"),
    )
)]
async fn report(
    State(s): State<AppState>,
    AccountPath(account): AccountPath,
    PathText((_, id)): PathText<(String, String)>,
    JsonBody(body): JsonBody<ReportBody>,
) -> Result<Json<MessageView>, AppError> {
    let id = MessageId::parse(&id).ok_or(AppError::NotFound("message"))?;
    if let Some(error) = &body.error {
        bounded_text("error", error, 1, 1000)?;
    }
    if let Some(p) = &body.provider_message_id {
        bounded_text("provider_message_id", p, 1, 256)?;
    }
    let status = match body.status {
        ReportedStatus::Sent => MessageStatus::Sent,
        ReportedStatus::Delivered => MessageStatus::Delivered,
        ReportedStatus::Failed => MessageStatus::Failed,
    };
    let report = Report {
        status,
        error: body.error,
        provider_message_id: body.provider_message_id,
    };
    let message = outbox::report(&s, &account, &id, report).await?;
    Ok(Json(MessageView::from(&message)))
}
