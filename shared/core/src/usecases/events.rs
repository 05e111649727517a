//! Events: built here, put on the webhook queue (never sent from the request path), and fanned
//! out to subscriptions by the webhook consumer.

use crate::domain::event::{Event, EventType};
use crate::domain::ids::{AccountId, EventId, MessageId};
use crate::jobs::{Job, JobFailure};
use crate::services::Services;
use serde::Serialize;
use std::time::Duration;

pub fn new_event(
    s: &Services,
    event_type: EventType,
    account: &AccountId,
    data: impl Serialize,
) -> Event {
    Event {
        id: EventId::from_ulid(s.ids.next_ulid()),
        event_type,
        created_at: s.clock.now(),
        account_id: Some(account.clone()),
        data: serde_json::to_value(data).unwrap_or(serde_json::Value::Null),
    }
}

/// The id of the one `message.received` event of a message: derived from the message, so that
/// dispatching it again (after a retried ingest) yields the same id and receivers can dedupe.
pub fn received_event_id(message: &MessageId) -> EventId {
    let ulid = message.as_str().trim_start_matches(MessageId::PREFIX);
    EventId::from_trusted(format!("{}{ulid}", EventId::PREFIX))
}

pub fn as_job(event: Event) -> (Job, Duration) {
    (Job::Event(event), Duration::ZERO)
}

/// Consumes an event from the webhook queue. Subscriptions and signed delivery come with the
/// webhooks API; until then no endpoint is subscribed, so the event is recorded in the log and
/// done.
pub async fn fan_out(_s: &Services, event: &Event) -> Result<(), JobFailure> {
    tracing::debug!(event_id = %event.id, event_type = event.event_type.as_str(), "event has no subscriptions");
    Ok(())
}
