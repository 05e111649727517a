//! Jobs on the queues, and the one entry point that runs a job whatever backend delivered it
//! (the local worker and the Lambda SQS consumers call the same `run`).

use crate::domain::chat::ChatJid;
use crate::domain::event::Event;
use crate::domain::ids::{AccountId, AiLogId, MessageId};
use crate::error::AppError;
use crate::ports::{OutgoingJob, QueueName};
use crate::services::Services;
use crate::usecases;
use crate::usecases::delivery::Delivery;
use serde::{Deserialize, Serialize};
use std::time::Duration;

pub mod gate;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// Decide on, and generate, the AI reply to one inbound message.
    Reply {
        account_id: AccountId,
        chat_id: ChatJid,
        message_id: MessageId,
    },
    /// Send one stored outbound message through the account's provider.
    Send {
        account_id: AccountId,
        chat_id: ChatJid,
        message_id: MessageId,
        /// Set when the message is an AI reply: its log row follows the send.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ai_log_id: Option<AiLogId>,
        /// An AI reply under debounce: withdrawn if a newer inbound message arrives first.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        withdraw_if_newer: bool,
    },
    /// Hand an event to the webhook subscriptions that want it (a `Deliver` job each).
    Event(Event),
    /// One attempt to deliver an event to one subscription.
    Deliver(Delivery),
}

impl Job {
    pub fn queue(&self) -> QueueName {
        match self {
            Job::Reply { .. } => QueueName::AiReply,
            Job::Send { .. } => QueueName::Outbound,
            Job::Event(_) | Job::Deliver(_) => QueueName::Webhook,
        }
    }
}

/// How a job run ended, for the queue: done (delete it), retry later, or never retry.
#[derive(Debug, thiserror::Error)]
pub enum JobFailure {
    #[error("retry: {0}")]
    Retry(String),
    /// The body cannot be a job: retrying cannot help, so it goes to the dead-letter queue.
    #[error("poison: {0}")]
    Poison(String),
}

impl From<AppError> for JobFailure {
    fn from(e: AppError) -> Self {
        JobFailure::Retry(e.to_string())
    }
}

/// Puts jobs on their queues.
pub async fn enqueue(services: &Services, jobs: Vec<(Job, Duration)>) -> Result<(), AppError> {
    if jobs.is_empty() {
        return Ok(());
    }
    let mut outgoing = Vec::with_capacity(jobs.len());
    for (job, delay) in jobs {
        let body = serde_json::to_string(&job).map_err(|e| AppError::Internal(e.to_string()))?;
        outgoing.push((job.queue(), OutgoingJob { body, delay }));
    }
    services.queue.enqueue_many(outgoing).await?;
    Ok(())
}

/// Runs one delivered job body.
pub async fn run(services: &Services, body: &str) -> Result<(), JobFailure> {
    let job: Job = serde_json::from_str(body).map_err(|e| JobFailure::Poison(e.to_string()))?;
    match job {
        Job::Reply {
            account_id,
            chat_id,
            message_id,
        } => usecases::reply::decide_reply(services, &account_id, &chat_id, &message_id).await,
        Job::Send {
            account_id,
            chat_id,
            message_id,
            ai_log_id,
            withdraw_if_newer,
        } => {
            let reply = ai_log_id.as_ref().map(|log| usecases::send::AiReply {
                log,
                withdraw_if_newer,
            });
            usecases::send::deliver(services, &account_id, &chat_id, &message_id, reply).await
        }
        Job::Event(event) => usecases::delivery::fan_out(services, &event).await,
        Job::Deliver(delivery) => usecases::delivery::attempt(services, delivery).await,
    }
}
