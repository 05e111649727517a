//! `POST /v1/ingest/{account_id}`: a normalized inbound message from a bridge or relay phone.

use crate::domain::chat::ChatJid;
use crate::domain::ids::MessageId;
use crate::domain::inbound::Inbound;
use crate::domain::validation::{ValidationError, bounded_text};
use crate::error::AppError;
use crate::http::extract::{AccountPath, JsonBody};
use crate::services::AppState;
use crate::usecases::ingest;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Inbound text can be longer than what we send (captions, long messages of other channels).
const MAX_TEXT_CHARS: usize = 65_536;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestBody {
    /// The provider's id of the message; the same id twice is stored once.
    #[schema(example = "wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQzQTZBRjQ5")]
    #[schema(min_length = 1, max_length = 256)]
    message_id: String,
    #[schema(value_type = ChatJid)]
    chat_id: String,
    #[schema(
        example = "15551234567@s.whatsapp.net",
        min_length = 1,
        max_length = 256
    )]
    from: String,
    #[serde(default)]
    from_me: bool,
    /// Absent for messages without text (media, location ...).
    #[schema(max_length = 65536)]
    text: Option<String>,
    /// When the message was written (RFC 3339); defaults to when it arrived.
    timestamp: Option<DateTime<Utc>>,
    #[schema(max_length = 256)]
    push_name: Option<String>,
    mentions_me: Option<bool>,
    #[schema(min_length = 1, max_length = 256)]
    reply_to_message_id: Option<String>,
    /// Written by a bot: stored, never answered.
    from_bot: Option<bool>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct IngestAccepted {
    /// Switchboard's id of the stored message.
    id: MessageId,
    status: &'static str,
    /// True when this `message_id` was received before; nothing new was stored.
    duplicate: bool,
}

impl IngestBody {
    fn into_inbound(self) -> Result<Inbound, ValidationError> {
        bounded_text("message_id", &self.message_id, 1, 256)?;
        bounded_text("from", &self.from, 1, 256)?;
        if let Some(text) = &self.text {
            bounded_text("text", text, 0, MAX_TEXT_CHARS)?;
        }
        if let Some(name) = &self.push_name {
            bounded_text("push_name", name, 0, 256)?;
        }
        if let Some(id) = &self.reply_to_message_id {
            bounded_text("reply_to_message_id", id, 1, 256)?;
        }
        Ok(Inbound {
            message_id: self.message_id,
            chat_id: ChatJid::parse(&self.chat_id)?,
            from: self.from,
            from_me: self.from_me,
            text: self.text,
            timestamp: self.timestamp,
            push_name: self.push_name.filter(|n| !n.trim().is_empty()),
            mentions_me: self.mentions_me.unwrap_or(false),
            from_bot: self.from_bot.unwrap_or(false),
            reply_to_message_id: self.reply_to_message_id,
        })
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(ingest_message))
}

#[utoipa::path(
    post, path = "/v1/ingest/{account_id}", tag = "ingest", request_body = IngestBody,
    security(("admin" = []), ("account" = [])), params(("account_id" = String, Path)),
    responses(
        (status = 202, body = IngestAccepted),
    )
)]
async fn ingest_message(
    State(s): State<AppState>,
    AccountPath(account): AccountPath,
    JsonBody(body): JsonBody<IngestBody>,
) -> Result<(StatusCode, Json<IngestAccepted>), AppError> {
    let inbound = body.into_inbound()?;
    let ingested = ingest::ingest(&s, &account, inbound).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(IngestAccepted {
            id: ingested.message.id,
            status: "accepted",
            duplicate: ingested.duplicate,
        }),
    ))
}
