//! Reports on messages the account sent (a provider's status webhook, a relay phone's report):
//! a message's status only moves forward, and each move is told as `message.status`.

use crate::domain::chat::ChatJid;
use crate::domain::event::EventType;
use crate::domain::ids::{AccountId, MessageId};
use crate::domain::inbound::StatusReport;
use crate::domain::message::{Message, MessageStatus};
use crate::error::AppError;
use crate::jobs::{self, Job};
use crate::ports::StatusChange;
use crate::services::Services;
use crate::usecases::events;
use std::time::Duration;

/// Looks for a report's message this many times (the first at once) before giving up on it.
const LOOKS: u32 = 4;
/// Between looks: the send that names the provider's id settles within this, as a rule.
const LOOK_AGAIN_AFTER: Duration = Duration::from_secs(5);

/// Applies a provider's report to the message with its id. A report can outrun the answer to
/// the send it is about; its message is then looked for again a little later.
pub async fn apply(
    s: &Services,
    account: &AccountId,
    report: StatusReport,
    look: u32,
) -> Result<(), AppError> {
    let found = s
        .store
        .find_by_provider_id(account, &report.provider_message_id)
        .await?;
    match found {
        Some(message) if message.from_me => {
            let error = report.error.as_deref();
            move_forward(s, &message, report.status, error, None).await?;
        }
        Some(_) => {}
        None if look + 1 < LOOKS => {
            let again = Job::Status {
                account_id: account.clone(),
                report,
                attempt: look + 1,
            };
            jobs::enqueue(s, [again.after(LOOK_AGAIN_AFTER)]).await?;
        }
        None => {
            tracing::info!(%account, provider_message_id = %report.provider_message_id,
                "a status report names no message of this account; dropped");
        }
    }
    Ok(())
}

/// Moves a message to `to` if that is forward from where it is, and tells `message.status`;
/// false when it did not move (a late or repeated report).
pub async fn move_forward(
    s: &Services,
    message: &Message,
    to: MessageStatus,
    error: Option<&str>,
    provider_message_id: Option<&str>,
) -> Result<bool, AppError> {
    let change = StatusChange {
        from: MessageStatus::forward_to(to),
        to,
        provider_message_id,
        error,
    };
    let moved = s
        .store
        .transition_message(&message.account_id, &message.chat_id, &message.id, &change)
        .await?;
    if moved {
        tell(
            s,
            &message.account_id,
            &message.chat_id,
            &message.id,
            provider_message_id.or(message.provider_message_id.as_deref()),
            to,
            error,
        )
        .await?;
    }
    Ok(moved)
}

/// Emits `message.status` for a message that moved.
pub async fn tell(
    s: &Services,
    account: &AccountId,
    chat: &ChatJid,
    message: &MessageId,
    provider_message_id: Option<&str>,
    status: MessageStatus,
    error: Option<&str>,
) -> Result<(), AppError> {
    let mut data = serde_json::json!({
        "message_id": message,
        "provider_message_id": provider_message_id,
        "chat_id": chat,
        "status": status.as_str(),
    });
    if let Some(error) = error {
        data["error"] = serde_json::Value::String(error.to_string());
    }
    events::emit(s, EventType::MessageStatus, Some(account), data).await
}
