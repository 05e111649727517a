//! `/v1/ai/global`, `/v1/accounts/{id}/ai`, `/v1/accounts/{id}/chats/{chat_jid}/ai` and
//! `.../ai/effective`: the three levels of AI configuration and what is in force.

use crate::domain::ai_settings::{AiSettings, AiSettingsPatch};
use crate::domain::chat::ChatJid;
use crate::domain::chat::{AiMode, Chat};
use crate::domain::patch::Change;
use crate::domain::validation::{
    DebounceSeconds, HttpUrl, HumanTakeoverMinutes, MaxRepliesPerHour, MaxTokens,
    ReplyDelaySeconds, Temperature, TimeoutSeconds, ValidationError, Whole, bounded_text,
};
use crate::error::AppError;
use crate::http::extract::{AccountPath, Admin, ChatPath, JsonBody};
use crate::resolve::EffectiveAi;
use crate::services::AppState;
use crate::usecases::ai_settings::{self, LevelUpdate};
use crate::usecases::chats;
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// A PUT of the global or an account level. A field left out keeps its value; `null` clears it
/// (inherit from the level below); `api_key` is write-only.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AiSettingsBody {
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    enabled: Change<bool>,
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "https://api.openai.com/v1")]
    base_url: Change<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>, write_only, min_length = 1, max_length = 4096)]
    api_key: Change<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "gpt-4.1-mini", min_length = 1, max_length = 200)]
    model_name: Change<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 20000)]
    default_system_prompt: Change<String>,
    #[serde(default)]
    #[schema(value_type = Option<f64>, minimum = 0, maximum = 2)]
    temperature: Change<f64>,
    #[serde(default)]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 32768)]
    max_tokens: Change<Whole>,
    #[serde(default)]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 300)]
    timeout_seconds: Change<Whole>,
    #[serde(default)]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 900)]
    reply_delay_seconds: Change<Whole>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    reply_to_private: Change<bool>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    reply_to_groups: Change<bool>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    reply_to_channels: Change<bool>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    echo_mode: Change<bool>,
    #[serde(default)]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 10080)]
    human_takeover_minutes: Change<Whole>,
    #[serde(default)]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 120)]
    debounce_seconds: Change<Whole>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    groups_require_mention: Change<bool>,
    #[serde(default)]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 1000)]
    max_replies_per_chat_per_hour: Change<Whole>,
}

fn checked<T, U>(
    field: &'static str,
    value: Change<T>,
    check: impl FnOnce(&'static str, T) -> Result<U, ValidationError>,
) -> Result<Change<U>, ValidationError> {
    value.try_map(|v| check(field, v))
}

fn text(max: usize) -> impl Fn(&'static str, String) -> Result<String, ValidationError> {
    move |field, v| bounded_text(field, &v, 1, max).map(|_| v)
}

impl AiSettingsBody {
    /// Checks every field; the first bad one is the error (nothing is written).
    pub fn into_update(self) -> Result<LevelUpdate, ValidationError> {
        let same = |_: &'static str, v: bool| Ok(v);
        Ok(LevelUpdate {
            api_key: checked("api_key", self.api_key, |f, v: String| {
                bounded_text(f, &v, 1, 4096).map(|_| SecretString::from(v))
            })?,
            patch: AiSettingsPatch {
                enabled: checked("enabled", self.enabled, same)?,
                base_url: checked("base_url", self.base_url, |f, v: String| {
                    HttpUrl::parse(f, &v)
                })?,
                api_key: Change::Keep,
                model_name: checked("model_name", self.model_name, text(200))?,
                default_system_prompt: checked(
                    "default_system_prompt",
                    self.default_system_prompt,
                    text(20_000),
                )?,
                temperature: checked("temperature", self.temperature, Temperature::parse)?,
                max_tokens: checked("max_tokens", self.max_tokens, MaxTokens::parse)?,
                timeout_seconds: checked(
                    "timeout_seconds",
                    self.timeout_seconds,
                    TimeoutSeconds::parse,
                )?,
                reply_delay_seconds: checked(
                    "reply_delay_seconds",
                    self.reply_delay_seconds,
                    ReplyDelaySeconds::parse,
                )?,
                reply_to_private: checked("reply_to_private", self.reply_to_private, same)?,
                reply_to_groups: checked("reply_to_groups", self.reply_to_groups, same)?,
                reply_to_channels: checked("reply_to_channels", self.reply_to_channels, same)?,
                echo_mode: checked("echo_mode", self.echo_mode, same)?,
                human_takeover_minutes: checked(
                    "human_takeover_minutes",
                    self.human_takeover_minutes,
                    HumanTakeoverMinutes::parse,
                )?,
                debounce_seconds: checked(
                    "debounce_seconds",
                    self.debounce_seconds,
                    DebounceSeconds::parse,
                )?,
                groups_require_mention: checked(
                    "groups_require_mention",
                    self.groups_require_mention,
                    same,
                )?,
                max_replies_per_chat_per_hour: checked(
                    "max_replies_per_chat_per_hour",
                    self.max_replies_per_chat_per_hour,
                    MaxRepliesPerHour::parse,
                )?,
            },
        })
    }
}

/// One level as stored: `null` means "inherit from the level below".
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AiSettingsView {
    enabled: Option<bool>,
    base_url: Option<String>,
    has_api_key: bool,
    model_name: Option<String>,
    default_system_prompt: Option<String>,
    temperature: Option<f64>,
    max_tokens: Option<u32>,
    timeout_seconds: Option<u32>,
    reply_delay_seconds: Option<u32>,
    reply_to_private: Option<bool>,
    reply_to_groups: Option<bool>,
    reply_to_channels: Option<bool>,
    echo_mode: Option<bool>,
    human_takeover_minutes: Option<u32>,
    debounce_seconds: Option<u32>,
    groups_require_mention: Option<bool>,
    max_replies_per_chat_per_hour: Option<u32>,
}

impl From<&AiSettings> for AiSettingsView {
    fn from(s: &AiSettings) -> Self {
        Self {
            enabled: s.enabled,
            base_url: s.base_url.as_ref().map(|u| u.to_string()),
            has_api_key: s.api_key.is_some(),
            model_name: s.model_name.clone(),
            default_system_prompt: s.default_system_prompt.clone(),
            temperature: s.temperature.map(Temperature::get),
            max_tokens: s.max_tokens.map(MaxTokens::get),
            timeout_seconds: s.timeout_seconds.map(TimeoutSeconds::get),
            reply_delay_seconds: s.reply_delay_seconds.map(ReplyDelaySeconds::get),
            reply_to_private: s.reply_to_private,
            reply_to_groups: s.reply_to_groups,
            reply_to_channels: s.reply_to_channels,
            echo_mode: s.echo_mode,
            human_takeover_minutes: s.human_takeover_minutes.map(HumanTakeoverMinutes::get),
            debounce_seconds: s.debounce_seconds.map(DebounceSeconds::get),
            groups_require_mention: s.groups_require_mention,
            max_replies_per_chat_per_hour: s
                .max_replies_per_chat_per_hour
                .map(MaxRepliesPerHour::get),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatAiBody {
    mode: Option<AiMode>,
    /// Replaces the system prompt in this chat; `null` removes it.
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 20000)]
    custom_system_prompt: Change<String>,
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

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_global, put_global))
        .routes(routes!(get_account_ai, put_account_ai))
        .routes(routes!(get_chat_ai, put_chat_ai))
        .routes(routes!(get_effective))
}

#[utoipa::path(
    get, path = "/v1/ai/global", tag = "ai", security(("admin" = [])),
    responses((status = 200, body = AiSettingsView))
)]
async fn get_global(
    State(s): State<AppState>,
    _admin: Admin,
) -> Result<Json<AiSettingsView>, AppError> {
    Ok(Json(AiSettingsView::from(&s.store.global_ai().await?)))
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
    let settings = ai_settings::put_global(&s, body.into_update()?).await?;
    Ok(Json(AiSettingsView::from(&settings)))
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
    Ok(Json(AiSettingsView::from(&settings)))
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
    let settings = ai_settings::put_account(&s, &account.id, body.into_update()?).await?;
    Ok(Json(AiSettingsView::from(&settings)))
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
    let prompt = checked(
        "custom_system_prompt",
        body.custom_system_prompt,
        text(20_000),
    )?;
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
