//! Reports on messages the account sent (a provider's status webhook, a relay phone's report):
//! a message's status only moves forward, and each move is told as `message.status`.

use crate::domain::ai_log::AiLogStatus;
use crate::domain::event::EventType;
use crate::domain::ids::AccountId;
use crate::domain::inbound::StatusReport;
use crate::domain::message::{FailureCode, Message, MessageStatus, StatusEvent};
use crate::error::AppError;
use crate::jobs::{self, Job};
use crate::ports::StatusChange;
use crate::services::Services;
use crate::usecases::{consent, events};
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
            if report.code == Some(FailureCode::MarketingOptedOut) {
                consent::marketing_stopped(s, &message).await?;
            }
            // A report that tells nothing new (Meta's `sent` after the send recorded it, a
            // `delivered` overtaken by `read`) costs no write: a status only moves forward, so
            // the message as just read cannot be further along than the store has it.
            if !MessageStatus::forward_to(report.status).contains(&message.status) {
                return Ok(());
            }
            let error = report.error.as_deref();
            let failure = error.map(|e| (e, report.code));
            move_forward(s, &message, report.status, failure, None).await?;
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
/// false when it did not move (a late or repeated report). An AI reply's log row follows.
pub async fn move_forward(
    s: &Services,
    message: &Message,
    to: MessageStatus,
    failure: Option<(&str, Option<FailureCode>)>,
    provider_message_id: Option<&str>,
) -> Result<bool, AppError> {
    let error = failure.map(|(e, _)| e);
    let change = StatusChange {
        from: MessageStatus::forward_to(to),
        to,
        provider_message_id,
        error,
        code: failure.and_then(|(_, code)| code),
    };
    let moved = s
        .store
        .transition_message(&message.account_id, &message.chat_id, &message.id, &change)
        .await?;
    if moved {
        after_move(s, message, to, error, provider_message_id).await?;
    }
    Ok(moved)
}

/// What follows a message's move to `to` (`message` is how it stood before): `message.status`,
/// and its AI reply's log row where it has one.
pub async fn after_move(
    s: &Services,
    message: &Message,
    to: MessageStatus,
    error: Option<&str>,
    provider_message_id: Option<&str>,
) -> Result<(), AppError> {
    let mut now = message.clone();
    now.status = to;
    now.provider_message_id = provider_message_id
        .map(str::to_string)
        .or(now.provider_message_id);
    now.error = error.map(str::to_string).or(now.error);
    events::emit(
        s,
        EventType::MessageStatus,
        Some(&message.account_id),
        StatusEvent::of(&now),
    )
    .await?;
    settle_reply_log(s, message, to, error).await
}

/// A report settles an AI reply's log row when the send could not: a relay phone's `sent` is
/// the reply's send, and a late `failed` (WhatsApp's 131047 after Meta accepted the send)
/// undoes one. A report on a reply that was already sent changes nothing, and reads nothing.
async fn settle_reply_log(
    s: &Services,
    message: &Message,
    to: MessageStatus,
    error: Option<&str>,
) -> Result<(), AppError> {
    let Some(id) = &message.ai_log_id else {
        return Ok(());
    };
    let not_yet_sent = message.status < MessageStatus::Sent;
    let (from, status, event) = match to {
        MessageStatus::Failed => (
            &[AiLogStatus::Generated, AiLogStatus::Sent][..],
            AiLogStatus::Failed,
            EventType::AiReplyFailed,
        ),
        MessageStatus::Sent | MessageStatus::Delivered | MessageStatus::Read if not_yet_sent => (
            &[AiLogStatus::Generated][..],
            AiLogStatus::Sent,
            EventType::AiReplySent,
        ),
        _ => return Ok(()),
    };
    let Some(mut row) = s
        .store
        .get_ai_log(&message.account_id, &message.chat_id, id)
        .await?
    else {
        return Ok(());
    };
    if !from.contains(&row.status) {
        return Ok(());
    }
    let was = row.status;
    row.status = status;
    match status {
        AiLogStatus::Failed => row.error = error.map(str::to_string),
        _ => row.sent_at = Some(s.clock.now()),
    }
    if s.store.update_ai_log_if(was, &row).await? {
        events::emit(s, event, Some(&row.account_id), &row).await?;
    }
    Ok(())
}
