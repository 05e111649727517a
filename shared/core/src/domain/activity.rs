//! What an account did: messages in and out and the AI's replies, counted per hour as the
//! events that tell them are queued, so the overview reads a day of an account in one small
//! read instead of counting its messages.

use crate::domain::event::{Event, EventType};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::Serialize;

/// Counts over a while (one hour in the store; summed for the overview).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Activity {
    /// Messages from contacts.
    pub messages_in: u64,
    /// Messages sent to contacts (by the API, the AI, or a human of the account).
    pub messages_out: u64,
    pub ai_sent: u64,
    pub ai_skipped: u64,
    pub ai_failed: u64,
}

impl Activity {
    /// The names the stores keep each count under.
    pub const FIELDS: [&'static str; 5] = [
        "messages_in",
        "messages_out",
        "ai_sent",
        "ai_skipped",
        "ai_failed",
    ];

    pub fn counts(&self) -> [u64; 5] {
        [
            self.messages_in,
            self.messages_out,
            self.ai_sent,
            self.ai_skipped,
            self.ai_failed,
        ]
    }

    pub fn from_counts(c: [u64; 5]) -> Self {
        Self {
            messages_in: c[0],
            messages_out: c[1],
            ai_sent: c[2],
            ai_skipped: c[3],
            ai_failed: c[4],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.counts().iter().all(|n| *n == 0)
    }

    pub fn add(&mut self, other: &Activity) {
        let mut sum = self.counts();
        for (a, b) in sum.iter_mut().zip(other.counts()) {
            *a += b;
        }
        *self = Self::from_counts(sum);
    }

    /// What one event adds, when it tells something the overview counts. A human of the
    /// account writing from the phone arrives as a received message `from_me`: it went out.
    pub fn of_event(event: &Event) -> Option<Activity> {
        let from_me = || event.data.get("from_me").and_then(|v| v.as_bool());
        let mut a = Activity::default();
        match event.event_type {
            EventType::MessageReceived if from_me() == Some(true) => a.messages_out = 1,
            EventType::MessageReceived => a.messages_in = 1,
            EventType::MessageSent => a.messages_out = 1,
            EventType::AiReplySent => a.ai_sent = 1,
            EventType::AiReplySkipped => a.ai_skipped = 1,
            EventType::AiReplyFailed => a.ai_failed = 1,
            _ => return None,
        }
        Some(a)
    }
}

/// The hour a time is counted in.
pub fn hour_of(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(TimeDelta::hours(1)).unwrap_or(at)
}

/// The overview's while: the last 24 hours, counted from the start of the hour 23 hours ago
/// (so the current hour counts, as far as it went).
pub fn day_before(now: DateTime<Utc>) -> DateTime<Utc> {
    hour_of(now) - TimeDelta::hours(23)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::EventId;
    use serde_json::json;

    fn event(event_type: EventType, data: serde_json::Value) -> Event {
        Event {
            id: EventId::from_trusted("evt_1"),
            event_type,
            created_at: Utc::now(),
            account_id: None,
            data,
        }
    }

    #[test]
    fn each_counted_event_adds_one_to_its_count() {
        let received = |from_me| event(EventType::MessageReceived, json!({"from_me": from_me}));
        assert_eq!(
            Activity::of_event(&received(false))
                .expect("counted")
                .messages_in,
            1
        );
        assert_eq!(
            Activity::of_event(&received(true))
                .expect("counted")
                .messages_out,
            1
        );
        let mut total = Activity::default();
        for t in [
            EventType::MessageSent,
            EventType::AiReplySent,
            EventType::AiReplySkipped,
            EventType::AiReplyFailed,
        ] {
            total.add(&Activity::of_event(&event(t, json!({}))).expect("counted"));
        }
        assert_eq!(total.counts(), [0, 1, 1, 1, 1]);
        assert!(Activity::of_event(&event(EventType::MessageStatus, json!({}))).is_none());
    }

    #[test]
    fn a_day_starts_23_hours_before_this_hour() {
        let now: DateTime<Utc> = "2026-12-03T19:42:10Z".parse().expect("a time");
        assert_eq!(hour_of(now).to_rfc3339(), "2026-12-03T19:00:00+00:00");
        assert_eq!(day_before(now).to_rfc3339(), "2026-12-02T20:00:00+00:00");
    }
}
