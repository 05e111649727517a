//! Accounts: one sending identity (a WhatsApp number, a Telegram bot, a relay phone ...).

use super::consent::ConsentWords;
use super::ids::AccountId;
use super::provider::{ProviderKind, StoredProviderConfig};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub provider: ProviderKind,
    pub provider_config: StoredProviderConfig,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When a relay phone last polled its outbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_at: Option<DateTime<Utc>>,
    /// The words its contacts opt out and back in with, and the answer to an opt-out.
    #[serde(default, flatten)]
    pub consent: ConsentWords,
}

/// SHA-256 of an account token, hex-encoded: all the store ever holds of a token.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenHash(pub String);
