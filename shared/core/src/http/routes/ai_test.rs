//! `POST /v1/ai/chat/test` (account token) and `POST /v1/ai/admin/test` (admin): one generation
//! with the configuration in force, and where each setting came from.

use crate::domain::ai_settings::Source;
use crate::domain::chat::ChatJid;
use crate::domain::ids::AccountId;
use crate::domain::schema::written_schema;
use crate::domain::validation::{ValidationError, bounded_text, text_schema};
use crate::error::AppError;
use crate::http::ErrorBody;
use crate::http::extract::{AccountCaller, Admin, JsonBody};
use crate::services::AppState;
use crate::usecases::accounts;
use crate::usecases::ai_test::{self, TestRequest, TestResult};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const MAX_MESSAGE_CHARS: usize = 4096;

/// A message to answer, in an account's chat or at its level; a reply goes to a chat only when
/// there is one (the document says so, as the handler checks it).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatTestBody {
    message: String,
    /// Use this chat's level of configuration (and send there with `send_to_chat`).
    chat_id: Option<String>,
    #[serde(default)]
    send_to_chat: bool,
}

/// A message to answer at an account's or a chat's level (a chat is named within an
/// account), or globally.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminTestBody {
    account_id: Option<String>,
    chat_id: Option<String>,
    message: String,
}

written_schema!(ChatTestBody, chat_test_schema);
written_schema!(AdminTestBody, admin_test_schema);

fn message_schema() -> Value {
    let mut message = text_schema(MAX_MESSAGE_CHARS);
    message["examples"] = json!(["Do you open on Sundays?"]);
    message
}

fn chat_schema() -> Value {
    json!({"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/ChatJid"}]})
}

fn chat_test_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "message": message_schema(),
            "chat_id": chat_schema(),
            "send_to_chat": {"type": "boolean", "default": false},
        },
        "required": ["message"],
        "additionalProperties": false,
        "anyOf": [
            {"properties": {"send_to_chat": {"const": false}}},
            {"required": ["chat_id"], "properties": {"chat_id": {"type": "string"}}},
        ],
    })
}

fn admin_test_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "account_id": {"type": ["string", "null"]},
            "chat_id": chat_schema(),
            "message": message_schema(),
        },
        "required": ["message"],
        "additionalProperties": false,
        "anyOf": [
            {"properties": {"chat_id": {"type": "null"}}},
            {"required": ["account_id", "chat_id"], "properties": {"account_id": {"type": "string"}}},
        ],
    })
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

super::area!([chat_test], [admin_test]);

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
