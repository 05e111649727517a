//! A job's first reads in one BatchGetItem.

use super::DynamoStore;
use super::accounts::account_key;
use super::ai_config::{account_settings_key, global_key, settings_of};
use super::ai_logs::log_key;
use super::chats::{chat_from, chat_key};
use super::item::{self, Item, get_s};
use super::keys::{PK, SK};
use super::messages::{message_from, message_key};
use async_trait::async_trait;
use switchboard_core::domain::chat::ChatJid;
use switchboard_core::domain::ids::{AccountId, AiLogId, MessageId};
use switchboard_core::ports::{ContextStore, ReplyContext, SendContext, StoreError};

/// The item among `found` with this key.
fn take(found: &mut Vec<Item>, key: &Item) -> Option<Item> {
    let at = found
        .iter()
        .position(|i| get_s(i, PK) == get_s(key, PK) && get_s(i, SK) == get_s(key, SK))?;
    Some(found.swap_remove(at))
}

#[async_trait]
impl ContextStore for DynamoStore {
    async fn reply_context(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        message: &MessageId,
    ) -> Result<ReplyContext, StoreError> {
        let keys = [
            account_key(account),
            message_key(account, chat, message),
            chat_key(account, chat),
            global_key(),
            account_settings_key(account),
        ];
        let mut found = self.batch_get(keys.to_vec()).await?;
        let [account_k, message_k, chat_k, global_k, settings_k] = keys;
        let message_row = take(&mut found, &message_k);
        // Only a message decided before points at a log row: a redelivered job.
        let decided = match &message_row {
            Some(row) => self.log_of(account, chat, row).await?,
            None => None,
        };
        Ok(ReplyContext {
            account: take(&mut found, &account_k)
                .as_ref()
                .map(item::data)
                .transpose()?,
            message: message_row.as_ref().map(message_from).transpose()?,
            decided,
            chat: take(&mut found, &chat_k)
                .map(|row| chat_from(&row, account, chat))
                .transpose()?,
            global_ai: settings_of(take(&mut found, &global_k).as_ref())?,
            account_ai: settings_of(take(&mut found, &settings_k).as_ref())?,
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
            account: take(&mut found, &keys[0])
                .as_ref()
                .map(item::data)
                .transpose()?,
            message: take(&mut found, &keys[1])
                .as_ref()
                .map(message_from)
                .transpose()?,
            chat: take(&mut found, &keys[2])
                .map(|row| chat_from(&row, account, chat))
                .transpose()?,
            log: match keys.get(3) {
                Some(k) => take(&mut found, k).as_ref().map(item::data).transpose()?,
                None => None,
            },
        })
    }
}
