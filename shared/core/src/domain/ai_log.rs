//! AI log rows: one per inbound message the reply pipeline looked at, telling what it decided and
//! what came of it.

use super::chat::ChatJid;
use super::ids::{AccountId, AiLogId, MessageId};
use super::media::MediaUse;
use super::message::Message;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AiLogStatus {
    Skipped,
    Generated,
    Sent,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AiLog {
    pub id: AiLogId,
    pub account_id: AccountId,
    #[schema(value_type = String)]
    pub chat_id: ChatJid,
    pub inbound_message_id: Option<MessageId>,
    pub status: AiLogStatus,
    pub reason: Option<String>,
    pub model: Option<String>,
    pub latency_ms: Option<u64>,
    pub prompt_tokens: Option<u32>,
    pub completion_tokens: Option<u32>,
    pub reply: Option<String>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// The message that carries the reply, once one is generated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_message_id: Option<MessageId>,
    /// The voice notes and images read for this reply.
    #[serde(default)]
    pub media: Vec<MediaUse>,
}

impl AiLog {
    /// A row deciding on an inbound message, with nothing but its status set yet; its id is the
    /// message's (`AiLogId::deciding`).
    pub fn for_inbound(inbound: &Message, status: AiLogStatus, now: DateTime<Utc>) -> Self {
        Self {
            id: AiLogId::deciding(&inbound.id),
            account_id: inbound.account_id.clone(),
            chat_id: inbound.chat_id.clone(),
            inbound_message_id: Some(inbound.id.clone()),
            status,
            reason: None,
            model: None,
            latency_ms: None,
            prompt_tokens: None,
            completion_tokens: None,
            reply: None,
            error: None,
            created_at: now,
            sent_at: None,
            reply_message_id: None,
            media: Vec::new(),
        }
    }
}
