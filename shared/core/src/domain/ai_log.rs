//! AI log rows: one per inbound message the reply pipeline looked at, telling what it decided and
//! what came of it.

use super::chat::ChatJid;
use super::ids::{AccountId, AiLogId, MessageId};
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
}
