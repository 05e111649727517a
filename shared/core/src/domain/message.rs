//! Messages, inbound and outbound, as stored in a chat.

use super::channel::Channel;
use super::chat::ChatJid;
use super::ids::{AccountId, AiLogId, ApiKeyId, MessageId};
use super::media::{Media, MediaView};
use super::template::TemplateMessage;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a send through the client API carries besides its text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientSend {
    /// The key that sent it; `None` when an admin did.
    pub key_id: Option<ApiKeyId>,
    pub channel: Channel,
    /// The recipient as its channel writes it (`+15551234567`, `@name`, `ann@example.com`).
    pub to: String,
    pub subject: Option<String>,
    /// Free text from the client: which assistant or flow asked.
    pub source: Option<String>,
    /// A pending confirmation lapses then.
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// Inbound, stored.
    Received,
    /// Outbound through the client API, waiting for a person (or its key) to confirm it.
    PendingConfirmation,
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

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Received => "received",
            MessageStatus::PendingConfirmation => "pending_confirmation",
            MessageStatus::Queued => "queued",
            MessageStatus::Sending => "sending",
            MessageStatus::Sent => "sent",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Read => "read",
            MessageStatus::Failed => "failed",
            MessageStatus::Cancelled => "cancelled",
        }
    }

    /// The statuses an outbound message may move to `to` from: only forward along
    /// `queued < sending < sent < delivered < read`, and never out of `failed` or `cancelled`
    /// (a read message does not fail after). A late or repeated report then changes nothing.
    pub fn forward_to(to: MessageStatus) -> &'static [MessageStatus] {
        use MessageStatus::*;
        match to {
            Sending => &[Queued],
            Sent => &[Queued, Sending],
            Delivered => &[Queued, Sending, Sent],
            Read => &[Queued, Sending, Sent, Delivered],
            Failed => &[Queued, Sending, Sent, Delivered],
            Queued => &[PendingConfirmation],
            Cancelled => &[PendingConfirmation],
            Received | PendingConfirmation => &[],
        }
    }
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

/// Stored as JSON on both backends: what is empty is left out, since every byte of an item is
/// billed again by each write that moves its status (DynamoDB rounds to the started KB).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub account_id: AccountId,
    pub chat_id: ChatJid,
    pub from: String,
    pub from_me: bool,
    /// `None` for a message without text (media, location ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    pub status: MessageStatus,
    pub origin: MessageOrigin,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_name: Option<String>,
    /// Always written: binaries before 2026-12-04 require it (a rollback reads new rows).
    #[serde(default)]
    pub mentions_me: bool,
    /// Written by a bot (Telegram tells): never answered.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub from_bot: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to_message_id: Option<String>,
    /// The client's key for a send request, to answer a retry with the first result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Sent through the client API: its channel, recipient and key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<ClientSend>,
    /// When it reached each status after its first.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reached: BTreeMap<MessageStatus, DateTime<Utc>>,
    /// An AI reply's log row, settled by the reports on its send (a relay phone's, a
    /// provider's late failure) as by the send itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_log_id: Option<AiLogId>,
    /// A `sending` message between two tries: the last one let its lease go, so the next takes
    /// the message at once.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lease_released: bool,
    /// A voice note, photo or file the customer sent; `text` is then its caption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<Media>,
    /// A WhatsApp template send, checked; `text` is then its rendered body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateMessage>,
    /// Why a failed send failed, when the contract names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<FailureCode>,
}

/// The named reasons a send fails; anything else a provider refuses is `provider_error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailureCode {
    OutsideServiceWindow,
    TemplateParamsMismatch,
    TemplateNotFound,
    TemplatePausedOrDisabled,
    MarketingLimit,
    Undeliverable,
    MarketingOptedOut,
    RecipientOptedOut,
    ProviderError,
}

impl FailureCode {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureCode::OutsideServiceWindow => "outside_service_window",
            FailureCode::TemplateParamsMismatch => "template_params_mismatch",
            FailureCode::TemplateNotFound => "template_not_found",
            FailureCode::TemplatePausedOrDisabled => "template_paused_or_disabled",
            FailureCode::MarketingLimit => "marketing_limit",
            FailureCode::Undeliverable => "undeliverable",
            FailureCode::MarketingOptedOut => "marketing_opted_out",
            FailureCode::RecipientOptedOut => "recipient_opted_out",
            FailureCode::ProviderError => "provider_error",
        }
    }
}

impl Message {
    /// Moves to `to` at `now`, remembering when.
    pub fn moved(&mut self, to: MessageStatus, now: DateTime<Utc>) {
        self.status = to;
        self.updated_at = now;
        self.reached.insert(to, now);
    }

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
            from_bot: false,
            reply_to_message_id: None,
            idempotency_key: None,
            error: None,
            ai_log_id: None,
            lease_released: false,
            media: None,
            template: None,
            error_code: None,
            created_at: now,
            updated_at: now,
            client: None,
            reached: BTreeMap::new(),
        }
    }

    /// The failure's snake_case code, for a failed send.
    pub fn error_code(&self) -> Option<&'static str> {
        (self.status == MessageStatus::Failed).then(|| {
            self.error_code
                .unwrap_or(FailureCode::ProviderError)
                .as_str()
        })
    }

    /// Whether the customer could have seen it: theirs, or a send that left (one waiting for
    /// confirmation, cancelled or failed never reached them).
    pub fn could_have_reached_the_customer(&self) -> bool {
        !self.from_me
            || !matches!(
                self.status,
                MessageStatus::PendingConfirmation
                    | MessageStatus::Cancelled
                    | MessageStatus::Failed
            )
    }

    pub fn is_inbound(&self) -> bool {
        !self.from_me
    }
}

/// The AI replies queued or sent since `since` among a chat's newest messages (newest first,
/// `asked` of them asked for), when those reach back that far or are the whole chat; `None`
/// when older replies may lie beyond them.
pub fn replies_among(newest_first: &[Message], asked: usize, since: DateTime<Utc>) -> Option<u32> {
    let whole_chat = newest_first.len() < asked;
    let reaches = newest_first.last().is_some_and(|m| m.created_at < since);
    (whole_chat || reaches).then(|| {
        newest_first
            .iter()
            .filter(|m| m.origin == MessageOrigin::Ai && m.created_at >= since)
            .filter(|m| {
                matches!(
                    m.status,
                    MessageStatus::Queued | MessageStatus::Sending | MessageStatus::Sent
                )
            })
            .count() as u32
    })
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
    /// Why a send failed (the provider's words included), or why it is being tried again.
    pub error: Option<String>,
    /// For a failed send: a named code (`outside_service_window`, `template_not_found` ...),
    /// else `provider_error`.
    pub error_code: Option<&'static str>,
    /// A voice note, photo or file, and what the AI made of it; `text` is then its caption.
    pub media: Option<MediaView>,
    pub created_at: DateTime<Utc>,
}

/// What `message.status` says, however the status changed (a send that failed, a provider's
/// report, a relay phone's).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StatusEvent {
    pub message_id: MessageId,
    pub provider_message_id: Option<String>,
    #[schema(value_type = String)]
    pub chat_id: ChatJid,
    pub status: MessageStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl StatusEvent {
    /// The event of a message as it stands after its change.
    pub fn of(m: &Message) -> Self {
        Self {
            message_id: m.id.clone(),
            provider_message_id: m.provider_message_id.clone(),
            chat_id: m.chat_id.clone(),
            status: m.status,
            error: m.error.clone(),
        }
    }
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
            error_code: m.error_code(),
            media: m.media.as_ref().map(MediaView::from),
            created_at: m.created_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASKED: usize = 20;

    fn message(origin: MessageOrigin, status: MessageStatus, minutes_ago: i64) -> Message {
        let mut m = Message::outbound(
            MessageId::from_ulid(ulid::Ulid::new()),
            &AccountId::from_ulid(ulid::Ulid::new()),
            ChatJid::parse("15551234567@s.whatsapp.net").expect("jid"),
            Some("x".into()),
            origin,
            Utc::now() - chrono::Duration::minutes(minutes_ago),
        );
        m.status = status;
        m
    }

    #[test]
    fn statuses_move_only_forward_and_never_out_of_a_final_one() {
        use MessageStatus::*;
        let order = [Queued, Sending, Sent, Delivered, Read];
        for (i, to) in order.iter().enumerate() {
            for (j, from) in order.iter().enumerate() {
                assert_eq!(
                    MessageStatus::forward_to(*to).contains(from),
                    j < i,
                    "{from:?} → {to:?}"
                );
            }
        }
        for to in [Sent, Delivered, Read, Failed] {
            assert!(!MessageStatus::forward_to(to).contains(&Failed));
            assert!(!MessageStatus::forward_to(to).contains(&Cancelled));
        }
        assert!(!MessageStatus::forward_to(Failed).contains(&Read));
    }

    #[test]
    fn replies_are_counted_from_the_newest_only_when_they_cover_the_hour() {
        let since = Utc::now() - chrono::Duration::hours(1);
        let short = vec![
            message(MessageOrigin::Ai, MessageStatus::Sent, 1),
            message(MessageOrigin::Ai, MessageStatus::Queued, 2),
            message(MessageOrigin::Ai, MessageStatus::Cancelled, 3),
            message(MessageOrigin::Api, MessageStatus::Sent, 4),
            message(MessageOrigin::Ai, MessageStatus::Sent, 90),
        ];
        assert_eq!(
            replies_among(&short, ASKED, since),
            Some(2),
            "the whole chat is here"
        );
        let busy: Vec<Message> = (0..ASKED as i64)
            .map(|i| message(MessageOrigin::Ai, MessageStatus::Sent, i))
            .collect();
        assert_eq!(
            replies_among(&busy, ASKED, since),
            None,
            "older replies may be past the page"
        );
        let mut reaching = busy.clone();
        reaching[ASKED - 1] = message(MessageOrigin::Contact, MessageStatus::Received, 61);
        assert_eq!(
            replies_among(&reaching, ASKED, since),
            Some(ASKED as u32 - 1)
        );
    }
}
