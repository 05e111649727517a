//! A job's first reads, in one read transaction: the reply job's (account, message, its log
//! row, chat, settings, newest messages and the hour's replies) and the send job's.

use super::{EmbeddedStore, load, query_data};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use switchboard_core::domain::ai_settings::AiSettings;
use switchboard_core::domain::chat::{Chat, ChatJid};
use switchboard_core::domain::ids::{AccountId, AiLogId, MessageId};
use switchboard_core::domain::message::Message;
use switchboard_core::ports::{ContextStore, ReplyContext, SendContext, StoreError};

fn settings(c: &Connection, owner: &str) -> Result<AiSettings, StoreError> {
    load(c, "SELECT data FROM ai_settings WHERE owner = ?1", [owner]).map(Option::unwrap_or_default)
}

fn account_row<T: serde::de::DeserializeOwned>(
    c: &Connection,
    id: &str,
) -> Result<Option<T>, StoreError> {
    load(c, "SELECT data FROM accounts WHERE id = ?1", [id])
}

fn chat_row(c: &Connection, account: &str, chat: &str) -> Result<Option<Chat>, StoreError> {
    super::chats::load_chat(c, account, chat)
}

fn message_row<T: serde::de::DeserializeOwned>(
    c: &Connection,
    account: &str,
    id: &str,
) -> Result<Option<T>, StoreError> {
    load(
        c,
        "SELECT data FROM messages WHERE account_id = ?1 AND id = ?2",
        params![account, id],
    )
}

#[async_trait]
impl ContextStore for EmbeddedStore {
    async fn reply_context(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        message: &MessageId,
        history: usize,
        replies_since: DateTime<Utc>,
    ) -> Result<ReplyContext, StoreError> {
        let (account, chat, message) = (account.to_string(), chat.to_string(), message.to_string());
        self.db
            .read(move |c| {
                Ok(ReplyContext {
                    account: account_row(c, &account)?,
                    message: message_row(c, &account, &message)?,
                    decided: load(
                        c,
                        "SELECT data FROM ai_logs WHERE inbound_message_id = ?1",
                        [&message],
                    )?,
                    chat: chat_row(c, &account, &chat)?,
                    global_ai: settings(c, super::ai_settings::GLOBAL)?,
                    account_ai: settings(c, &account)?,
                    recent: super::query_data(
                        c,
                        "SELECT data FROM messages WHERE account_id = ?1 AND chat_id = ?2
                         ORDER BY id DESC LIMIT ?3",
                        params![account, chat, history as i64],
                    )?,
                    replies_since: super::ai_logs::count_replies(
                        c,
                        &account,
                        &chat,
                        &replies_since,
                    )?,
                })
            })
            .await
    }

    async fn send_context(
        &self,
        account: &AccountId,
        _chat: &ChatJid,
        message: &MessageId,
        log: Option<&AiLogId>,
    ) -> Result<SendContext, StoreError> {
        let (account, message) = (account.to_string(), message.to_string());
        let log = log.map(|l| l.to_string());
        self.db
            .read(move |c| {
                let message: Option<Message> = message_row(c, &account, &message)?;
                let chat = match &message {
                    Some(m) => chat_row(c, &account, m.chat_id.as_str())?,
                    None => None,
                };
                Ok(SendContext {
                    account: account_row(c, &account)?,
                    log: match &log {
                        Some(id) => load(c, "SELECT data FROM ai_logs WHERE id = ?1", [id])?,
                        None => None,
                    },
                    message,
                    chat,
                })
            })
            .await
    }

    async fn conversation(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        limit: usize,
    ) -> Result<(Option<Chat>, Vec<Message>), StoreError> {
        let (account, chat) = (account.to_string(), chat.to_string());
        self.db
            .read(move |c| {
                let messages = query_data(
                    c,
                    "SELECT data FROM messages WHERE account_id = ?1 AND chat_id = ?2
                     ORDER BY id DESC LIMIT ?3",
                    params![account, chat, limit as i64],
                )?;
                Ok((chat_row(c, &account, &chat)?, messages))
            })
            .await
    }
}
