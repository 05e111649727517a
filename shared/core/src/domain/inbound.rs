//! What comes in from a channel, normalized: messages, and reports on the status of messages
//! the account sent. Providers map their own payloads to these; the ingest route builds them
//! from its body. Nothing past this point sees a provider's JSON.

use super::chat::ChatJid;
use super::media::Media;
use super::message::{FailureCode, MessageStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A normalized inbound message, already checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    /// The provider's id of the message: the same id twice is one message.
    pub message_id: String,
    pub chat_id: ChatJid,
    pub from: String,
    pub from_me: bool,
    /// `None` for a message without text (media, a reaction ...): stored, never answered.
    pub text: Option<String>,
    pub timestamp: Option<DateTime<Utc>>,
    pub push_name: Option<String>,
    pub mentions_me: bool,
    pub reply_to_message_id: Option<String>,
    /// Written by a bot: stored, never answered (two bots must not talk in a loop).
    pub from_bot: bool,
    /// A voice note, photo or file; `text` is then its caption.
    pub media: Option<Media>,
    /// The medium's bytes when the sender gave them inline (a bridge's `data_base64`).
    pub inline_media: Option<Vec<u8>>,
}

/// A provider's report on a message the account sent, found by the provider's id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    pub provider_message_id: String,
    /// `Sent`, `Delivered`, `Read` or `Failed`.
    pub status: MessageStatus,
    /// Why it failed, in words a person can act on.
    pub error: Option<String>,
    /// The contract's name for the failure, when it has one.
    #[serde(default)]
    pub code: Option<FailureCode>,
}

/// A contact's choice about marketing messages, told by the provider (Meta's
/// `user_preferences`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketingPreference {
    pub chat_id: ChatJid,
    /// `true`: stop marketing messages; `false`: resume them.
    pub stopped: bool,
}

/// Everything one provider notification carried (a notification may batch many of each).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Received {
    pub messages: Vec<Inbound>,
    pub statuses: Vec<StatusReport>,
    pub preferences: Vec<MarketingPreference>,
}
