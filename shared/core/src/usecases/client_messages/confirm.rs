//! A person (or the key's backend) confirms a pending send, someone cancels a send that has not
//! gone out, or its time for confirmation runs out (the expiry job).

use super::decision::{Decision, audit_of, decide, lapse, reread};
use super::read::get;
use super::send::start;
use crate::domain::chat::ChatJid;
use crate::domain::ids::{AccountId, MessageId};
use crate::domain::message::{Message, MessageStatus};
use crate::error::AppError;
use crate::jobs::{self, Job, JobFailure};
use crate::services::Services;
use crate::usecases::api_keys::Client;
use crate::usecases::audit::Audit;
use crate::usecases::consent;

/// A person (or the key's backend) said yes: the send is queued. Confirming twice is harmless;
/// a cancelled or expired send is 409.
pub async fn confirm(s: &Services, client: &Client, id: &MessageId) -> Result<Message, AppError> {
    let m = get(s, client, id).await?;
    let mut audit = audit_of(s, client.actor(), &m, Decision::Confirm);
    let confirmed = confirm_read(s, m, &mut audit).await;
    audit.settle(s, confirmed).await
}

async fn confirm_read(s: &Services, m: Message, audit: &mut Audit) -> Result<Message, AppError> {
    match m.status {
        MessageStatus::PendingConfirmation => {
            // The contact may have opted out while the send waited for a person.
            let chat = s.store.get_chat(&m.account_id, &m.chat_id).await?;
            let marketing = m
                .template
                .as_ref()
                .is_some_and(|t| t.category.eq_ignore_ascii_case("MARKETING"));
            consent::refuse_opted_out(chat.as_ref(), marketing)?;
            if decide(s, &m, Decision::Confirm, audit).await? {
                let mut queued = m.clone();
                queued.status = MessageStatus::Queued;
                start(s, &queued).await?;
            }
            let m = reread(s, &m.id).await?;
            if m.status == MessageStatus::Cancelled {
                return Err(cancelled(&m));
            }
            Ok(m)
        }
        MessageStatus::Cancelled => Err(cancelled(&m)),
        _ => {
            audit.unchanged();
            Ok(m)
        }
    }
}

fn cancelled(m: &Message) -> AppError {
    AppError::conflict(
        "message_cancelled",
        format!(
            "the message was cancelled ({}) and cannot be confirmed",
            m.error.as_deref().unwrap_or("cancelled")
        ),
    )
}

/// The send will not go out: a pending or still queued message is cancelled. Cancelling twice
/// is harmless; one already sent is 409.
pub async fn cancel(s: &Services, client: &Client, id: &MessageId) -> Result<Message, AppError> {
    let m = get(s, client, id).await?;
    let mut audit = audit_of(s, client.actor(), &m, Decision::Cancel);
    let cancelled = cancel_read(s, m, &mut audit).await;
    audit.settle(s, cancelled).await
}

async fn cancel_read(s: &Services, m: Message, audit: &mut Audit) -> Result<Message, AppError> {
    match m.status {
        MessageStatus::PendingConfirmation | MessageStatus::Queued => {
            decide(s, &m, Decision::Cancel, audit).await?;
            let m = reread(s, &m.id).await?;
            if m.status == MessageStatus::Cancelled {
                Ok(m)
            } else {
                Err(too_late(&m))
            }
        }
        MessageStatus::Cancelled => {
            audit.unchanged();
            Ok(m)
        }
        _ => Err(too_late(&m)),
    }
}

fn too_late(m: &Message) -> AppError {
    AppError::conflict(
        "message_not_cancellable",
        format!("the message is already {}", m.status.as_str()),
    )
}

/// The expiry job: a send still pending when its time is up is cancelled as `expired`.
pub async fn expire(
    s: &Services,
    account: &AccountId,
    chat: &ChatJid,
    id: &MessageId,
) -> Result<(), JobFailure> {
    let Some(m) = s.store.get_message(account, chat, id).await? else {
        return Ok(());
    };
    let Some(at) = m.client.as_ref().and_then(|c| c.expires_at) else {
        return Ok(());
    };
    if m.status != MessageStatus::PendingConfirmation {
        return Ok(());
    }
    let now = s.clock.now();
    if at > now {
        // Early (a queue's delay is capped): wait for the rest.
        let rest = (at - now).to_std().unwrap_or_default();
        jobs::enqueue(s, [Job::expire(&m).after(rest)]).await?;
        return Ok(());
    }
    lapse(s, &m).await?;
    Ok(())
}
