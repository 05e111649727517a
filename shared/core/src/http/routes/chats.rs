//! `/v1/accounts/{id}/chats`: chats, their messages (newest first), what changed in them since
//! a page last asked (for pages that stay open), blocking and opt-out; and the account's
//! WhatsApp templates.

use crate::domain::chat::ChatJid;
use crate::domain::chat::{AiMode, Chat, ChatType};
use crate::domain::consent::{ConsentScope, OptOutSource};
use crate::domain::message::MessageView;
use crate::domain::page::{ListBody, Page};
use crate::domain::page::{cursor_schema, limit_schema};
use crate::domain::provider::ProviderKind;
use crate::domain::template::Template;
use crate::domain::validation::{ValidationError, bounded_text};
use crate::error::AppError;
use crate::http::ErrorBody;
use crate::http::extract::{AccountPath, ChatPath, JsonBody, ListQuery, QueryParams};
use crate::services::AppState;
use crate::usecases::{chats, consent, templates};
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Serialize, utoipa::ToSchema)]
pub struct ChatView {
    #[schema(example = "15551234567@s.whatsapp.net")]
    chat_id: String,
    #[serde(rename = "type")]
    chat_type: ChatType,
    name: Option<String>,
    blocked: bool,
    ai_mode: AiMode,
    ai_paused_until: Option<DateTime<Utc>>,
    last_message_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    /// WhatsApp Cloud chats: when the 24-hour window for free-form messages closes (closed
    /// when past; null before the contact ever wrote). Absent on other providers.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    service_window_expires_at: Option<Option<DateTime<Utc>>>,
    opted_out_at: Option<DateTime<Utc>>,
    opt_out_source: Option<OptOutSource>,
    marketing_opted_out: bool,
}

impl ChatView {
    /// The chat as an account of `provider` sees it.
    pub fn of(c: &Chat, provider: ProviderKind) -> Self {
        let mut view = Self::from(c);
        if provider == ProviderKind::WhatsappCloud {
            view.service_window_expires_at = Some(c.service_window_expires_at());
        }
        view
    }
}

impl From<&Chat> for ChatView {
    fn from(c: &Chat) -> Self {
        Self {
            service_window_expires_at: None,
            opted_out_at: c.opted_out_at,
            opt_out_source: c.opt_out_source,
            marketing_opted_out: c.marketing_opted_out,
            chat_id: c.chat_id.to_string(),
            chat_type: c.chat_type(),
            name: c.name.clone(),
            blocked: c.blocked,
            ai_mode: c.ai_mode,
            ai_paused_until: c.ai_paused_until,
            last_message_at: c.last_message_at,
            created_at: c.created_at,
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockBody {
    blocked: bool,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptOutBody {
    opted_out: bool,
}

/// The longest status Meta names (`PENDING_DELETION`), with room.
const MAX_STATUS_CHARS: usize = 32;

/// `?status=&limit=&cursor=`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TemplatesQuery {
    /// Meta's status (`APPROVED`, `PAUSED` ...), in any case.
    #[param(max_length = 32)]
    status: Option<String>,
    #[param(schema_with = limit_schema)]
    limit: Option<String>,
    #[param(schema_with = cursor_schema)]
    cursor: Option<String>,
}

/// `?limit=&cursor=`, or `since=` for the chats that moved since.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChatsQuery {
    #[param(schema_with = limit_schema)]
    limit: Option<String>,
    #[param(schema_with = cursor_schema)]
    cursor: Option<String>,
    /// Only the chats whose activity moved after this time (newest first, one page; `cursor`
    /// is then ignored): how a list that stays open learns which chats to move to the top.
    #[param(value_type = Option<String>, format = DateTime)]
    since: Option<String>,
}

/// `?since=`: a page's last `next_since`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// The `next_since` of the previous answer; absent for a first read.
    #[param(value_type = Option<String>, format = DateTime)]
    since: Option<String>,
}

/// What changed in a chat since a page last asked.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ChatChanges {
    /// The chat as it stands (its pause, opt-out and window); null before its first message.
    chat: Option<ChatView>,
    /// Messages created or changed since `since` (a new status, a transcript), oldest first,
    /// among the chat's newest 50. A message may come again in the next answer: replace it by
    /// its id.
    messages: Vec<MessageView>,
    /// Pass it as `since` next time.
    next_since: DateTime<Utc>,
    /// More changed than one answer holds: read the conversation again.
    gap: bool,
}

/// A time of the query, as RFC 3339.
fn time_param(field: &str, text: Option<&str>) -> Result<Option<DateTime<Utc>>, AppError> {
    text.map(|t| {
        DateTime::parse_from_rfc3339(t.trim())
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                ValidationError::new(field, "must be a time in RFC 3339 (2026-01-31T09:00:00Z)")
                    .into()
            })
    })
    .transpose()
}

/// `?limit=&cursor=`, or `before=<message id>` to page back from a message.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessagesQuery {
    #[param(schema_with = limit_schema)]
    limit: Option<String>,
    #[param(schema_with = cursor_schema)]
    cursor: Option<String>,
    /// A message id: only messages older than it.
    before: Option<String>,
}

super::area!(
    [list_chats],
    [get_chat],
    [chat_changes],
    [list_messages],
    [block_chat],
    [set_opt_out],
    [list_templates]
);

#[utoipa::path(
    get, path = "/v1/accounts/{id}/chats", tag = "chats", security(("admin" = []), ("account" = [])),
    params(("id" = String, Path), ChatsQuery),
    responses((status = 200, body = ListBody<ChatView>, description = "most recent activity first"))
)]
async fn list_chats(
    State(s): State<AppState>,
    AccountPath(account): AccountPath,
    QueryParams(q): QueryParams<ChatsQuery>,
) -> Result<Json<ListBody<ChatView>>, AppError> {
    let since = time_param("since", q.since.as_deref())?;
    let page = ListQuery {
        limit: q.limit,
        cursor: q.cursor.filter(|_| since.is_none()),
    }
    .page()?;
    let page = match since {
        Some(since) => Page {
            items: chats::moved_since(&s, &account.id, since, page.limit).await?,
            next: None,
        },
        None => chats::list(&s, &account.id, &page).await?,
    };
    Ok(Json(
        page.map(|c| ChatView::of(&c, account.provider)).into(),
    ))
}

#[utoipa::path(
    get, path = "/v1/accounts/{id}/chats/{chat_jid}", tag = "chats", security(("admin" = []), ("account" = [])),
    params(("id" = String, Path), ("chat_jid" = ChatJid, Path)),
    responses(
        (status = 200, body = ChatView),
        (status = 404, body = ErrorBody, description = "no message or setting of this chat is stored"),
    )
)]
async fn get_chat(
    State(s): State<AppState>,
    AccountPath(account): AccountPath,
    ChatPath(chat): ChatPath,
) -> Result<Json<ChatView>, AppError> {
    let found = chats::get(&s, &account.id, &chat).await?;
    Ok(Json(ChatView::of(&found, account.provider)))
}

#[utoipa::path(
    get, path = "/v1/accounts/{id}/chats/{chat_jid}/changes", tag = "chats", security(("admin" = []), ("account" = [])),
    params(("id" = String, Path), ("chat_jid" = ChatJid, Path), ChangesQuery),
    responses((status = 200, body = ChatChanges, description = "one read of the store (DynamoDB: one Query of the chat's partition; embedded: one read transaction), whatever changed"))
)]
async fn chat_changes(
    State(s): State<AppState>,
    AccountPath(account): AccountPath,
    ChatPath(chat): ChatPath,
    QueryParams(q): QueryParams<ChangesQuery>,
) -> Result<Json<ChatChanges>, AppError> {
    let since = time_param("since", q.since.as_deref())?;
    let changes = chats::changes(&s, &account.id, &chat, since).await?;
    Ok(Json(ChatChanges {
        chat: changes.chat.map(|c| ChatView::of(&c, account.provider)),
        messages: changes.messages.iter().map(MessageView::from).collect(),
        next_since: changes.next,
        gap: changes.gap,
    }))
}

#[utoipa::path(
    get, path = "/v1/accounts/{id}/chats/{chat_jid}/messages", operation_id = "list_chat_messages", tag = "chats", security(("admin" = []), ("account" = [])),
    params(("id" = String, Path), ("chat_jid" = ChatJid, Path), MessagesQuery),
    responses((status = 200, body = ListBody<MessageView>, description = "newest first"))
)]
async fn list_messages(
    State(s): State<AppState>,
    AccountPath(account): AccountPath,
    ChatPath(chat): ChatPath,
    QueryParams(q): QueryParams<MessagesQuery>,
) -> Result<Json<ListBody<MessageView>>, AppError> {
    let mut page = ListQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .page()?;
    if let Some(before) = q.before.filter(|_| page.after.is_none()) {
        page.after = Some(before);
    }
    let messages = chats::messages(&s, &account.id, &chat, &page).await?;
    Ok(Json(messages.map(|m| MessageView::from(&m)).into()))
}

#[utoipa::path(
    put, path = "/v1/accounts/{id}/chats/{chat_jid}/block", tag = "chats", request_body = BlockBody,
    security(("admin" = []), ("account" = [])),
    params(("id" = String, Path), ("chat_jid" = ChatJid, Path)),
    responses((status = 200, body = ChatView))
)]
async fn block_chat(
    State(s): State<AppState>,
    AccountPath(account): AccountPath,
    ChatPath(chat): ChatPath,
    JsonBody(body): JsonBody<BlockBody>,
) -> Result<Json<ChatView>, AppError> {
    let chat = chats::set_blocked(&s, &account.id, &chat, body.blocked).await?;
    Ok(Json(ChatView::of(&chat, account.provider)))
}

#[utoipa::path(
    put, path = "/v1/accounts/{id}/chats/{chat_jid}/opt-out", tag = "chats", request_body = OptOutBody,
    security(("admin" = []), ("account" = [])),
    params(("id" = String, Path), ("chat_jid" = ChatJid, Path)),
    responses((status = 200, body = ChatView, description = "the chat; `contact.opted_out` or `contact.opted_in` is emitted when it changed"))
)]
async fn set_opt_out(
    State(s): State<AppState>,
    AccountPath(account): AccountPath,
    ChatPath(chat): ChatPath,
    JsonBody(body): JsonBody<OptOutBody>,
) -> Result<Json<ChatView>, AppError> {
    let now = s.clock.now();
    let changed = consent::set(
        &s,
        &account.id,
        &chat,
        ConsentScope::All,
        body.opted_out,
        OptOutSource::Api,
        now,
    )
    .await?;
    Ok(Json(ChatView::of(&changed.chat, account.provider)))
}

#[utoipa::path(
    get, path = "/v1/accounts/{id}/templates", tag = "chats", security(("admin" = []), ("account" = [])),
    params(("id" = String, Path), TemplatesQuery),
    responses(
        (status = 200, body = ListBody<Template>, description = "the business account's message templates, read from Meta at most once per 10 minutes"),
        (status = 422, body = ErrorBody, description = "`business_account_id_required`, or `templates_not_supported` (not a WhatsApp Cloud account)"),
        (status = 502, body = ErrorBody, description = "the Graph API could not be read"),
    )
)]
async fn list_templates(
    State(s): State<AppState>,
    AccountPath(account): AccountPath,
    QueryParams(q): QueryParams<TemplatesQuery>,
) -> Result<Json<ListBody<Template>>, AppError> {
    let page = ListQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .page()?;
    if let Some(status) = &q.status {
        bounded_text("status", status, 0, MAX_STATUS_CHARS)?;
    }
    let status = q.status.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let list = templates::list(&s, &account, status, &page).await?;
    Ok(Json(list.into()))
}
