//! `POST /v1/ai/chat/test` (account token) and `POST /v1/ai/admin/test` (admin): one generation
//! with the configuration in force, and where each setting came from.

use crate::domain::ai_settings::Source;
use crate::domain::chat::ChatJid;
use crate::domain::ids::AccountId;
use crate::domain::validation::{ValidationError, bounded_text};
use crate::error::AppError;
use crate::http::ErrorBody;
use crate::http::extract::{AccountCaller, Admin, JsonBody};
use crate::services::AppState;
use crate::usecases::accounts;
use crate::usecases::ai_test::{self, TestRequest, TestResult};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const MAX_MESSAGE_CHARS: usize = 4096;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatTestBody {
    #[schema(example = "Do you open on Sundays?", min_length = 1, max_length = 4096)]
    message: String,
    /// Use this chat's level of configuration (and send there with `send_to_chat`).
    #[schema(value_type = Option<ChatJid>)]
    chat_id: Option<String>,
    #[serde(default)]
    send_to_chat: bool,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminTestBody {
    account_id: Option<String>,
    #[schema(value_type = Option<ChatJid>)]
    chat_id: Option<String>,
    #[schema(min_length = 1, max_length = 4096)]
    message: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TestResponse {
    reply: String,
    model: String,
    latency_ms: u64,
    /// Whether the reply was also queued to the chat.
    sent: bool,
    /// Setting → the level it came from.
    config_source: BTreeMap<&'static str, Source>,
}

impl From<TestResult> for TestResponse {
    fn from(r: TestResult) -> Self {
        Self {
            reply: r.reply,
            model: r.model,
            latency_ms: r.latency_ms,
            sent: r.sent,
            config_source: r.config_source,
        }
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(chat_test))
        .routes(routes!(admin_test))
}

fn chat(raw: Option<&str>) -> Result<Option<ChatJid>, ValidationError> {
    raw.map(ChatJid::parse).transpose()
}

#[utoipa::path(
    post, path = "/v1/ai/chat/test", tag = "ai", request_body = ChatTestBody, security(("account" = [])),
    responses(
        (status = 200, body = TestResponse),
        (status = 403, body = ErrorBody, description = "an admin token: use /v1/ai/admin/test"),
        (status = 409, body = ErrorBody, description = "no API key configured and echo mode off (code no_api_key)"),
        (status = 502, body = ErrorBody, description = "the LLM failed (code llm_error)"),
    )
)]
async fn chat_test(
    State(s): State<AppState>,
    AccountCaller(account): AccountCaller,
    JsonBody(body): JsonBody<ChatTestBody>,
) -> Result<Json<TestResponse>, AppError> {
    bounded_text("message", &body.message, 1, MAX_MESSAGE_CHARS)?;
    let chat = chat(body.chat_id.as_deref())?;
    if body.send_to_chat && chat.is_none() {
        return Err(ValidationError::new("chat_id", "is required with send_to_chat").into());
    }
    let result = ai_test::run(
        &s,
        TestRequest {
            account: Some(account.id),
            chat,
            message: body.message,
            send_to_chat: body.send_to_chat,
        },
    )
    .await?;
    Ok(Json(result.into()))
}

#[utoipa::path(
    post, path = "/v1/ai/admin/test", tag = "ai", request_body = AdminTestBody, security(("admin" = [])),
    responses(
        (status = 200, body = TestResponse),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "no API key configured and echo mode off (code no_api_key)"),
        (status = 502, body = ErrorBody, description = "the LLM failed (code llm_error)"),
    )
)]
async fn admin_test(
    State(s): State<AppState>,
    _admin: Admin,
    JsonBody(body): JsonBody<AdminTestBody>,
) -> Result<Json<TestResponse>, AppError> {
    bounded_text("message", &body.message, 1, MAX_MESSAGE_CHARS)?;
    let account = body
        .account_id
        .as_deref()
        .map(|id| AccountId::parse(id).ok_or(AppError::NotFound("account")))
        .transpose()?;
    let chat = chat(body.chat_id.as_deref())?;
    if chat.is_some() && account.is_none() {
        return Err(ValidationError::new("account_id", "is required with chat_id").into());
    }
    if let Some(id) = &account {
        accounts::require(&s, id).await?;
    }
    let result = ai_test::run(
        &s,
        TestRequest {
            account,
            chat,
            message: body.message,
            send_to_chat: false,
        },
    )
    .await?;
    Ok(Json(result.into()))
}
