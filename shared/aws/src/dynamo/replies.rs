//! The writes of an AI reply, which span a message and a log row: recorded and settled in
//! ordered single writes over the items the messages' and the logs' files build.

use super::DynamoStore;
use async_trait::async_trait;
use switchboard_core::domain::ai_log::{AiLog, AiLogStatus};
use switchboard_core::domain::chat::ChatJid;
use switchboard_core::domain::ids::{AccountId, MessageId};
use switchboard_core::domain::message::Message;
use switchboard_core::ports::{
    AiLogStore, MessageStore, Recorded, ReplyStore, StatusChange, StoreError,
};

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
        // Single writes in order, not one transaction (which bills every item twice): the
        // message's move is the commit point, and the row follows it only if still
        // `generated` (someone settled it already otherwise: the message moves alone). A run
        // that stops between the two leaves the row `generated` under a settled message; the
        // send job, redelivered since it was not done, finds them so and settles the row
        // (`send::settle_left_row`).
        if !self.transition_message(account, chat, id, change).await? {
            return Ok((false, false));
        }
        let log_moved = self.update_ai_log_if(AiLogStatus::Generated, log).await?;
        Ok((true, log_moved))
    }
}
