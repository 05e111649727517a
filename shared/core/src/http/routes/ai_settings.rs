//! `/v1/ai/global`, `/v1/accounts/{id}/ai`, `/v1/accounts/{id}/chats/{chat_jid}/ai` and
//! `.../ai/effective`: the three levels of AI configuration and what is in force.

use crate::domain::ai_settings::{
    AiSettingsBody, AiSettingsView, EffectiveAi, SystemPrompt, nullable_schema,
};
use crate::domain::chat::{AiMode, Chat, ChatJid};
use crate::domain::patch::Change;
use crate::error::AppError;
use crate::http::extract::{AccountPath, Admin, ChatPath, JsonBody};
use crate::services::AppState;
use crate::usecases::ai_settings;
use crate::usecases::chats;
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatAiBody {
    mode: Option<AiMode>,
    /// Replaces the system prompt in this chat; `null` removes it.
    #[serde(default)]
    #[schema(schema_with = prompt_schema)]
    custom_system_prompt: Change<String>,
}

fn prompt_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    nullable_schema::<SystemPrompt>()
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChatAiView {
    chat_id: String,
    mode: AiMode,
    custom_system_prompt: Option<String>,
    /// Set while AI is paused because a human of the account wrote in the chat.
    ai_paused_until: Option<DateTime<Utc>>,
}

impl From<&Chat> for ChatAiView {
    fn from(c: &Chat) -> Self {
        Self {
            chat_id: c.chat_id.to_string(),
            mode: c.ai_mode,
            custom_system_prompt: c.custom_system_prompt.clone(),
            ai_paused_until: c.ai_paused_until,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EffectiveView {
    account_id: String,
    chat_id: String,
    #[serde(flatten)]
    config: EffectiveAi,
    /// Whether a text message from the other party would be answered now.
    would_reply: bool,
    /// Why not, when `would_reply` is false.
    reason: Option<String>,
}

super::area!(
    [get_global, put_global],
    [get_account_ai, put_account_ai],
    [get_chat_ai, put_chat_ai],
    [get_effective]
);

#[utoipa::path(
    get, path = "/v1/ai/global", tag = "ai", security(("admin" = [])),
    responses((status = 200, body = AiSettingsView))
)]
async fn get_global(
    State(s): State<AppState>,
    _admin: Admin,
) -> Result<Json<AiSettingsView>, AppError> {
    Ok(Json(AiSettingsView(s.store.global_ai().await?)))
}

#[utoipa::path(
    put, path = "/v1/ai/global", tag = "ai", request_body = AiSettingsBody, security(("admin" = [])),
    responses((status = 200, body = AiSettingsView))
)]
async fn put_global(
    State(s): State<AppState>,
    _admin: Admin,
    JsonBody(body): JsonBody<AiSettingsBody>,
) -> Result<Json<AiSettingsView>, AppError> {
    let settings = ai_settings::put_global(&s, body.check()?).await?;
    Ok(Json(AiSettingsView(settings)))
}

#[utoipa::path(
    get, path = "/v1/accounts/{id}/ai", tag = "ai", security(("admin" = [])), params(("id" = String, Path)),
    responses((status = 200, body = AiSettingsView))
)]
async fn get_account_ai(
    State(s): State<AppState>,
    _admin: Admin,
    AccountPath(account): AccountPath,
) -> Result<Json<AiSettingsView>, AppError> {
    let settings = ai_settings::get_account(&s, &account.id).await?;
    Ok(Json(AiSettingsView(settings)))
}

#[utoipa::path(
    put, path = "/v1/accounts/{id}/ai", tag = "ai", request_body = AiSettingsBody, security(("admin" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = AiSettingsView))
)]
async fn put_account_ai(
    State(s): State<AppState>,
    _admin: Admin,
    AccountPath(account): AccountPath,
    JsonBody(body): JsonBody<AiSettingsBody>,
) -> Result<Json<AiSettingsView>, AppError> {
    let settings = ai_settings::put_account(&s, &account.id, body.check()?).await?;
    Ok(Json(AiSettingsView(settings)))
}

#[utoipa::path(
    get, path = "/v1/accounts/{id}/chats/{chat_jid}/ai", tag = "ai", security(("admin" = [])),
    params(("id" = String, Path), ("chat_jid" = ChatJid, Path)),
    responses((status = 200, body = ChatAiView))
)]
async fn get_chat_ai(
    State(s): State<AppState>,
    _admin: Admin,
    AccountPath(account): AccountPath,
    ChatPath(chat): ChatPath,
) -> Result<Json<ChatAiView>, AppError> {
    let chat = chats::get_or_new(&s, &account.id, &chat).await?;
    Ok(Json(ChatAiView::from(&chat)))
}

#[utoipa::path(
    put, path = "/v1/accounts/{id}/chats/{chat_jid}/ai", tag = "ai", request_body = ChatAiBody,
    security(("admin" = [])),
    params(("id" = String, Path), ("chat_jid" = ChatJid, Path)),
    responses((status = 200, body = ChatAiView))
)]
async fn put_chat_ai(
    State(s): State<AppState>,
    _admin: Admin,
    AccountPath(account): AccountPath,
    ChatPath(chat): ChatPath,
    JsonBody(body): JsonBody<ChatAiBody>,
) -> Result<Json<ChatAiView>, AppError> {
    let prompt = body.custom_system_prompt.try_map(|v| {
        SystemPrompt::parse("custom_system_prompt", v).map(|p| p.as_str().to_string())
    })?;
    let chat = ai_settings::put_chat(&s, &account.id, &chat, body.mode, prompt).await?;
    Ok(Json(ChatAiView::from(&chat)))
}

#[utoipa::path(
    get, path = "/v1/accounts/{id}/chats/{chat_jid}/ai/effective", tag = "ai", security(("admin" = []), ("account" = [])),
    params(("id" = String, Path), ("chat_jid" = ChatJid, Path)),
    responses((status = 200, body = EffectiveView))
)]
async fn get_effective(
    State(s): State<AppState>,
    AccountPath(account): AccountPath,
    ChatPath(chat): ChatPath,
) -> Result<Json<EffectiveView>, AppError> {
    let (config, decision) = ai_settings::effective_for_chat(&s, &account.id, &chat).await?;
    Ok(Json(EffectiveView {
        account_id: account.id.to_string(),
        chat_id: chat.to_string(),
        config,
        would_reply: decision.is_ok(),
        reason: decision.err().map(|r| r.to_string()),
    }))
}
