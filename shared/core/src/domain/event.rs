//! Events told to the business's systems through webhooks, in the documented envelope
//! `{"id": "evt_...", "type", "created_at", "account_id", "data": {...}}`.

use super::ids::{AccountId, EventId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum EventType {
    #[serde(rename = "message.received")]
    MessageReceived,
    #[serde(rename = "message.sent")]
    MessageSent,
    #[serde(rename = "message.status")]
    MessageStatus,
    #[serde(rename = "ai.reply.generated")]
    AiReplyGenerated,
    #[serde(rename = "ai.reply.sent")]
    AiReplySent,
    #[serde(rename = "ai.reply.failed")]
    AiReplyFailed,
    #[serde(rename = "ai.reply.skipped")]
    AiReplySkipped,
    #[serde(rename = "message.media_processed")]
    MessageMediaProcessed,
    #[serde(rename = "contact.opted_out")]
    ContactOptedOut,
    #[serde(rename = "contact.opted_in")]
    ContactOptedIn,
    /// A subscription was disabled after failing for too long (or answering 410).
    #[serde(rename = "webhook.disabled")]
    WebhookDisabled,
    /// Sent by `POST /v1/webhooks/{id}/test` to that subscription only.
    #[serde(rename = "webhook.test")]
    WebhookTest,
}

impl EventType {
    pub const ALL: [EventType; 12] = [
        EventType::MessageReceived,
        EventType::MessageSent,
        EventType::MessageStatus,
        EventType::AiReplyGenerated,
        EventType::AiReplySent,
        EventType::AiReplyFailed,
        EventType::AiReplySkipped,
        EventType::MessageMediaProcessed,
        EventType::ContactOptedOut,
        EventType::ContactOptedIn,
        EventType::WebhookDisabled,
        EventType::WebhookTest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::MessageReceived => "message.received",
            EventType::MessageSent => "message.sent",
            EventType::MessageStatus => "message.status",
            EventType::AiReplyGenerated => "ai.reply.generated",
            EventType::AiReplySent => "ai.reply.sent",
            EventType::AiReplyFailed => "ai.reply.failed",
            EventType::AiReplySkipped => "ai.reply.skipped",
            EventType::MessageMediaProcessed => "message.media_processed",
            EventType::ContactOptedOut => "contact.opted_out",
            EventType::ContactOptedIn => "contact.opted_in",
            EventType::WebhookDisabled => "webhook.disabled",
            EventType::WebhookTest => "webhook.test",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// What `data` holds: one shape per event name, whatever step emits it.
    pub fn payload(self) -> Payload {
        match self {
            EventType::MessageReceived | EventType::MessageSent => Payload::Message,
            EventType::MessageStatus => Payload::Status,
            EventType::AiReplyGenerated
            | EventType::AiReplySent
            | EventType::AiReplyFailed
            | EventType::AiReplySkipped => Payload::AiLog,
            EventType::MessageMediaProcessed => Payload::MediaProcessed,
            EventType::ContactOptedOut | EventType::ContactOptedIn => Payload::Consent,
            EventType::WebhookDisabled => Payload::WebhookDisabled,
            EventType::WebhookTest => Payload::WebhookTest,
        }
    }
}

/// The shapes of an event's `data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// The message as the API shows it (`MessageView`).
    Message,
    /// `StatusEvent`: the message's id, its provider's id, its chat, its status and error.
    Status,
    /// The AI log row (`AiLog`), as `GET /v1/ai/logs` shows it.
    AiLog,
    /// `MediaProcessed`: what became of a message's voice note or image.
    MediaProcessed,
    /// `ConsentChanged`: a contact opted out or back in.
    Consent,
    WebhookDisabled,
    WebhookTest,
}

/// `webhook.disabled`: a subscription stopped after failing for too long (or answering 410).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WebhookDisabled {
    pub webhook_id: super::ids::WebhookId,
    pub url: String,
    pub reason: String,
}

/// `webhook.test`: sent by `POST /v1/webhooks/{id}/test` to that subscription only.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WebhookTest {
    pub webhook_id: super::ids::WebhookId,
    pub message: String,
}

/// `contact.opted_out` and `contact.opted_in`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ConsentChanged {
    #[schema(value_type = String, example = "15551234567@s.whatsapp.net")]
    pub chat_id: super::chat::ChatJid,
    pub scope: super::consent::ConsentScope,
    pub source: super::consent::OptOutSource,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Event {
    pub id: EventId,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub created_at: DateTime<Utc>,
    pub account_id: Option<AccountId>,
    pub data: serde_json::Value,
}
