//! `POST /v1/accounts/{id}/messages`: send a text or a WhatsApp template as the account,
//! through the outbound queue.

use crate::domain::chat::ChatJid;
use crate::domain::ids::MessageId;
use crate::domain::message::{MessageOrigin, MessageStatus};
use crate::domain::schema::written_schema;
use crate::domain::template::TemplateRequest;
use crate::domain::validation::{bounded_text, given, text_schema};
use crate::error::AppError;
use crate::http::ErrorBody;
use crate::http::extract::{AccountPath, JsonBody};
use crate::services::AppState;
use crate::usecases::reach::Content;
use crate::usecases::send::{self, SendRequest};
use crate::usecases::{ai_settings, client_messages};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// WhatsApp's limit on one text message.
const MAX_TEXT_CHARS: usize = 4096;
const MAX_KEY_CHARS: usize = 255;

/// Its document schema is written by `send_schema`: exactly one of `text` and `template`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendBody {
    chat_id: String,
    #[serde(default, deserialize_with = "given")]
    text: Option<String>,
    #[serde(default, deserialize_with = "given")]
    template: Option<TemplateRequest>,
    #[serde(default, deserialize_with = "given")]
    fallback_template: Option<TemplateRequest>,
    idempotency_key: Option<String>,
    #[serde(default, deserialize_with = "given")]
    pause_ai: Option<bool>,
}

written_schema!(SendBody, send_schema);

fn send_schema() -> Value {
    let template = |description: &str| {
        let mut schema = client_messages::template_schema();
        schema["description"] = json!(description);
        schema
    };
    let mut key = text_schema(MAX_KEY_CHARS);
    key["type"] = json!(["string", "null"]);
    key["description"] = json!(
        "Repeating a request with the same key answers with the first result and sends nothing new."
    );
    json!({
        "type": "object",
        "required": ["chat_id"],
        "additionalProperties": false,
        "properties": {
            "chat_id": ChatJid::schema_value(),
            "text": text_schema(MAX_TEXT_CHARS),
            "template": template("A WhatsApp Cloud account's approved template, in place of `text`."),
            "fallback_template": template("Sent instead of `text` when the contact's 24-hour window is closed."),
            "idempotency_key": key,
            "pause_ai": {
                "type": "boolean",
                "description": "A person of the account is answering: the message is theirs (`origin: account_human`) and the AI steps back in this chat for `human_takeover_minutes`, as when they write from the phone.",
            },
        },
        "oneOf": [{"required": ["text"]}, {"required": ["template"]}],
    })
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Queued {
    id: MessageId,
    status: MessageStatus,
    /// `template` when a template goes out (asked for, or the fallback of a closed window).
    #[schema(example = "text")]
    sent_as: &'static str,
    /// With `pause_ai`: the end of the chat's human takeover (absent when
    /// `human_takeover_minutes` is 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    ai_paused_until: Option<DateTime<Utc>>,
}

super::area!([send_message]);

#[utoipa::path(
    post, path = "/v1/accounts/{id}/messages", operation_id = "send_account_message", tag = "chats", request_body = SendBody,
    security(("admin" = []), ("account" = [])), params(("id" = String, Path)),
    responses(
        (status = 202, body = Queued, description = "queued for sending", headers(("Idempotent-Replayed" = String, description = "`true` when this answer is a replay, `false` otherwise"))),
        (status = 200, body = Queued, description = "a replay of an earlier request with the same idempotency_key (header Idempotent-Replayed: true)", headers(("Idempotent-Replayed" = String, description = "`true` when this answer is a replay, `false` otherwise"))),
        (status = 403, body = ErrorBody, description = "the contact opted out (`recipient_opted_out`), or stopped marketing and this is a MARKETING template (`marketing_opted_out`)"),
        (status = 409, body = ErrorBody, description = "idempotency_key reused with a different request"),
        (status = 422, body = ErrorBody, description = "`text_or_template`, `outside_service_window` (with `expires_at`), `template_not_found`, `template_params_mismatch`, `template_paused_or_disabled`, `business_account_id_required`, `templates_not_supported`"),
        (status = 502, body = ErrorBody, description = "the template list could not be read from the Graph API"),
    )
)]
async fn send_message(
    State(s): State<AppState>,
    AccountPath(account): AccountPath,
    JsonBody(body): JsonBody<SendBody>,
) -> Result<(StatusCode, [(HeaderName, HeaderValue); 1], Json<Queued>), AppError> {
    let chat_id = ChatJid::parse(&body.chat_id)?;
    if let Some(text) = &body.text {
        bounded_text("text", text, 1, MAX_TEXT_CHARS)?;
    }
    if let Some(key) = &body.idempotency_key {
        bounded_text("idempotency_key", key, 1, MAX_KEY_CHARS)?;
    }
    client_messages::check_templates(body.template.as_ref(), body.fallback_template.as_ref())?;
    let content = Content {
        text: body.text.as_deref(),
        template: body.template.as_ref(),
        fallback_template: body.fallback_template.as_ref(),
    };
    let outgoing = send::reach_or_refuse(&s, &account, &chat_id, content).await?;
    let sent_as = outgoing.sent_as();
    let human = body.pause_ai == Some(true);
    let accepted = send::queue_send(
        &s,
        &account.id,
        SendRequest {
            chat_id: chat_id.clone(),
            text: outgoing.text,
            template: outgoing.template,
            idempotency_key: body.idempotency_key,
            origin: if human {
                MessageOrigin::AccountHuman
            } else {
                MessageOrigin::Api
            },
        },
    )
    .await?;
    // After the message is stored, so a refused send pauses nothing; again on a replay, which
    // only moves the end of the pause forward.
    let ai_paused_until = match human {
        true => ai_settings::take_over(&s, &account.id, &chat_id).await?,
        false => None,
    };
    let (status, replayed) = if accepted.replayed {
        (StatusCode::OK, "true")
    } else {
        (StatusCode::ACCEPTED, "false")
    };
    Ok((
        status,
        [(
            HeaderName::from_static("idempotent-replayed"),
            HeaderValue::from_static(replayed),
        )],
        Json(Queued {
            id: accepted.message.id,
            status: accepted.message.status,
            sent_as,
            ai_paused_until,
        }),
    ))
}
