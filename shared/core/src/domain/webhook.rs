//! Webhook subscriptions: where events go, which ones, and for which account.

use super::event::EventType;
use super::ids::{AccountId, WebhookId};
use super::provider::SealedSecret;
use super::validation::HttpUrl;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Which events a subscription wants: all of them (`["*"]`) or a set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventFilter {
    All,
    Only(Vec<EventType>),
}

impl EventFilter {
    pub fn matches(&self, t: EventType) -> bool {
        match self {
            EventFilter::All => true,
            EventFilter::Only(types) => types.contains(&t),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub id: WebhookId,
    pub url: HttpUrl,
    pub events: EventFilter,
    /// `None`: every account's events.
    pub account_id: Option<AccountId>,
    pub disabled: bool,
    pub secret: SealedSecret,
    pub created_at: DateTime<Utc>,
}

impl Subscription {
    pub fn wants(&self, t: EventType, account: Option<&AccountId>) -> bool {
        !self.disabled
            && self.events.matches(t)
            && match &self.account_id {
                None => true,
                Some(scope) => account == Some(scope),
            }
    }
}
