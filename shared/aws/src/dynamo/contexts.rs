//! A job's first reads. The reply job's: one Query of the chat's partition (the chat and its
//! newest messages) beside the message's AI log row (a GetItem) and the configuration, which
//! comes from the cache or one BatchGetItem.
//! The send job's: one BatchGetItem.

use super::accounts::{account_from, account_key};
use super::ai_logs::log_key;
use super::ai_settings::{account_settings_key, global_key, settings_of};
use super::chats::{chat_from, chat_key};
use super::item::{self, get_s, s};
use super::keys::{self, SK};
use super::messages::{message_from, message_key};
use super::{DynamoStore, backend, take_item};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use switchboard_core::domain::chat::{Chat, ChatJid};
use switchboard_core::domain::ids::{AccountId, AiLogId, MessageId};
use switchboard_core::domain::message::Message;
use switchboard_core::domain::message::replies_among;
use switchboard_core::ports::{AiLogStore, ContextStore, ReplyContext, SendContext, StoreError};

#[async_trait]
impl ContextStore for DynamoStore {
    async fn reply_context(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        message: &MessageId,
        history: usize,
        replies_since: DateTime<Utc>,
    ) -> Result<ReplyContext, StoreError> {
        let conversation = self
            .chat_and_newest(account, chat, history)
            .consistent_read(true)
            .send();
        let config_keys = [
            account_key(account),
            global_key(),
            account_settings_key(account),
        ];
        // The row that decided on the message, if a run did before: read beside the rest.
        let decided = self.get(log_key(account, chat, &AiLogId::deciding(message)));
        let (conversation, config, decided) =
            tokio::join!(conversation, self.config_items(&config_keys), decided);
        let items = conversation.map_err(backend)?.items.unwrap_or_default();
        let [account_row, global_row, settings_row]: [Option<_>; 3] = config?
            .try_into()
            .map_err(|_| StoreError::Backend("configuration read came back short".into()))?;

        let mut chat_row = None;
        let mut recent = Vec::with_capacity(items.len());
        let mut message_row = None;
        for row in items {
            if get_s(&row, SK) == Some(keys::CHAT_SK) {
                chat_row = Some(row);
                continue;
            }
            if get_s(&row, SK) == Some(keys::message_sk(message).as_str()) {
                message_row = Some(row.clone());
            }
            recent.push(message_from(&row)?);
        }
        recent.truncate(history);
        // Older than the newest `history`: a job that ran late.
        if message_row.is_none() {
            message_row = self.get(message_key(account, chat, message)).await?;
        }
        // A message decided before rows had its id points at its row instead.
        let decided = match (decided?, &message_row) {
            (Some(row), _) => Some(item::data(&row)?),
            (None, Some(message)) => self.log_of(account, chat, message).await?,
            (None, None) => None,
        };
        // Counted from the newest messages when they reach back far enough; a query of its own
        // only in a chat busier than that.
        let replies_since = match replies_among(&recent, history, replies_since) {
            Some(n) => n,
            None => {
                self.count_replies_since(account, chat, replies_since)
                    .await?
            }
        };
        Ok(ReplyContext {
            account: account_row.as_ref().map(account_from).transpose()?,
            message: message_row.as_ref().map(message_from).transpose()?,
            decided,
            chat: chat_row
                .map(|row| chat_from(&row, account, chat))
                .transpose()?,
            global_ai: settings_of(global_row.as_ref())?,
            account_ai: settings_of(settings_row.as_ref())?,
            recent,
            replies_since,
        })
    }

    async fn send_context(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        message: &MessageId,
        log: Option<&AiLogId>,
    ) -> Result<SendContext, StoreError> {
        let mut keys = vec![
            account_key(account),
            message_key(account, chat, message),
            chat_key(account, chat),
        ];
        if let Some(log) = log {
            keys.push(log_key(account, chat, log));
        }
        let mut found = self.batch_get(keys.clone()).await?;
        Ok(SendContext {
            account: take_item(&mut found, &keys[0])
                .as_ref()
                .map(account_from)
                .transpose()?,
            message: take_item(&mut found, &keys[1])
                .as_ref()
                .map(message_from)
                .transpose()?,
            chat: take_item(&mut found, &keys[2])
                .map(|row| chat_from(&row, account, chat))
                .transpose()?,
            log: match keys.get(3) {
                Some(k) => take_item(&mut found, k)
                    .as_ref()
                    .map(item::data)
                    .transpose()?,
                None => None,
            },
        })
    }

    async fn conversation(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        limit: usize,
    ) -> Result<(Option<Chat>, Vec<Message>), StoreError> {
        // Eventually consistent (half the read units): its readers poll and read again what
        // changed in the last seconds.
        let out = self
            .chat_and_newest(account, chat, limit)
            .send()
            .await
            .map_err(backend)?;
        let mut found = None;
        let mut messages = Vec::new();
        for row in out.items.unwrap_or_default() {
            if get_s(&row, SK) == Some(keys::CHAT_SK) {
                found = Some(chat_from(&row, account, chat)?);
            } else {
                messages.push(message_from(&row)?);
            }
        }
        messages.truncate(limit);
        Ok((found, messages))
    }
}

impl DynamoStore {
    /// One Query of a chat's partition: the chat item sorts first (`N` after every `M#`),
    /// then its newest `messages`.
    fn chat_and_newest(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        messages: usize,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.query()
            .key_condition_expression("pk = :pk AND sk BETWEEN :lo AND :hi")
            .expression_attribute_values(":pk", s(keys::conversation(account, chat)))
            .expression_attribute_values(":lo", s(keys::MESSAGE_PREFIX))
            .expression_attribute_values(":hi", s(keys::CHAT_SK))
            .scan_index_forward(false)
            .limit((messages + 1).min(1000) as i32)
    }
}
