//! The writes of an AI reply, which span a message and a log row: each one transaction over the
//! items the messages' and the logs' files build.

use super::DynamoStore;
use async_trait::async_trait;
use switchboard_core::domain::ai_log::{AiLog, AiLogStatus};
use switchboard_core::domain::chat::ChatJid;
use switchboard_core::domain::ids::{AccountId, MessageId};
use switchboard_core::domain::message::Message;
use switchboard_core::ports::{MessageStore, Recorded, ReplyStore, StatusChange, StoreError};

#[async_trait]
impl ReplyStore for DynamoStore {
    async fn record_reply(
        &self,
        log: &AiLog,
        reply: &Message,
    ) -> Result<Recorded<AiLog>, StoreError> {
        self.insert_log(log, Some(reply)).await
    }

    async fn settle_reply(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        id: &MessageId,
        change: &StatusChange<'_>,
        log: &AiLog,
    ) -> Result<(bool, bool), StoreError> {
        if change.from.is_empty() {
            return Ok((false, false));
        }
        let mut items = self.transition_items(account, chat, id, change)?;
        let log_at = items.len();
        items.push(self.log_update_if(AiLogStatus::Generated, log)?);
        match self.transact(items).await {
            Ok(()) => Ok((true, true)),
            Err(e) if e.failed_at(0) => Ok((false, false)),
            // Someone settled the row already: the message still moves, alone.
            Err(e) if e.failed_at(log_at) => Ok((
                self.transition_message(account, chat, id, change).await?,
                false,
            )),
            Err(e) => Err(e.into_store()),
        }
    }
}
