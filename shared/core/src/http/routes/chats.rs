//! `/v1/accounts/{id}/chats`: chats, their messages (newest first), and blocking.

use crate::domain::chat::ChatJid;
use crate::domain::chat::{AiMode, Chat, ChatType};
use crate::domain::message::MessageView;
use crate::domain::page::ListBody;
use crate::domain::page::{cursor_schema, limit_schema};
use crate::error::AppError;
use crate::http::extract::{AccountPath, ChatPath, JsonBody, ListQuery, QueryParams};
use crate::services::AppState;
use crate::usecases::chats;
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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
}

impl From<&Chat> for ChatView {
    fn from(c: &Chat) -> Self {
        Self {
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

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_chats))
        .routes(routes!(list_messages))
        .routes(routes!(block_chat))
}

#[utoipa::path(
    get, path = "/v1/accounts/{id}/chats", tag = "chats", security(("admin" = []), ("account" = [])),
    params(("id" = String, Path), ListQuery),
    responses((status = 200, body = ListBody<ChatView>, description = "most recent activity first"))
)]
async fn list_chats(
    State(s): State<AppState>,
    AccountPath(account): AccountPath,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<Json<ListBody<ChatView>>, AppError> {
    let page = chats::list(&s, &account.id, &q.page()?).await?;
    Ok(Json(page.map(|c| ChatView::from(&c)).into()))
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
    Ok(Json(ChatView::from(&chat)))
}
