//! Chats: their own settings and their activity, listed by newest activity.

use super::{EmbeddedStore, backend, from_json, query_data, timestamp_key, to_json};
use crate::cached;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use switchboard_core::domain::chat::{Chat, ChatChange, ChatJid};
use switchboard_core::domain::ids::AccountId;
use switchboard_core::domain::page::{Page, PageRequest};
use switchboard_core::ports::{ChatStore, StoreError};

pub(crate) fn load_chat(
    c: &Connection,
    account: &str,
    chat: &str,
) -> Result<Option<Chat>, StoreError> {
    let data: Option<String> = cached::query_row(
        c,
        "SELECT data FROM chats WHERE account_id = ?1 AND chat_id = ?2",
        params![account, chat],
        |r| r.get(0),
    )
    .optional()
    .map_err(backend)?;
    data.map(|d| from_json(&d)).transpose()
}

pub(crate) fn save_chat(c: &Connection, chat: &Chat) -> Result<(), StoreError> {
    let activity = chat
        .last_message_at
        .as_ref()
        .map(timestamp_key)
        .unwrap_or_default();
    cached::exec(c,
        "INSERT INTO chats (account_id, chat_id, last_message_at, data) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (account_id, chat_id) DO UPDATE SET last_message_at = excluded.last_message_at, data = excluded.data",
        params![chat.account_id.as_str(), chat.chat_id.as_str(), activity, to_json(chat)?],
    )
    .map_err(backend)?;
    Ok(())
}

/// Cursor of the chat list: activity time and chat id, newest first.
fn position(chat: &Chat) -> String {
    let at = chat
        .last_message_at
        .as_ref()
        .map(timestamp_key)
        .unwrap_or_default();
    format!("{at}|{}", chat.chat_id)
}

#[async_trait]
impl ChatStore for EmbeddedStore {
    async fn get_chat(
        &self,
        account: &AccountId,
        chat: &ChatJid,
    ) -> Result<Option<Chat>, StoreError> {
        let (account, chat) = (account.to_string(), chat.to_string());
        self.db.read(move |c| load_chat(c, &account, &chat)).await
    }

    async fn list_chats(
        &self,
        account: &AccountId,
        page: &PageRequest,
    ) -> Result<Page<Chat>, StoreError> {
        let account = account.to_string();
        let limit = page.limit;
        // Past the end of every real cursor: `~` sorts after digits and the chat id's alphabet.
        let (at, id) = match page.after.as_deref().and_then(|p| p.split_once('|')) {
            Some((at, id)) => (at.to_string(), id.to_string()),
            None => ("~".to_string(), String::new()),
        };
        self.db
            .read(move |c| {
                let items: Vec<Chat> = query_data(
                    c,
                    "SELECT data FROM chats WHERE account_id = ?1
                       AND (last_message_at < ?2 OR (last_message_at = ?2 AND chat_id < ?3))
                     ORDER BY last_message_at DESC, chat_id DESC LIMIT ?4",
                    params![
                        account,
                        at,
                        if id.is_empty() { "~".to_string() } else { id },
                        limit as i64 + 1
                    ],
                )?;
                Ok(Page::from_overfetch(items, limit, position))
            })
            .await
    }

    async fn chats_since(
        &self,
        account: &AccountId,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Chat>, StoreError> {
        let (account, since) = (account.to_string(), timestamp_key(&since));
        self.db
            .read(move |c| {
                query_data(
                    c,
                    "SELECT data FROM chats WHERE account_id = ?1 AND last_message_at > ?2
                     ORDER BY last_message_at DESC, chat_id DESC LIMIT ?3",
                    params![account, since, limit as i64],
                )
            })
            .await
    }

    async fn update_chat(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        change: ChatChange,
        now: DateTime<Utc>,
    ) -> Result<Chat, StoreError> {
        let (account, chat_id) = (account.clone(), chat.clone());
        self.db
            .write(move |c| {
                let mut chat = load_chat(c, account.as_str(), chat_id.as_str())?
                    .unwrap_or_else(|| Chat::new(account, chat_id, now));
                chat.apply(change);
                save_chat(c, &chat)?;
                Ok(chat)
            })
            .await
    }
}
