//! Webhook subscriptions (where events go, which ones, for which account), the record of every
//! delivery attempt, and the retry schedule.

use super::event::{Event, EventType};
use super::ids::{AccountId, EventId, WebhookId};
use super::secret::SealedSecret;
use super::validation::HttpUrl;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

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

    /// As the API shows it: `["*"]` or the type names.
    pub fn names(&self) -> Vec<String> {
        match self {
            EventFilter::All => vec!["*".into()],
            EventFilter::Only(types) => types.iter().map(|t| t.as_str().to_string()).collect(),
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
    #[serde(default)]
    pub disabled_reason: Option<String>,
    /// Since when every attempt failed; cleared by a success.
    #[serde(default)]
    pub failing_since: Option<DateTime<Utc>>,
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

/// One attempt to deliver an event to one subscription, as a job carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    pub webhook_id: WebhookId,
    pub event: Event,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// A retry due later than a queue can delay a job waits out the rest in hops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<DateTime<Utc>>,
    /// Times it was put back because its endpoint had its share of deliveries running.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub deferred: u32,
}

impl WebhookDelivery {
    /// The first attempt of an event to a subscription.
    pub fn first(webhook_id: WebhookId, event: Event) -> Self {
        Self {
            webhook_id,
            event,
            attempt: 1,
            not_before: None,
            deferred: 0,
        }
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttemptStatus {
    /// 2xx.
    Succeeded,
    /// Failed; another attempt is scheduled at `next_retry_at`.
    Retrying,
    /// Failed, and it was the last attempt (or the endpoint is gone): the delivery is dead.
    Failed,
}

/// One attempt to deliver one event to one subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeliveryAttempt {
    #[schema(value_type = String)]
    pub webhook_id: WebhookId,
    #[schema(value_type = String)]
    pub event_id: EventId,
    pub event_type: EventType,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub status: AttemptStatus,
    /// The receiver's HTTP status, when it answered.
    pub status_code: Option<u16>,
    pub latency_ms: u64,
    pub error: Option<String>,
    pub next_retry_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// The delays before each retry; the first attempt is immediate. The standard one spans more
/// than a day, as the Standard Webhooks specification suggests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(Vec<Duration>);

impl RetrySchedule {
    pub fn standard() -> Self {
        let minutes = |m: u64| Duration::from_secs(60 * m);
        let hours = |h: u64| Duration::from_secs(3600 * h);
        Self(vec![
            Duration::from_secs(5),
            minutes(5),
            minutes(30),
            hours(2),
            hours(5),
            hours(10),
            hours(10),
        ])
    }

    /// Seconds between attempts, comma-separated (`5,300,1800`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let delays = text
            .split(',')
            .map(|part| {
                part.trim()
                    .parse::<u64>()
                    .map(Duration::from_secs)
                    .map_err(|_| format!("`{}` is not a number of seconds", part.trim()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self(delays))
    }

    /// Attempts in all, the first included.
    pub fn attempts(&self) -> u32 {
        self.0.len() as u32 + 1
    }

    /// The delay before attempt `next` (2 for the first retry); `None` past the last.
    pub fn delay_before(&self, next: u32) -> Option<Duration> {
        let index = usize::try_from(next.checked_sub(2)?).ok()?;
        self.0.get(index).copied()
    }

    /// From the first attempt to the last.
    pub fn span(&self) -> Duration {
        self.0.iter().sum()
    }
}

/// Spreads retries of many deliveries that failed together: up to a tenth more.
pub fn with_jitter(delay: Duration, unit_random: f64) -> Duration {
    delay + delay.mul_f64(unit_random.clamp(0.0, 1.0) / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_schedule_spans_more_than_a_day_with_growing_delays() {
        let s = RetrySchedule::standard();
        assert!(s.span() >= Duration::from_secs(24 * 3600), "{:?}", s.span());
        assert_eq!(s.attempts(), 8);
        assert_eq!(s.delay_before(1), None);
        assert_eq!(s.delay_before(2), Some(Duration::from_secs(5)));
        assert_eq!(s.delay_before(8), Some(Duration::from_secs(36_000)));
        assert_eq!(s.delay_before(9), None);
        let delays: Vec<_> = (2..=8).filter_map(|n| s.delay_before(n)).collect();
        assert!(delays.windows(2).all(|w| w[0] <= w[1]), "{delays:?}");
    }

    #[test]
    fn a_schedule_parses_from_seconds() {
        let s = RetrySchedule::parse("1, 2,3").expect("parse");
        assert_eq!(s.attempts(), 4);
        assert_eq!(s.delay_before(4), Some(Duration::from_secs(3)));
        assert!(RetrySchedule::parse("1,x").is_err());
    }

    #[test]
    fn jitter_adds_at_most_a_tenth() {
        let d = Duration::from_secs(100);
        assert_eq!(with_jitter(d, 0.0), d);
        assert_eq!(with_jitter(d, 1.0), Duration::from_secs(110));
        assert_eq!(with_jitter(d, 7.0), Duration::from_secs(110));
    }
}
