//! The client API's audit: one row per decision (a send accepted, replayed, refused, confirmed,
//! cancelled or expired, and every key created or deleted), with who asked and why it ended as
//! it did.

use super::channel::Channel;
use super::ids::{AccountId, ApiKeyId, AuditId, MessageId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    Send,
    Draft,
    Replay,
    Confirm,
    Cancel,
    Expire,
    KeyCreate,
    KeyDelete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// Done as asked: queued, or waiting for confirmation.
    Accepted,
    /// Refused; `code` and `reason` say why.
    Refused,
}

impl AuditOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Accepted => "accepted",
            AuditOutcome::Refused => "refused",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: AuditId,
    pub at: DateTime<Utc>,
    /// `key:<id>` or `admin:<subject>`; `system` for an expiry.
    pub actor: String,
    /// The key the decision was about (the caller's, or the key created or deleted).
    pub key_id: Option<ApiKeyId>,
    pub action: AuditAction,
    pub outcome: AuditOutcome,
    /// The refusal's error code.
    pub code: Option<String>,
    pub reason: Option<String>,
    pub phone_id: Option<AccountId>,
    pub channel: Option<Channel>,
    /// The recipient as normalized by its channel.
    pub to: Option<String>,
    pub message_id: Option<MessageId>,
}
