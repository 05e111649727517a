//! Outbound messages: accepted and queued by the API, then sent by the outbound consumer through
//! the account's provider.

use crate::domain::account::Account;
use crate::domain::ai_log::{AiLog, AiLogStatus};
use crate::domain::audit::AuditAction;
use crate::domain::chat::{Chat, ChatJid};
use crate::domain::event::EventType;
use crate::domain::ids::{AccountId, AiLogId, MessageId};
use crate::domain::message::{
    FailureCode, Message, MessageOrigin, MessageStatus, MessageView, StatusEvent,
};
use crate::domain::provider::ProviderKind;
use crate::domain::template::TemplateMessage;
use crate::error::AppError;
use crate::jobs::{self, Job, JobFailure};
use crate::ports::{
    Claim, MAX_QUEUE_DELAY, OutgoingText, ProviderError, Rate, Recorded, StatusChange,
};
use crate::reply_gate::HISTORY;
use crate::services::Services;
use crate::usecases::audit::Audit;
use crate::usecases::reach::{self, Content, Outgoing};
use crate::usecases::{accounts, consent, events};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SendRequest {
    pub chat_id: ChatJid,
    /// The text, or a template's rendered body.
    pub text: String,
    pub template: Option<TemplateMessage>,
    pub idempotency_key: Option<String>,
    /// `Api`, or `AccountHuman` for a person of the account answering through Switchboard.
    pub origin: MessageOrigin,
}

#[derive(Debug)]
pub struct Accepted {
    pub message: Message,
    /// The idempotency key was seen before with the same request: this is the first answer.
    pub replayed: bool,
}

/// Stores a send of a known account and queues it; a repeated idempotency key answers with the
/// first result.
pub async fn queue_send(
    s: &Services,
    account: &AccountId,
    req: SendRequest,
) -> Result<Accepted, AppError> {
    let mut message = Message::outbound(
        MessageId::from_ulid(s.ids.next_ulid()),
        account,
        req.chat_id,
        Some(req.text),
        req.origin,
        s.clock.now(),
    );
    message.idempotency_key = req.idempotency_key;
    message.template = req.template;
    match s.store.record_outbound(&message).await? {
        Recorded::New(stored) => {
            enqueue_send(s, &stored).await?;
            Ok(Accepted {
                message: stored,
                replayed: false,
            })
        }
        Recorded::Existing(first) => {
            if first.chat_id != message.chat_id
                || first.text != message.text
                || first.template != message.template
            {
                return Err(AppError::conflict(
                    "idempotency_conflict",
                    "this idempotency_key was used with a different request",
                ));
            }
            // A first attempt that stored the message but failed to queue it is finished here.
            if first.status == MessageStatus::Queued {
                enqueue_send(s, &first).await?;
            }
            Ok(Accepted {
                message: first,
                replayed: true,
            })
        }
    }
}

/// Whether a send of the account's own API may reach its contact (consent, the window, the
/// template: `reach::check`); a refusal is audited as the client API's are.
pub async fn reach_or_refuse(
    s: &Services,
    account: &Account,
    chat: &ChatJid,
    content: Content<'_>,
) -> Result<Outgoing, AppError> {
    let checked = reach::check(s, account, chat, content).await;
    if checked.is_ok() {
        return checked;
    }
    let actor = format!("account:{}", account.id);
    let mut audit = Audit::new(s, actor, None, AuditAction::Send);
    audit.about(Some(account.id.clone()), None, Some(chat.to_string()));
    audit.settle(s, checked).await
}

/// Queues the send of a stored message, at once.
pub async fn enqueue_send(s: &Services, message: &Message) -> Result<(), AppError> {
    jobs::enqueue(s, [Job::send(message).now()]).await
}

/// The AI log row a send belongs to, when the message is an AI reply.
#[derive(Debug, Clone, Copy)]
pub struct AiReply<'a> {
    pub log: &'a AiLogId,
    /// Debounce was on: a newer inbound message makes this reply stale.
    pub withdraw_if_newer: bool,
}

/// How long a send may stay `sending` before another run takes it over: longer than a
/// provider call can take, so a slow send is not sent twice.
const SEND_LEASE: Duration = Duration::from_secs(120);

/// Provider retries of one send before it fails: with growing delays up to a queue's longest,
/// about a day of trying.
const MAX_SEND_ATTEMPTS: u32 = 100;

/// The wait before try number `attempt + 1`: doubling from a second, up to a queue's longest
/// delay, and never less than the provider asked for.
fn retry_delay(attempt: u32, asked: Option<Duration>) -> Duration {
    let doubled = Duration::from_secs(1u64 << attempt.min(20));
    doubled.max(asked.unwrap_or_default()).min(MAX_QUEUE_DELAY)
}

/// Sends a queued message, once even when two runs race, at the pace the provider allows. An AI
/// reply is withdrawn instead when it went stale while it waited: a newer message arrived (with
/// debounce on) or a human of the account took over the chat. A relay phone's message goes to
/// its outbox, where the phone pulls it.
pub async fn send_queued(
    s: &Services,
    account_id: &AccountId,
    chat_id: &ChatJid,
    message_id: &MessageId,
    ai_reply: Option<AiReply<'_>>,
    attempt: u32,
) -> Result<(), JobFailure> {
    let ctx = s
        .store
        .send_context(account_id, chat_id, message_id, ai_reply.map(|r| r.log))
        .await?;
    // The account was deleted with its messages: nothing to send.
    let (Some(message), Some(account)) = (ctx.message, ctx.account) else {
        return Ok(());
    };
    if !matches!(
        message.status,
        MessageStatus::Queued | MessageStatus::Sending
    ) {
        return settle_left_row(s, &message, ctx.log.as_ref()).await;
    }
    let log = ctx.log;
    if let (Some(log), Some(reply)) = (&log, ai_reply)
        && let Some(reason) =
            stale_reason(s, &message, ctx.chat.as_ref(), log, reply.withdraw_if_newer).await?
    {
        return finish(s, &message, Some(log), Outcome::Withdrawn(reason)).await;
    }
    if account.provider == ProviderKind::Relay {
        s.store.put_in_outbox(&message).await?;
        return Ok(());
    }
    let provider = match s.network.providers.get(account.provider) {
        Ok(provider) => provider.clone(),
        Err(e) => {
            return finish(
                s,
                &message,
                log.as_ref(),
                Outcome::Failed(e.to_string(), None),
            )
            .await;
        }
    };
    let opened = accounts::open(s, &account).await?;
    // Over the provider's pace: this job comes back when there is room, instead of waiting.
    if let Some(wait) = pace(s, &provider.pacing(&opened, chat_id)).await? {
        let again = send_job(&message, ai_reply).tried(attempt);
        jobs::enqueue(s, [again.after(wait)]).await?;
        return Ok(());
    }
    match s
        .store
        .begin_send(account_id, chat_id, message_id, s.clock.now(), SEND_LEASE)
        .await?
    {
        Claim::Acquired => {}
        Claim::Busy => {
            return Err(JobFailure::Retry(
                "another run is sending this message".into(),
            ));
        }
        Claim::Done => return Ok(()),
    }
    let text = OutgoingText {
        id: &message.id,
        chat: &message.chat_id,
        text: message.text.as_deref().unwrap_or_default(),
        reply_to: message.reply_to_message_id.as_deref(),
        to: message.client.as_ref().map(|c| c.to.as_str()),
        subject: message.client.as_ref().and_then(|c| c.subject.as_deref()),
        template: message.template.as_ref(),
    };
    match provider.send(&opened, text).await {
        Ok(receipt) => {
            let outcome = Outcome::Sent(receipt.provider_message_id);
            finish(s, &message, log.as_ref(), outcome).await
        }
        Err(ProviderError::GiveUp { reason, code }) => {
            if code == Some(FailureCode::MarketingOptedOut) {
                consent::marketing_stopped(s, &message).await?;
            }
            finish(s, &message, log.as_ref(), Outcome::Failed(reason, code)).await
        }
        Err(ProviderError::Retry { reason, after }) => {
            if attempt + 1 >= MAX_SEND_ATTEMPTS {
                let reason = format!("{reason} (gave up after {MAX_SEND_ATTEMPTS} tries)");
                return finish(s, &message, log.as_ref(), Outcome::Failed(reason, None)).await;
            }
            tracing::info!(message = %message.id, attempt, %reason, "send will be retried");
            // Still `sending` (a status never moves back), with why, for whoever is waiting;
            // the lease let go, so that the next try takes it at once.
            let note = format!(
                "retrying (try {} of {MAX_SEND_ATTEMPTS} failed): {reason}",
                attempt + 1
            );
            s.store
                .retry_send(account_id, chat_id, message_id, &note, s.clock.now())
                .await?;
            let again = send_job(&message, ai_reply).tried(attempt + 1);
            jobs::enqueue(s, [again.after(retry_delay(attempt, after))]).await?;
            Ok(())
        }
    }
}

/// The send job of a message, as it was queued.
fn send_job(message: &Message, ai_reply: Option<AiReply<'_>>) -> Job {
    match ai_reply {
        Some(reply) => Job::send_reply(message, reply.log, reply.withdraw_if_newer),
        None => Job::send(message),
    }
}

/// Takes a unit of each pace; the longest wait when one has no room.
async fn pace(s: &Services, paces: &[(String, Rate)]) -> Result<Option<Duration>, JobFailure> {
    let mut wait: Option<Duration> = None;
    for (key, rate) in paces {
        if let Some(w) = s.store.take_rate(key, *rate, s.clock.now()).await? {
            wait = Some(wait.map_or(w, |longest| longest.max(w)));
        }
    }
    Ok(wait)
}

/// Why an AI reply should not go out any more, if it should not.
async fn stale_reason(
    s: &Services,
    reply: &Message,
    chat: Option<&Chat>,
    log: &AiLog,
    withdraw_if_newer: bool,
) -> Result<Option<String>, JobFailure> {
    let now = s.clock.now();
    if chat.is_some_and(|c| c.opted_out_at.is_some()) {
        return Ok(Some(
            "the contact opted out before the reply went out".into(),
        ));
    }
    if let Some(until) = chat.and_then(|c| c.ai_paused_until).filter(|u| *u > now) {
        return Ok(Some(format!(
            "a human of the account replied before the reply went out; AI paused until {}",
            until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )));
    }
    if !withdraw_if_newer {
        return Ok(None);
    }
    let recent = s
        .store
        .recent_messages(&reply.account_id, &reply.chat_id, None, HISTORY)
        .await?;
    let newest_inbound = recent.iter().find(|m| !m.from_me).map(|m| &m.id);
    Ok(match (newest_inbound, &log.inbound_message_id) {
        (Some(newest), Some(answered)) if newest > answered => {
            Some("a newer message arrived before the reply went out; it is answered instead".into())
        }
        _ => None,
    })
}

enum Outcome {
    Sent(String),
    Failed(String, Option<FailureCode>),
    Withdrawn(String),
}

/// Records how a send ended on the message and, for an AI reply, on its log row (one write),
/// and emits the events: `message.sent`/`message.status`, and `ai.reply.sent`/`failed`/
/// `skipped`. Each is written only by the run that moved the state, so a second run emits
/// nothing.
async fn finish(
    s: &Services,
    message: &Message,
    log: Option<&AiLog>,
    outcome: Outcome,
) -> Result<(), JobFailure> {
    let (status, provider_id, error, code) = match &outcome {
        Outcome::Sent(id) => (MessageStatus::Sent, Some(id.as_str()), None, None),
        Outcome::Failed(e, code) => (MessageStatus::Failed, None, Some(e.as_str()), *code),
        Outcome::Withdrawn(reason) => (MessageStatus::Cancelled, None, Some(reason.as_str()), None),
    };
    let change = StatusChange {
        from: &[MessageStatus::Queued, MessageStatus::Sending],
        to: status,
        provider_message_id: provider_id,
        error,
        code,
    };
    let settled = log.map(|log| settled_row(s, log, &outcome));
    let (moved, log_moved) = match &settled {
        Some((row, _)) => {
            s.store
                .settle_reply(
                    &message.account_id,
                    &message.chat_id,
                    &message.id,
                    &change,
                    row,
                )
                .await?
        }
        None => {
            let moved = s
                .store
                .transition_message(&message.account_id, &message.chat_id, &message.id, &change)
                .await?;
            (moved, false)
        }
    };
    if !moved {
        return Ok(());
    }
    let mut view = message.clone();
    view.status = status;
    view.provider_message_id = provider_id.map(str::to_string).or(view.provider_message_id);
    view.error = error.map(str::to_string);
    view.error_code = code;
    let mut emitted = Vec::new();
    match outcome {
        Outcome::Sent(_) => emitted.push(events::new_event(
            s,
            EventType::MessageSent,
            Some(&message.account_id),
            MessageView::from(&view),
        )),
        Outcome::Failed(..) => emitted.push(events::new_event(
            s,
            EventType::MessageStatus,
            Some(&message.account_id),
            StatusEvent::of(&view),
        )),
        Outcome::Withdrawn(_) => {}
    }
    if let (Some((row, event_type)), true) = (settled, log_moved) {
        emitted.push(events::new_event(
            s,
            event_type,
            Some(&message.account_id),
            &row,
        ));
    }
    jobs::enqueue(s, emitted.into_iter().map(|e| Job::Event(e).now())).await?;
    Ok(())
}

/// An AI reply whose send ended while its log row still says `generated`: the run that moved
/// the message stopped before the row followed (a store may settle the two in separate
/// writes), and this job is its redelivery. The row follows now, and tells its event.
async fn settle_left_row(
    s: &Services,
    message: &Message,
    log: Option<&AiLog>,
) -> Result<(), JobFailure> {
    let Some(log) = log.filter(|l| l.status == AiLogStatus::Generated) else {
        return Ok(());
    };
    let error = message.error.clone().unwrap_or_default();
    let outcome = match message.status {
        MessageStatus::Sent | MessageStatus::Delivered | MessageStatus::Read => {
            Outcome::Sent(message.provider_message_id.clone().unwrap_or_default())
        }
        MessageStatus::Failed => Outcome::Failed(error, message.error_code),
        MessageStatus::Cancelled => Outcome::Withdrawn(error),
        _ => return Ok(()),
    };
    let (row, event_type) = settled_row(s, log, &outcome);
    if s.store
        .update_ai_log_if(AiLogStatus::Generated, &row)
        .await?
    {
        events::emit(s, event_type, Some(&message.account_id), &row).await?;
    }
    Ok(())
}

/// The log row of an AI reply as its send ended, and the event that tells it.
fn settled_row(s: &Services, log: &AiLog, outcome: &Outcome) -> (AiLog, EventType) {
    let mut row = log.clone();
    let event_type = match outcome {
        Outcome::Sent(_) => {
            row.status = AiLogStatus::Sent;
            row.sent_at = Some(s.clock.now());
            EventType::AiReplySent
        }
        Outcome::Failed(e, _) => {
            row.status = AiLogStatus::Failed;
            row.error = Some(e.clone());
            EventType::AiReplyFailed
        }
        Outcome::Withdrawn(reason) => {
            row.status = AiLogStatus::Skipped;
            row.reason = Some(reason.clone());
            EventType::AiReplySkipped
        }
    };
    (row, event_type)
}
