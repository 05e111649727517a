//! The writes of an AI reply, which span a message and a log row: recorded together, settled
//! together, each in one transaction over the messages' and the logs' helpers.

use super::EmbeddedStore;
use super::ai_logs::{insert_log, update_log_if_in};
use super::messages::{OwnedChange, record_reply_in, transition_in};
use crate::db::Durability;
use async_trait::async_trait;
use switchboard_core::domain::ai_log::{AiLog, AiLogStatus};
use switchboard_core::domain::chat::ChatJid;
use switchboard_core::domain::ids::{AccountId, MessageId};
use switchboard_core::domain::message::Message;
use switchboard_core::ports::{Recorded, ReplyStore, StatusChange, StoreError};

#[async_trait]
impl ReplyStore for EmbeddedStore {
    async fn record_reply(
        &self,
        log: &AiLog,
        reply: &Message,
    ) -> Result<Recorded<AiLog>, StoreError> {
        let (log, reply) = (log.clone(), reply.clone());
        // Synced by the send job and event that the reply job enqueues next.
        self.db
            .write_with(Durability::Relaxed, move |c| {
                let recorded = insert_log(c, log)?;
                if recorded.is_new() {
                    record_reply_in(c, &reply)?;
                }
                Ok(recorded)
            })
            .await
    }

    async fn settle_reply(
        &self,
        account: &AccountId,
        _chat: &ChatJid,
        id: &MessageId,
        change: &StatusChange<'_>,
        log: &AiLog,
    ) -> Result<(bool, bool), StoreError> {
        let (account, id, change) = (account.to_string(), id.to_string(), OwnedChange::of(change));
        let log = log.clone();
        // Synced by the events the send job enqueues next.
        self.db
            .write_with(Durability::Relaxed, move |c| {
                if !transition_in(c, &account, &id, &change)? {
                    return Ok((false, false));
                }
                let log_moved = update_log_if_in(c, AiLogStatus::Generated, &log)?;
                Ok((true, log_moved))
            })
            .await
    }
}
