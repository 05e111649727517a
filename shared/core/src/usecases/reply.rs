//! The reply job: reads what it decides on, lets `reply_gate` decide on the configuration in
//! force when it runs, and carries the decision out: generates once per inbound message and
//! queues the send after the human-like delay, or comes back after a debounce window, or writes
//! a `skipped` AI log row naming its rule.

use crate::domain::account::Account;
use crate::domain::ai_log::{AiLog, AiLogStatus};
use crate::domain::ai_settings::EffectiveAi;
use crate::domain::chat::{Chat, ChatJid, ChatType};
use crate::domain::event::EventType;
use crate::domain::ids::{AccountId, MessageId};
use crate::domain::message::{Message, MessageOrigin, MessageStatus};
use crate::error::AppError;
use crate::jobs::{self, Job, JobFailure};
use crate::ports::{Claim, Recorded};
use crate::reply_gate::{self, Decision, Facts, HISTORY, gate};
use crate::services::Services;
use crate::usecases::generate::{self, GenerateError};
use crate::usecases::media::{self, Understanding};
use crate::usecases::{ai_settings, events, reach, typing};
use std::time::Duration;

/// Runs the reply job of one inbound message.
pub async fn answer(
    s: &Services,
    account_id: &AccountId,
    chat_id: &ChatJid,
    message_id: &MessageId,
) -> Result<(), JobFailure> {
    let since = s.clock.now() - chrono::Duration::hours(1);
    // Sends that never reached the customer are left out of the conversation: twice its
    // length leaves room for them.
    let ctx = s
        .store
        .reply_context(account_id, chat_id, message_id, 2 * HISTORY, since)
        .await?;
    // The account was deleted with its messages: nothing to answer.
    let (Some(inbound), Some(account)) = (ctx.message, ctx.account) else {
        return Ok(());
    };
    let now = s.clock.now();
    let chat = ctx
        .chat
        .unwrap_or_else(|| Chat::new(account_id.clone(), chat_id.clone(), now));
    let effective = ai_settings::effective_from(
        s,
        &ctx.global_ai,
        Some((account_id, &ctx.account_ai)),
        Some(&chat),
    );
    let addresses_account = match ctx.decided {
        None => addresses_account(s, &chat, &inbound).await?,
        Some(_) => false,
    };
    let facts = Facts {
        inbound: &inbound,
        chat: &chat,
        decided: ctx.decided.as_ref(),
        recent: &ctx.recent,
        replies_last_hour: ctx.replies_since,
        addresses_account,
        windowed: reach::windowed(&account, chat_id),
    };
    match gate(facts, &effective, now) {
        Decision::Done => Ok(()),
        Decision::Resume => match &ctx.decided {
            Some(log) => resume_send(s, &inbound, log, &effective).await,
            None => Ok(()),
        },
        Decision::Skip(reason) => skip(s, &inbound, reason.to_string()).await,
        // Come back when the window has passed; the job is cheap until then.
        Decision::Later(wait) => Ok(jobs::enqueue(s, [Job::reply(&inbound).after(wait)]).await?),
        Decision::Generate => {
            let history = reply_gate::history(&ctx.recent, &inbound);
            generate_once(s, &account, &inbound, &effective, history).await
        }
    }
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
        .await?;
    Ok(quoted.is_some_and(|m| m.from_me))
}

/// How long a reply's claim outlives the LLM's own bound (`timeout_seconds`): the writes
/// around the call. A run that died holding it is taken over this long after it began.
const CLAIM_MARGIN: Duration = Duration::from_secs(10);

/// Generates the reply under a claim, so two runs of the job (a redelivery, a racer) call the
/// LLM once, with "typing…" shown meanwhile.
async fn generate_once(
    s: &Services,
    account: &Account,
    inbound: &Message,
    effective: &EffectiveAi,
    mut history: Vec<Message>,
) -> Result<(), JobFailure> {
    let claim_key = format!("reply:{}", inbound.id);
    // Reading media is bounded by `timeout_seconds` too, before the LLM's own.
    let bound = Duration::from_secs(u64::from(effective.timeout_seconds.value));
    let steps = if media::has_pending(&history) { 2 } else { 1 };
    let hold = bound * steps + CLAIM_MARGIN;
    match s.store.claim(&claim_key, s.clock.now(), hold).await? {
        Claim::Acquired => {}
        Claim::Busy => {
            // Another run holds it: it ends with a log row, or it died and its claim lapses
            // within `hold`. Look again then, as a new job: a retry would count towards the
            // queue's dead-letter limit and give up on a reply nobody generated.
            return Ok(jobs::enqueue(s, [Job::reply(inbound).after(hold)]).await?);
        }
        Claim::Done => return Ok(()),
    }
    // The claim is not released: the log row written next is what tells later runs it is done,
    // and a run that dies before writing it leaves a claim that expires.
    let began = std::time::Instant::now();
    let replying_to = inbound.provider_message_id.as_deref();
    let typing = typing::show_for(s, account, &inbound.chat_id, replying_to);
    let answer = async {
        let mut understood = media::understand(s, account, effective, &mut history).await?;
        // The images move into the conversation (no second copy); their room is held until
        // the call has sent them.
        let images = std::mem::take(&mut understood.images);
        let conversation = generate::conversation(effective, &history, images);
        let generated = generate::generate(s, effective, conversation).await;
        understood.held.clear();
        Ok::<_, AppError>((understood, generated))
    };
    let (typed, outcome) = tokio::join!(typing, answer);
    typed?;
    let (understood, generated) = outcome?;
    match generated {
        Ok(generated) => {
            let took = began.elapsed();
            queue_reply(s, account, inbound, effective, generated, understood, took).await
        }
        Err(GenerateError::Llm(e)) => fail(s, inbound, effective, understood, e.to_string()).await,
        Err(GenerateError::App(e)) => Err(e.into()),
    }
}

fn log_row(s: &Services, inbound: &Message, status: AiLogStatus) -> AiLog {
    AiLog::for_inbound(inbound, status, s.clock.now())
}

/// Writes the row once per inbound message and emits its event only for the row that stands.
async fn record(s: &Services, row: AiLog, event: EventType) -> Result<Recorded<AiLog>, JobFailure> {
    let recorded = s.store.insert_ai_log(&row).await?;
    if recorded.is_new() {
        events::emit(s, event, Some(&row.account_id), &row).await?;
    }
    Ok(recorded)
}

async fn skip(s: &Services, inbound: &Message, reason: String) -> Result<(), JobFailure> {
    // Bytes sent inline wait for this job only: nothing will read them now.
    media::forget_inline(s, inbound).await?;
    let mut row = log_row(s, inbound, AiLogStatus::Skipped);
    row.reason = Some(reason);
    record(s, row, EventType::AiReplySkipped).await.map(|_| ())
}

async fn fail(
    s: &Services,
    inbound: &Message,
    effective: &EffectiveAi,
    understood: Understanding,
    error: String,
) -> Result<(), JobFailure> {
    let mut row = log_row(s, inbound, AiLogStatus::Failed);
    row.model = Some(effective.model_name.value.clone());
    row.error = Some(error);
    row.reason = understood.reason();
    row.media = understood.uses;
    record(s, row, EventType::AiReplyFailed).await.map(|_| ())
}

/// Records the reply as generated with the message that sends it, and queues the send after
/// the delay with the `ai.reply.generated` event, and "typing…" renewed before it when the one
/// shown `typing_for` ago would be gone. The log row is keyed by the inbound message, so a
/// second run of this step adds nothing; the row names its message, which is made from the row
/// alone, so a run that finds the row without it makes the same one (`resume_send`).
async fn queue_reply(
    s: &Services,
    account: &Account,
    inbound: &Message,
    effective: &EffectiveAi,
    generated: generate::Generated,
    understood: Understanding,
    typing_for: Duration,
) -> Result<(), JobFailure> {
    let mut row = log_row(s, inbound, AiLogStatus::Generated);
    row.reason = understood.reason();
    row.media = understood.uses;
    row.model = Some(generate::model_label(effective));
    row.latency_ms = Some(generated.latency_ms);
    row.prompt_tokens = generated.completion.prompt_tokens;
    row.completion_tokens = generated.completion.completion_tokens;
    row.reply = Some(generated.completion.text);
    let id = MessageId::from_ulid(s.ids.next_ulid());
    row.reply_message_id = Some(id.clone());
    let reply = reply_message(inbound, &row, id);
    let recorded = s.store.record_reply(&row, &reply).await?;
    if !recorded.is_new() {
        return Ok(());
    }
    let delay = Duration::from_secs(u64::from(effective.reply_delay_seconds.value));
    let send = send_job(&reply, &row, effective);
    let typing = typing::renewal_before(
        s,
        account,
        &inbound.chat_id,
        inbound.provider_message_id.as_deref(),
        delay,
        typing_for,
    );
    let event = events::new_event(s, EventType::AiReplyGenerated, Some(&row.account_id), &row);
    let jobs = [send.after(delay), Job::Event(event).now()];
    jobs::enqueue(s, jobs.into_iter().chain(typing)).await?;
    Ok(())
}

/// The message `id` that carries the reply of log row `row` to an inbound message: its text
/// and time are the row's, so it is the same message whenever it is made.
fn reply_message(inbound: &Message, row: &AiLog, id: MessageId) -> Message {
    let mut reply = Message::outbound(
        id,
        &inbound.account_id,
        inbound.chat_id.clone(),
        row.reply.clone(),
        MessageOrigin::Ai,
        row.created_at,
    );
    reply.reply_to_message_id = inbound.provider_message_id.clone();
    reply.idempotency_key = Some(format!("ai-reply:{}", inbound.id));
    reply.ai_log_id = Some(row.id.clone());
    reply
}

fn send_job(reply: &Message, row: &AiLog, effective: &EffectiveAi) -> Job {
    Job::send_reply(reply, &row.id, effective.debounce_seconds.value > 0)
}

/// The reply is recorded, but the run that recorded it may have stopped before queueing its
/// send, or (where the row and its message are separate writes) before its message. Makes the
/// message again if it is missing, and queues the send again, due when the first would have
/// been: a send job for a message that already left sends nothing, and two for one message
/// send it once.
async fn resume_send(
    s: &Services,
    inbound: &Message,
    row: &AiLog,
    effective: &EffectiveAi,
) -> Result<(), JobFailure> {
    // Found by the id the row names (a store may keep no other key for it); made from the row
    // when the run that wrote the row stopped before it. Recorded under the reply's
    // idempotency key, so two runs that both find it missing make one. A row from before rows
    // named their reply is matched by that key alone.
    let found = match &row.reply_message_id {
        Some(id) => s
            .store
            .get_message(&inbound.account_id, &inbound.chat_id, id)
            .await?
            .ok_or_else(|| id.clone()),
        None => Err(MessageId::from_ulid(s.ids.next_ulid())),
    };
    let reply = match found {
        Ok(reply) => reply,
        Err(id) => {
            let candidate = reply_message(inbound, row, id);
            s.store.record_outbound(&candidate).await?.into_inner()
        }
    };
    if reply.status != MessageStatus::Queued {
        return Ok(());
    }
    let due =
        row.created_at + chrono::Duration::seconds(i64::from(effective.reply_delay_seconds.value));
    let wait = (due - s.clock.now()).to_std().unwrap_or_default();
    jobs::enqueue(s, [send_job(&reply, row, effective).after(wait)]).await?;
    Ok(())
}
