//! Events: built here, put on the webhook queue when a subscription wants them (never sent
//! from the request path), and fanned out to subscriptions by the webhook consumer.

use crate::domain::event::{Event, EventType};
use crate::domain::ids::{AccountId, EventId, MessageId};
use crate::error::AppError;
use crate::jobs::{self, Job};
use crate::services::Services;
use serde::Serialize;

pub fn new_event(
    s: &Services,
    event_type: EventType,
    account: Option<&AccountId>,
    data: impl Serialize,
) -> Event {
    Event {
        id: EventId::from_ulid(s.ids.next_ulid()),
        event_type,
        created_at: s.clock.now(),
        account_id: account.cloned(),
        data: serde_json::to_value(data).unwrap_or(serde_json::Value::Null),
    }
}

/// Builds an event and puts it on the webhook queue.
pub async fn emit(
    s: &Services,
    event_type: EventType,
    account: Option<&AccountId>,
    data: impl Serialize,
) -> Result<(), AppError> {
    let event = new_event(s, event_type, account, data);
    jobs::enqueue(s, [Job::Event(event).now()]).await
}

/// The id of the one `message.received` event of a message: derived from the message, so that
/// dispatching it again (after a retried ingest) yields the same id and receivers can dedupe.
pub fn received_event_id(message: &MessageId) -> EventId {
    let ulid = message.as_str().trim_start_matches(MessageId::PREFIX);
    EventId::from_trusted(format!("{}{ulid}", EventId::PREFIX))
}
