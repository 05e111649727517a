//! Chats and their messages, as the account sees them, what changed in them lately (for pages
//! that stay open), and the changes to a chat's own settings (block, the chat level of AI, a
//! pause after a human reply). Every function here is about a known account: its route or job
//! checked it first.

use crate::domain::chat::{Chat, ChatChange, ChatJid};
use crate::domain::ids::AccountId;
use crate::domain::message::Message;
use crate::domain::page::{Page, PageRequest};
use crate::error::AppError;
use crate::services::Services;
use chrono::{DateTime, TimeDelta, Utc};

/// The newest messages a poll of a conversation looks at: more than a page shows at once, and
/// the only ones whose status still moves in practice.
pub const WATCHED: usize = 50;

/// How far back each poll looks again: a write stamped before a poll may land after it (a slow
/// transaction, another instance's clock, a replica behind), and is caught by the next one.
pub const OVERLAP: TimeDelta = TimeDelta::seconds(5);

/// What changed in a conversation since a poll.
#[derive(Debug)]
pub struct Changes {
    pub chat: Option<Chat>,
    /// Created or changed since, oldest first.
    pub messages: Vec<Message>,
    /// What to ask from next time.
    pub next: DateTime<Utc>,
    /// More changed than the watched messages hold: read the conversation again.
    pub gap: bool,
}

/// The chat and its messages created or changed since `since` (all the watched ones without
/// it): one read of the store, whatever changed.
pub async fn changes(
    s: &Services,
    account: &AccountId,
    chat: &ChatJid,
    since: Option<DateTime<Utc>>,
) -> Result<Changes, AppError> {
    let now = s.clock.now();
    let (found, recent) = s.store.conversation(account, chat, WATCHED).await?;
    let changed = |m: &Message| since.is_none_or(|t| m.updated_at > t);
    let gap = since.is_some() && recent.len() == WATCHED && recent.iter().all(changed);
    let mut messages: Vec<Message> = recent.into_iter().filter(changed).collect();
    messages.reverse();
    Ok(Changes {
        chat: found,
        messages,
        next: now - OVERLAP,
        gap,
    })
}

/// The chats whose activity moved after `since`, newest first.
pub async fn moved_since(
    s: &Services,
    account: &AccountId,
    since: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<Chat>, AppError> {
    Ok(s.store.chats_since(account, since, limit).await?)
}

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

/// The chat as stored; 404 before anything of it is.
pub async fn get(s: &Services, account: &AccountId, chat: &ChatJid) -> Result<Chat, AppError> {
    s.store
        .get_chat(account, chat)
        .await?
        .ok_or(AppError::NotFound("chat"))
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
