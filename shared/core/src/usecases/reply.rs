//! The reply job: decides on the configuration in force when it runs, waits out a debounce
//! window, guards against loops, generates once per inbound message, and queues the send after
//! the human-like delay. Every "no" is a `skipped` AI log row naming its rule.

use crate::domain::account::Account;
use crate::domain::ai_log::{AiLog, AiLogStatus};
use crate::domain::chat::{Chat, ChatJid, ChatType};
use crate::domain::event::EventType;
use crate::domain::ids::{AccountId, AiLogId, MessageId};
use crate::domain::message::{Message, MessageOrigin, MessageStatus};
use crate::error::AppError;
use crate::jobs::{self, Job, JobFailure};
use crate::ports::{Claim, Recorded};
use crate::resolve::EffectiveAi;
use crate::rules::{self, MessageFacts};
use crate::services::Services;
use crate::usecases::generate::{self, GenerateError, HISTORY};
use crate::usecases::{ai_config, events};
use std::time::Duration;

fn store_err(e: impl Into<AppError>) -> JobFailure {
    JobFailure::from(e.into())
}

pub async fn decide_reply(
    s: &Services,
    account_id: &AccountId,
    chat_id: &ChatJid,
    message_id: &MessageId,
) -> Result<(), JobFailure> {
    let since = s.clock.now() - chrono::Duration::hours(1);
    let ctx = s
        .store
        .reply_context(account_id, chat_id, message_id, HISTORY, since)
        .await
        .map_err(store_err)?;
    // The account was deleted with its messages: nothing to answer.
    let (Some(inbound), Some(account)) = (ctx.message, ctx.account) else {
        return Ok(());
    };
    let now = s.clock.now();
    let chat = ctx
        .chat
        .unwrap_or_else(|| Chat::new(account_id.clone(), chat_id.clone(), now));
    let effective = ai_config::effective_from(
        s,
        &ctx.global_ai,
        Some((account_id, &ctx.account_ai)),
        Some(&chat),
    );
    // Decided before (a redelivered job, or a racer that lost): nothing more to do, unless the
    // reply is recorded but may not have been queued for sending.
    match ctx.decided {
        Some(log) if log.status == AiLogStatus::Generated => {
            return resume_send(s, &inbound, &log, &effective).await;
        }
        Some(_) => return Ok(()),
        None => {}
    }
    let facts = MessageFacts {
        from_me: inbound.from_me,
        has_text: inbound
            .text
            .as_deref()
            .is_some_and(|t| !t.trim().is_empty()),
        addresses_account: addresses_account(s, &chat, &inbound).await?,
    };
    if let Err(reason) = rules::decide(&effective, &chat, facts, now) {
        return skip(s, &inbound, reason.to_string()).await;
    }

    let debounce = Duration::from_secs(u64::from(effective.debounce_seconds.value));
    if !debounce.is_zero() {
        let arrived = inbound.id.created_at().unwrap_or(now);
        let waited = (now - arrived).to_std().unwrap_or_default();
        if waited < debounce {
            // Come back when the window has passed; the job is cheap until then.
            let job = Job::Reply {
                account_id: account_id.clone(),
                chat_id: chat_id.clone(),
                message_id: message_id.clone(),
            };
            let rest = debounce - waited + Duration::from_millis(50);
            jobs::enqueue(s, vec![(job, rest)]).await?;
            return Ok(());
        }
    }

    // The context's newest messages give the conversation (cut at this one), tell whether a
    // newer message arrived (with debounce on, its own job answers the whole burst), and
    // usually counts the chat's replies of the last hour for the loop guard.
    let newest = ctx.recent;
    if !debounce.is_zero() && newest_inbound(&newest).is_some_and(|n| n != &inbound.id) {
        return skip(s, &inbound, "a newer message arrived within debounce_seconds; the burst is answered once, from the newest".into()).await;
    }
    let history: Vec<Message> = newest
        .iter()
        .filter(|m| m.id <= inbound.id)
        .cloned()
        .collect();

    let max = effective.max_replies_per_chat_per_hour.value;
    let recent = match replies_seen(&newest, since).or(ctx.replies_since) {
        Some(n) => n,
        None => s
            .store
            .count_replies_since(account_id, chat_id, since)
            .await
            .map_err(store_err)?,
    };
    if recent >= max {
        return skip(s, &inbound, format!("{recent} replies in this chat in the last hour (max_replies_per_chat_per_hour = {max})")).await;
    }

    let claim_key = format!("reply:{}", inbound.id);
    let hold = Duration::from_secs(u64::from(effective.timeout_seconds.value) + 60);
    match s
        .store
        .claim(&claim_key, now, hold)
        .await
        .map_err(store_err)?
    {
        Claim::Acquired => {}
        Claim::Busy => {
            return Err(JobFailure::Retry(
                "another worker is generating this reply".into(),
            ));
        }
        Claim::Done => return Ok(()),
    }
    // The claim is not released: the log row written next is what tells later runs it is done,
    // and a run that dies before writing it leaves a claim that expires.
    let outcome =
        generate::generate(s, &effective, generate::conversation(&effective, &history)).await;
    match outcome {
        Ok(generated) => queue_reply(s, &account, &inbound, &effective, generated).await,
        Err(GenerateError::Llm(e)) => fail(s, &inbound, &effective, e.to_string()).await,
        Err(GenerateError::App(e)) => Err(e.into()),
    }
}

/// The AI replies generated or sent since `since`, counted in the newest messages when they
/// reach back that far (or are the whole chat); `None` when they do not.
fn replies_seen(newest_first: &[Message], since: chrono::DateTime<chrono::Utc>) -> Option<u32> {
    let whole_chat = newest_first.len() < HISTORY;
    let reaches = newest_first.last().is_some_and(|m| m.created_at < since);
    (whole_chat || reaches).then(|| {
        newest_first
            .iter()
            .filter(|m| m.origin == MessageOrigin::Ai && m.created_at >= since)
            .filter(|m| {
                matches!(
                    m.status,
                    MessageStatus::Queued | MessageStatus::Sending | MessageStatus::Sent
                )
            })
            .count() as u32
    })
}

fn newest_inbound(newest_first: &[Message]) -> Option<&MessageId> {
    newest_first.iter().find(|m| !m.from_me).map(|m| &m.id)
}

/// A group message addresses the account when it mentions it or replies to one of its messages.
async fn addresses_account(
    s: &Services,
    chat: &Chat,
    inbound: &Message,
) -> Result<bool, JobFailure> {
    if inbound.mentions_me || chat.chat_type() != ChatType::Group {
        return Ok(inbound.mentions_me);
    }
    let Some(quoted) = &inbound.reply_to_message_id else {
        return Ok(false);
    };
    let quoted = s
        .store
        .find_by_provider_id(&inbound.account_id, quoted)
        .await
        .map_err(store_err)?;
    Ok(quoted.is_some_and(|m| m.from_me))
}

fn log_row(s: &Services, inbound: &Message, status: AiLogStatus) -> AiLog {
    AiLog {
        id: AiLogId::from_ulid(s.ids.next_ulid()),
        account_id: inbound.account_id.clone(),
        chat_id: inbound.chat_id.clone(),
        inbound_message_id: Some(inbound.id.clone()),
        status,
        reason: None,
        model: None,
        latency_ms: None,
        prompt_tokens: None,
        completion_tokens: None,
        reply: None,
        error: None,
        created_at: s.clock.now(),
        sent_at: None,
    }
}

/// Writes the row once per inbound message and emits its event only for the row that stands.
async fn record(s: &Services, row: AiLog, event: EventType) -> Result<Recorded<AiLog>, JobFailure> {
    let recorded = s.store.insert_ai_log(&row).await.map_err(store_err)?;
    if recorded.is_new() {
        let e = events::new_event(s, event, Some(&row.account_id), &row);
        jobs::enqueue(s, vec![events::as_job(e)]).await?;
    }
    Ok(recorded)
}

async fn skip(s: &Services, inbound: &Message, reason: String) -> Result<(), JobFailure> {
    let mut row = log_row(s, inbound, AiLogStatus::Skipped);
    row.reason = Some(reason);
    record(s, row, EventType::AiReplySkipped).await.map(|_| ())
}

async fn fail(
    s: &Services,
    inbound: &Message,
    effective: &EffectiveAi,
    error: String,
) -> Result<(), JobFailure> {
    let mut row = log_row(s, inbound, AiLogStatus::Failed);
    row.model = Some(effective.model_name.value.clone());
    row.error = Some(error);
    record(s, row, EventType::AiReplyFailed).await.map(|_| ())
}

/// Records the reply as generated together with the message that sends it, shows "typing…",
/// and queues the send after the delay with the `ai.reply.generated` event. The log row and the
/// reply message are keyed by the inbound message, so a second run of this step adds nothing.
async fn queue_reply(
    s: &Services,
    account: &Account,
    inbound: &Message,
    effective: &EffectiveAi,
    generated: generate::Generated,
) -> Result<(), JobFailure> {
    let mut row = log_row(s, inbound, AiLogStatus::Generated);
    row.model = Some(if effective.echo_mode.value {
        "echo".into()
    } else {
        effective.model_name.value.clone()
    });
    row.latency_ms = Some(generated.latency_ms);
    row.prompt_tokens = generated.completion.prompt_tokens;
    row.completion_tokens = generated.completion.completion_tokens;
    row.reply = Some(generated.completion.text);
    let reply = reply_message(s, inbound, row.reply.clone());
    let recorded = s
        .store
        .record_reply(&row, &reply)
        .await
        .map_err(store_err)?;
    if !recorded.is_new() {
        return Ok(());
    }
    show_typing(s, account, &inbound.chat_id).await;
    let delay = Duration::from_secs(u64::from(effective.reply_delay_seconds.value));
    let send = send_job(&reply, &row, effective);
    let event = events::new_event(s, EventType::AiReplyGenerated, Some(&row.account_id), &row);
    jobs::enqueue(s, vec![(send, delay), events::as_job(event)]).await?;
    Ok(())
}

/// The message that carries the reply to an inbound message; one per inbound message.
fn reply_message(s: &Services, inbound: &Message, text: Option<String>) -> Message {
    let mut reply = Message::outbound(
        MessageId::from_ulid(s.ids.next_ulid()),
        &inbound.account_id,
        inbound.chat_id.clone(),
        text,
        MessageOrigin::Ai,
        s.clock.now(),
    );
    reply.reply_to_message_id = inbound.provider_message_id.clone();
    reply.idempotency_key = Some(format!("ai-reply:{}", inbound.id));
    reply
}

fn send_job(reply: &Message, row: &AiLog, effective: &EffectiveAi) -> Job {
    Job::Send {
        account_id: reply.account_id.clone(),
        chat_id: reply.chat_id.clone(),
        message_id: reply.id.clone(),
        ai_log_id: Some(row.id.clone()),
        withdraw_if_newer: effective.debounce_seconds.value > 0,
    }
}

/// The reply is recorded, but the run that recorded it may have stopped before queueing its
/// send. Queues it again, due when the first would have been: a send job for a message that
/// already left sends nothing, and two for one message send it once.
async fn resume_send(
    s: &Services,
    inbound: &Message,
    row: &AiLog,
    effective: &EffectiveAi,
) -> Result<(), JobFailure> {
    let candidate = reply_message(s, inbound, row.reply.clone());
    let reply = s
        .store
        .record_outbound(&candidate)
        .await
        .map_err(store_err)?
        .into_inner();
    if reply.status != MessageStatus::Queued {
        return Ok(());
    }
    let due =
        row.created_at + chrono::Duration::seconds(i64::from(effective.reply_delay_seconds.value));
    let wait = (due - s.clock.now()).to_std().unwrap_or_default();
    jobs::enqueue(s, vec![(send_job(&reply, row, effective), wait)]).await?;
    Ok(())
}

/// Best effort: a missing typing indicator must not cost the reply.
async fn show_typing(s: &Services, account: &Account, chat: &ChatJid) {
    if let Ok(provider) = s.providers.get(account.provider)
        && let Err(e) = provider.show_typing(account, chat).await
    {
        tracing::warn!(account = %account.id, error = %e, "typing indicator failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{AccountId, MessageId};

    fn message(origin: MessageOrigin, status: MessageStatus, minutes_ago: i64) -> Message {
        let now = chrono::Utc::now();
        let mut m = Message::outbound(
            MessageId::from_ulid(ulid::Ulid::new()),
            &AccountId::from_ulid(ulid::Ulid::new()),
            ChatJid::parse("15551234567@s.whatsapp.net").expect("jid"),
            Some("x".into()),
            origin,
            now - chrono::Duration::minutes(minutes_ago),
        );
        m.status = status;
        m
    }

    #[test]
    fn the_loop_guard_counts_from_the_history_only_when_it_covers_the_hour() {
        let since = chrono::Utc::now() - chrono::Duration::hours(1);
        let short = vec![
            message(MessageOrigin::Ai, MessageStatus::Sent, 1),
            message(MessageOrigin::Ai, MessageStatus::Queued, 2),
            message(MessageOrigin::Ai, MessageStatus::Cancelled, 3),
            message(MessageOrigin::Api, MessageStatus::Sent, 4),
            message(MessageOrigin::Ai, MessageStatus::Sent, 90),
        ];
        assert_eq!(
            replies_seen(&short, since),
            Some(2),
            "the whole chat is here"
        );
        let busy: Vec<Message> = (0..HISTORY as i64)
            .map(|i| message(MessageOrigin::Ai, MessageStatus::Sent, i))
            .collect();
        assert_eq!(
            replies_seen(&busy, since),
            None,
            "older replies may be past the page"
        );
        let mut reaching = busy.clone();
        reaching[HISTORY - 1] = message(MessageOrigin::Contact, MessageStatus::Received, 61);
        assert_eq!(replies_seen(&reaching, since), Some(HISTORY as u32 - 1));
    }
}
