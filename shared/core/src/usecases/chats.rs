//! Chats and their messages, as the account sees them.

use crate::domain::chat::ChatChange;
use crate::domain::chat::{Chat, ChatJid};
use crate::domain::ids::AccountId;
use crate::domain::message::Message;
use crate::domain::page::{Page, PageRequest};
use crate::error::AppError;
use crate::services::Services;
use crate::usecases::ai_config::{self, ensure_account};

pub async fn list(
    s: &Services,
    account: &AccountId,
    page: &PageRequest,
) -> Result<Page<Chat>, AppError> {
    ensure_account(s, account).await?;
    Ok(s.store.list_chats(account, page).await?)
}

pub async fn messages(
    s: &Services,
    account: &AccountId,
    chat: &ChatJid,
    page: &PageRequest,
) -> Result<Page<Message>, AppError> {
    ensure_account(s, account).await?;
    Ok(s.store.list_messages(account, chat, page).await?)
}

/// Blocks or unblocks a chat; a chat can be blocked before it has written.
pub async fn set_blocked(
    s: &Services,
    account: &AccountId,
    chat_id: &ChatJid,
    blocked: bool,
) -> Result<Chat, AppError> {
    ai_config::update_chat(s, account, chat_id, ChatChange::Blocked(blocked)).await
}
