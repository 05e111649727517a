//! Client API keys: what an AI assistant's backend sends with, each carrying its policy (the
//! phones and channels it may use, who it may write to, how fast, and whether a person must
//! confirm each send).

use super::channel::Channel;
use super::ids::{AccountId, ApiKeyId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `["*"]` (everything) or a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope<T> {
    All,
    Only(Vec<T>),
}

impl<T: PartialEq> Scope<T> {
    pub fn allows(&self, item: &T) -> bool {
        match self {
            Scope::All => true,
            Scope::Only(items) => items.contains(item),
        }
    }
}

/// What a key may do. Checked on every send, in the order of the API's contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub phones: Scope<AccountId>,
    pub channels: Scope<Channel>,
    /// Recipients as normalized by their channel (`+15551234567`, `ann@example.com`); `None`:
    /// anyone. Never applies to `notify`, which goes to the phone itself.
    pub recipient_allowlist: Option<Vec<String>>,
    pub rate_limit_per_minute: u32,
    pub require_confirmation: bool,
}

impl Policy {
    pub fn allows_recipient(&self, channel: Channel, to: &str) -> bool {
        channel == Channel::Notify
            || self
                .recipient_allowlist
                .as_ref()
                .is_none_or(|list| list.iter().any(|allowed| allowed == to))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub name: String,
    pub policy: Policy,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_allowlist_holds_for_every_channel_but_notify() {
        let policy = Policy {
            phones: Scope::All,
            channels: Scope::Only(vec![Channel::Sms, Channel::Notify]),
            recipient_allowlist: Some(vec!["+15551234567".into()]),
            rate_limit_per_minute: 10,
            require_confirmation: false,
        };
        assert!(policy.allows_recipient(Channel::Sms, "+15551234567"));
        assert!(!policy.allows_recipient(Channel::Sms, "+15550000000"));
        assert!(policy.allows_recipient(Channel::Notify, ""));
        assert!(policy.channels.allows(&Channel::Sms));
        assert!(!policy.channels.allows(&Channel::Wa));
        let open = Policy {
            recipient_allowlist: None,
            ..policy
        };
        assert!(open.allows_recipient(Channel::Wa, "+15550000000"));
    }
}
