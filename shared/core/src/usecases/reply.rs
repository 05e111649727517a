//! The reply job: re-evaluates the rules on the configuration in force when the job runs, and
//! records every "no" as a `skipped` AI log row naming its rule.

use crate::domain::ai_log::{AiLog, AiLogStatus};
use crate::domain::chat::{Chat, ChatJid};
use crate::domain::event::EventType;
use crate::domain::ids::{AccountId, AiLogId, MessageId};
use crate::domain::message::{Message, MessageOrigin, MessageStatus};
use crate::error::AppError;
use crate::jobs::{self, Job, JobFailure};
use crate::resolve::EffectiveAi;
use crate::rules::{self, MessageFacts, SkipReason};
use crate::services::Services;
use crate::usecases::{ai_config, events};
use std::time::Duration;

pub async fn decide_reply(
    s: &Services,
    account_id: &AccountId,
    chat_id: &ChatJid,
    message_id: &MessageId,
) -> Result<(), JobFailure> {
    let Some(message) = s
        .store
        .get_message(account_id, message_id)
        .await
        .map_err(AppError::from)?
    else {
        return Ok(());
    };
    let chat = s
        .store
        .get_chat(account_id, chat_id)
        .await
        .map_err(AppError::from)?
        .unwrap_or_else(|| Chat::new(account_id.clone(), chat_id.clone(), s.clock.now()));
    let effective = ai_config::effective(s, Some(account_id), Some(&chat)).await?;
    let facts = MessageFacts {
        from_me: message.from_me,
        has_text: message
            .text
            .as_deref()
            .is_some_and(|t| !t.trim().is_empty()),
        addresses_account: message.mentions_me,
    };
    match rules::decide(&effective, &chat, facts, s.clock.now()) {
        Err(reason) => record_skip(s, &message, &effective, reason).await,
        Ok(()) if effective.echo_mode.value => {
            reply_with(
                s,
                &message,
                &effective,
                message.text.clone().unwrap_or_default(),
            )
            .await
        }
        Ok(()) => Err(JobFailure::Retry(
            "reply generation through an LLM is not available in this build".into(),
        )),
    }
}

fn log_row(s: &Services, message: &Message, effective: &EffectiveAi, status: AiLogStatus) -> AiLog {
    AiLog {
        id: AiLogId::from_ulid(s.ids.next_ulid()),
        account_id: message.account_id.clone(),
        chat_id: message.chat_id.clone(),
        inbound_message_id: Some(message.id.clone()),
        status,
        reason: None,
        model: Some(effective.model_name.value.clone()),
        latency_ms: None,
        prompt_tokens: None,
        completion_tokens: None,
        reply: None,
        error: None,
        created_at: s.clock.now(),
        sent_at: None,
    }
}

async fn record_skip(
    s: &Services,
    message: &Message,
    effective: &EffectiveAi,
    reason: SkipReason,
) -> Result<(), JobFailure> {
    let mut row = log_row(s, message, effective, AiLogStatus::Skipped);
    row.reason = Some(reason.to_string());
    row.model = None;
    let recorded = s.store.insert_ai_log(&row).await.map_err(AppError::from)?;
    if recorded.is_new() {
        let event = events::new_event(s, EventType::AiReplySkipped, &message.account_id, &row);
        jobs::enqueue(s, vec![events::as_job(event)]).await?;
    }
    Ok(())
}

/// Records the reply as generated and queues its send after the configured delay. The log row
/// is written first and only once per inbound message, so a redelivered job sends nothing new.
async fn reply_with(
    s: &Services,
    inbound: &Message,
    effective: &EffectiveAi,
    text: String,
) -> Result<(), JobFailure> {
    let mut row = log_row(s, inbound, effective, AiLogStatus::Generated);
    row.reply = Some(text.clone());
    row.latency_ms = Some(0);
    let recorded = s.store.insert_ai_log(&row).await.map_err(AppError::from)?;
    let first_run = recorded.is_new();
    let row = recorded.into_inner();
    // A row left `generated` by a run that died before queueing its send is finished here;
    // the reply message and its send are keyed by the inbound message, so nothing doubles.
    if row.status != AiLogStatus::Generated {
        return Ok(());
    }
    let text = row.reply.clone().unwrap_or(text);
    let now = s.clock.now();
    let reply = Message {
        id: MessageId::from_ulid(s.ids.next_ulid()),
        account_id: inbound.account_id.clone(),
        chat_id: inbound.chat_id.clone(),
        from: inbound.account_id.to_string(),
        from_me: true,
        text: Some(text),
        status: MessageStatus::Queued,
        origin: MessageOrigin::Ai,
        provider_message_id: None,
        push_name: None,
        mentions_me: false,
        reply_to_message_id: inbound.provider_message_id.clone(),
        idempotency_key: Some(format!("ai-reply:{}", inbound.id)),
        error: None,
        created_at: now,
        updated_at: now,
    };
    let stored = s
        .store
        .record_outbound(&reply)
        .await
        .map_err(AppError::from)?
        .into_inner();
    let send = Job::Send {
        account_id: stored.account_id.clone(),
        message_id: stored.id.clone(),
    };
    let delay = Duration::from_secs(u64::from(effective.reply_delay_seconds.value));
    let mut queued = vec![(send, delay)];
    if first_run {
        let generated =
            events::new_event(s, EventType::AiReplyGenerated, &inbound.account_id, &row);
        queued.push(events::as_job(generated));
    }
    jobs::enqueue(s, queued).await?;
    Ok(())
}
