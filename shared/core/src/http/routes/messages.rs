//! `POST /v1/accounts/{id}/messages`: send a text as the account, through the outbound queue.

use crate::domain::chat::ChatJid;
use crate::domain::ids::MessageId;
use crate::domain::message::MessageStatus;
use crate::domain::validation::bounded_text;
use crate::error::AppError;
use crate::http::ErrorBody;
use crate::http::extract::{AccountPath, JsonBody};
use crate::services::AppState;
use crate::usecases::send::{self, SendRequest};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// WhatsApp's limit on one text message.
const MAX_TEXT_CHARS: usize = 4096;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendBody {
    #[schema(value_type = ChatJid)]
    chat_id: String,
    #[schema(min_length = 1, max_length = 4096)]
    text: String,
    /// Repeating a request with the same key answers with the first result and sends nothing new.
    #[schema(min_length = 1, max_length = 255)]
    idempotency_key: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Queued {
    id: MessageId,
    status: MessageStatus,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(send_message))
}

#[utoipa::path(
    post, path = "/v1/accounts/{id}/messages", operation_id = "send_account_message", tag = "chats", request_body = SendBody,
    security(("admin" = []), ("account" = [])), params(("id" = String, Path)),
    responses(
        (status = 202, body = Queued, description = "queued for sending", headers(("Idempotent-Replayed" = String, description = "`true` when this answer is a replay, `false` otherwise"))),
        (status = 200, body = Queued, description = "a replay of an earlier request with the same idempotency_key (header Idempotent-Replayed: true)", headers(("Idempotent-Replayed" = String, description = "`true` when this answer is a replay, `false` otherwise"))),
        (status = 409, body = ErrorBody, description = "idempotency_key reused with a different request"),
    )
)]
async fn send_message(
    State(s): State<AppState>,
    AccountPath(account): AccountPath,
    JsonBody(body): JsonBody<SendBody>,
) -> Result<(StatusCode, [(HeaderName, HeaderValue); 1], Json<Queued>), AppError> {
    let chat_id = ChatJid::parse(&body.chat_id)?;
    bounded_text("text", &body.text, 1, MAX_TEXT_CHARS)?;
    if let Some(key) = &body.idempotency_key {
        bounded_text("idempotency_key", key, 1, 255)?;
    }
    let accepted = send::queue_send(
        &s,
        &account.id,
        SendRequest {
            chat_id,
            text: body.text,
            idempotency_key: body.idempotency_key,
        },
    )
    .await?;
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
        }),
    ))
}
