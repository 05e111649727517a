//! Messages, inbound and outbound, as stored in a chat.

use super::chat::ChatJid;
use super::ids::{AccountId, MessageId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// Inbound, stored.
    Received,
    /// Outbound, waiting for the outbound queue.
    Queued,
    /// Outbound, handed to the provider.
    Sending,
    Sent,
    Delivered,
    Read,
    Failed,
    /// Outbound, withdrawn before it was sent (a newer message or a human reply made it stale).
    Cancelled,
}

/// Who wrote a message. Only a human of the account (from_me, not sent by Switchboard) pauses the
/// AI in a chat; an echo of Switchboard's own sends does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageOrigin {
    /// The other party of the chat.
    Contact,
    /// The account's own human, from the phone or another client.
    AccountHuman,
    /// Sent through Switchboard's API.
    Api,
    /// An AI reply.
    Ai,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub account_id: AccountId,
    pub chat_id: ChatJid,
    pub from: String,
    pub from_me: bool,
    /// `None` for a message without text (media, location ...).
    pub text: Option<String>,
    pub status: MessageStatus,
    pub origin: MessageOrigin,
    pub provider_message_id: Option<String>,
    pub push_name: Option<String>,
    pub mentions_me: bool,
    pub reply_to_message_id: Option<String>,
    /// The client's key for a send request, to answer a retry with the first result.
    pub idempotency_key: Option<String>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Message {
    /// A message the account sends, queued; the caller sets what else it carries (an
    /// idempotency key, the message it replies to).
    pub fn outbound(
        id: MessageId,
        account: &AccountId,
        chat: ChatJid,
        text: Option<String>,
        origin: MessageOrigin,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            account_id: account.clone(),
            chat_id: chat,
            from: account.to_string(),
            from_me: true,
            text,
            status: MessageStatus::Queued,
            origin,
            provider_message_id: None,
            push_name: None,
            mentions_me: false,
            reply_to_message_id: None,
            idempotency_key: None,
            error: None,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn is_inbound(&self) -> bool {
        !self.from_me
    }
}

/// A message as the API and the events show it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MessageView {
    pub id: MessageId,
    pub account_id: AccountId,
    #[schema(value_type = String, example = "15551234567@s.whatsapp.net")]
    pub chat_id: ChatJid,
    pub from: String,
    pub from_me: bool,
    pub text: Option<String>,
    pub status: MessageStatus,
    pub origin: MessageOrigin,
    pub provider_message_id: Option<String>,
    pub reply_to_message_id: Option<String>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<&Message> for MessageView {
    fn from(m: &Message) -> Self {
        Self {
            id: m.id.clone(),
            account_id: m.account_id.clone(),
            chat_id: m.chat_id.clone(),
            from: m.from.clone(),
            from_me: m.from_me,
            text: m.text.clone(),
            status: m.status,
            origin: m.origin,
            provider_message_id: m.provider_message_id.clone(),
            reply_to_message_id: m.reply_to_message_id.clone(),
            error: m.error.clone(),
            created_at: m.created_at,
        }
    }
}
