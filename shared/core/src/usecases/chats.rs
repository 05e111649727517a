//! Chats and their messages, as the account sees them, and the changes to a chat's own
//! settings (block, the chat level of AI, a pause after a human reply). Every function here is
//! about a known account: its route or job checked it first.

use crate::domain::chat::{Chat, ChatChange, ChatJid};
use crate::domain::ids::AccountId;
use crate::domain::message::Message;
use crate::domain::page::{Page, PageRequest};
use crate::error::AppError;
use crate::services::Services;

pub async fn list(
    s: &Services,
    account: &AccountId,
    page: &PageRequest,
) -> Result<Page<Chat>, AppError> {
    Ok(s.store.list_chats(account, page).await?)
}

pub async fn messages(
    s: &Services,
    account: &AccountId,
    chat: &ChatJid,
    page: &PageRequest,
) -> Result<Page<Message>, AppError> {
    Ok(s.store.list_messages(account, chat, page).await?)
}

/// The chat as stored, or a fresh one: chats may be configured before their first message.
pub async fn get_or_new(
    s: &Services,
    account: &AccountId,
    chat_id: &ChatJid,
) -> Result<Chat, AppError> {
    Ok(s.store
        .get_chat(account, chat_id)
        .await?
        .unwrap_or_else(|| Chat::new(account.clone(), chat_id.clone(), s.clock.now())))
}

/// Applies a change to a chat, creating it first if it has not written yet.
pub async fn update(
    s: &Services,
    account: &AccountId,
    chat_id: &ChatJid,
    change: ChatChange,
) -> Result<Chat, AppError> {
    Ok(s.store
        .update_chat(account, chat_id, change, s.clock.now())
        .await?)
}

/// Blocks or unblocks a chat; a chat can be blocked before it has written.
pub async fn set_blocked(
    s: &Services,
    account: &AccountId,
    chat_id: &ChatJid,
    blocked: bool,
) -> Result<Chat, AppError> {
    update(s, account, chat_id, ChatChange::Blocked(blocked)).await
}
