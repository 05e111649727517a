//! `POST /v1/ingest/{account_id}`: a normalized inbound message from a bridge or relay phone.

use crate::domain::chat::ChatJid;
use crate::domain::ids::MessageId;
use crate::domain::inbound::Inbound;
use crate::domain::media::{Media, MediaKind, MediaSource};
use crate::domain::schema::written_schema;
use crate::domain::validation::{HttpUrl, ValidationError, bounded_text, given, text_schema};
use crate::error::AppError;
use crate::http::extract::{AccountPath, JsonBody};
use crate::services::AppState;
use crate::usecases::ingest;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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
    /// A voice note, photo or file; `text` is then its caption.
    media: Option<IngestMedia>,
}

/// A medium sent with an inbound message: by `url` (fetched through the URL guard when the AI
/// needs it, never at ingest) or inline (`data_base64`, kept only until the reply job read it).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestMedia {
    kind: MediaKind,
    mime_type: String,
    // Left out, or a string: `null` is not one of the two ways a medium is given.
    #[serde(default, deserialize_with = "given")]
    url: Option<String>,
    #[serde(default, deserialize_with = "given")]
    data_base64: Option<String>,
    #[serde(default, deserialize_with = "given")]
    filename: Option<String>,
    #[serde(default, deserialize_with = "given")]
    sha256: Option<String>,
}

/// Standard base64 in whole groups of four, padded.
const BASE64_PATTERN: &str =
    r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$";
const SHA256_PATTERN: &str = r"^[0-9A-Fa-f]{64}$";
const MAX_MEDIA_TEXT: usize = 255;

/// What `IngestMedia::check` takes: exactly one of `url` and `data_base64`.
fn media_schema() -> serde_json::Value {
    let mut mime = text_schema(MAX_MEDIA_TEXT);
    mime["examples"] = serde_json::json!(["audio/ogg; codecs=opus"]);
    serde_json::json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["kind", "mime_type"],
        "properties": {
            "kind": {"type": "string", "enum": MediaKind::ALL.map(MediaKind::as_str)},
            "mime_type": mime,
            "url": HttpUrl::schema(),
            "data_base64": {"type": "string", "pattern": BASE64_PATTERN,
                "description": "The bytes, standard base64, within the 1 MiB body."},
            "filename": text_schema(MAX_MEDIA_TEXT),
            "sha256": {"type": "string", "pattern": SHA256_PATTERN,
                "description": "Hex SHA-256 of the bytes: what was read of them is cached under it."},
        },
        "oneOf": [{"required": ["url"]}, {"required": ["data_base64"]}],
    })
}

written_schema!(IngestMedia, media_schema);

impl IngestMedia {
    fn check(self) -> Result<(Media, Option<Vec<u8>>), ValidationError> {
        bounded_text("media.mime_type", &self.mime_type, 1, 255)?;
        if let Some(name) = &self.filename {
            bounded_text("media.filename", name, 1, 255)?;
        }
        if let Some(sha) = &self.sha256
            && (sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(ValidationError::new(
                "media.sha256",
                "must be 64 hex digits",
            ));
        }
        let (source, inline) = match (self.url, self.data_base64) {
            (Some(url), None) => {
                HttpUrl::parse("media.url", &url)?;
                (MediaSource::Url { url }, None)
            }
            (None, Some(data)) => {
                // Whatever the unused bits of the last symbol hold: the pattern the document
                // gives cannot say, so the decoder does not ask.
                let lenient = base64::engine::GeneralPurpose::new(
                    &base64::alphabet::STANDARD,
                    base64::engine::GeneralPurposeConfig::new()
                        .with_decode_allow_trailing_bits(true),
                );
                let bytes = lenient.decode(data.as_bytes()).map_err(|_| {
                    ValidationError::new("media.data_base64", "must be standard base64")
                })?;
                if bytes.is_empty() {
                    return Err(ValidationError::new(
                        "media.data_base64",
                        "must not be empty",
                    ));
                }
                (MediaSource::Inline, Some(bytes))
            }
            _ => {
                return Err(ValidationError::new(
                    "media",
                    "must carry exactly one of url and data_base64",
                ));
            }
        };
        let mut media = Media::received(self.kind, self.mime_type, source);
        media.filename = self.filename;
        media.sha256 = self.sha256.map(|s| s.to_ascii_lowercase());
        media.size_bytes = inline.as_ref().map(|b| b.len() as u64);
        media.voice = self.kind == MediaKind::Audio && media.mime_type.contains("opus");
        Ok((media, inline))
    }
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
        let (media, inline_media) = match self.media.map(IngestMedia::check).transpose()? {
            Some((media, inline)) => (Some(media), inline),
            None => (None, None),
        };
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
            media,
            inline_media,
        })
    }
}

super::area!([ingest_message]);

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
