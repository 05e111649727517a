//! A relay phone's outbox: nothing is pushed to a relay phone; it pulls its queued messages,
//! each under a lease, and reports what became of them. A lease that runs out without a report
//! fails its message (`lease_expired`): a phone that sent but could not report must not be made
//! to send twice. A phone that reports `failed` with `not_sent` gets the message back.

use crate::domain::account::Account;
use crate::domain::ids::{AccountId, MessageId};
use crate::domain::message::{Message, MessageStatus};
use crate::domain::provider::ProviderKind;
use crate::error::AppError;
use crate::jobs::{self, Job};
use crate::ports::{MAX_QUEUE_DELAY, StatusChange};
use crate::services::Services;
use crate::usecases::statuses;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// The error a report of `failed` carries when the phone never sent the message.
pub const NOT_SENT: &str = "not_sent";
pub const LEASE_EXPIRED: &str = "lease_expired";

/// A relay phone's account, or 404 for any other: only relay phones have an outbox.
fn relay(account: &Account) -> Result<(), AppError> {
    if account.provider == ProviderKind::Relay {
        Ok(())
    } else {
        Err(AppError::NotFound("phone"))
    }
}

/// Hands the oldest queued messages to the phone, each leased for `lease`, and notes that the
/// phone was seen.
pub async fn take(
    s: &Services,
    account: &Account,
    limit: usize,
    lease: Duration,
) -> Result<(Vec<Message>, DateTime<Utc>), AppError> {
    relay(account)?;
    let now = s.clock.now();
    s.store.mark_seen(&account.id, now).await?;
    // To the millisecond, as every store keeps it: the lease's end names the lease.
    let until = now + chrono::Duration::from_std(lease).unwrap_or_default();
    let until = DateTime::from_timestamp_millis(until.timestamp_millis()).unwrap_or(until);
    let leased = s.store.lease_outbox(&account.id, limit, until).await?;
    let ends = leased
        .iter()
        .map(|m| lease_end(&m.account_id, &m.id, until).after(lease.min(MAX_QUEUE_DELAY)));
    jobs::enqueue(s, ends).await?;
    Ok((leased, until))
}

/// What a phone says of a message it took.
#[derive(Debug, Clone)]
pub struct Report {
    pub status: MessageStatus,
    pub error: Option<String>,
    pub provider_message_id: Option<String>,
}

/// Applies a phone's report. Repeating one changes nothing; a report never moves a message
/// back, but `failed` with `not_sent` on a leased message puts it back in the outbox.
pub async fn report(
    s: &Services,
    account: &Account,
    message_id: &MessageId,
    report: Report,
) -> Result<Message, AppError> {
    relay(account)?;
    let lease = s
        .store
        .outbox_lease(&account.id, message_id)
        .await?
        .ok_or(AppError::NotFound("message"))?;
    let current = || async {
        s.store
            .get_message(&account.id, &lease.chat, message_id)
            .await?
            .ok_or(AppError::NotFound("message"))
    };
    let message = current().await?;
    let not_sent =
        report.status == MessageStatus::Failed && report.error.as_deref() == Some(NOT_SENT);
    if not_sent
        && s.store
            .return_to_outbox(&account.id, message_id, lease.until)
            .await?
    {
        return current().await;
    }
    statuses::move_forward(
        s,
        &message,
        report.status,
        report.error.as_deref().map(|e| (e, None)),
        report.provider_message_id.as_deref(),
    )
    .await?;
    current().await
}

/// A lease ran out: the message fails unless the phone reported, or has it under a newer lease.
/// A lease longer than a queue can delay a job (SQS: 15 minutes) ends in hops.
pub async fn end_lease(
    s: &Services,
    account: &AccountId,
    message_id: &MessageId,
    until: DateTime<Utc>,
) -> Result<(), AppError> {
    let now = s.clock.now();
    if until > now {
        let rest = (until - now).to_std().unwrap_or_default();
        let hop = lease_end(account, message_id, until).after(rest.min(MAX_QUEUE_DELAY));
        jobs::enqueue(s, [hop]).await?;
        return Ok(());
    }
    let Some(lease) = s.store.outbox_lease(account, message_id).await? else {
        return Ok(());
    };
    if lease.until != until {
        return Ok(());
    }
    // Only a message still out with the phone fails: a report moved it on already.
    let change = StatusChange {
        from: &[MessageStatus::Sending],
        to: MessageStatus::Failed,
        provider_message_id: None,
        error: Some(LEASE_EXPIRED),
        code: None,
    };
    let Some(message) = s
        .store
        .get_message(account, &lease.chat, message_id)
        .await?
    else {
        return Ok(());
    };
    let moved = s
        .store
        .transition_message(account, &lease.chat, message_id, &change)
        .await?;
    if moved {
        statuses::after_move(
            s,
            &message,
            MessageStatus::Failed,
            Some(LEASE_EXPIRED),
            None,
        )
        .await?;
    }
    Ok(())
}

fn lease_end(account: &AccountId, message_id: &MessageId, until: DateTime<Utc>) -> Job {
    Job::LeaseEnd {
        account_id: account.clone(),
        message_id: message_id.clone(),
        until,
    }
}

/// The channel and recipient of a message as the phone sends it: from its chat
/// (`15551234567@sms` is an SMS to +15551234567).
pub fn recipient(message: &Message) -> (Option<&'static str>, String) {
    if let Some(client) = &message.client {
        return (Some(client.channel.as_str()), client.to.clone());
    }
    let chat = &message.chat_id;
    let channel =
        crate::domain::channel::Channel::of_chat_server(chat.server()).map(|c| c.as_str());
    let user = chat.user();
    let to = match channel {
        Some("sms") | Some("wa") if user.bytes().all(|b| b.is_ascii_digit()) => {
            format!("+{user}")
        }
        _ => user.to_string(),
    };
    (channel, to)
}
