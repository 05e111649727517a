//! Jobs on the queues: what one step of the flow asks the next to do, built from what it is
//! about, and put on its queue. What runs a job is `dispatch`, so this module is a leaf the
//! use-cases can build on.

use crate::domain::activity::{Activity, hour_of};
use crate::domain::chat::{ChatChange, ChatJid};
use crate::domain::event::Event;
use crate::domain::ids::{AccountId, AiLogId, MessageId};
use crate::domain::inbound::StatusReport;
use crate::domain::message::Message;
use crate::domain::webhook::WebhookDelivery;
use crate::error::AppError;
use crate::ports::{OutgoingJob, QueueName, StoreError};
use crate::services::Services;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

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
        /// Tries before this one that the provider asked to retry.
        #[serde(default, skip_serializing_if = "is_zero")]
        attempt: u32,
    },
    /// Show "typing…" in a chat, timed to be visible when the reply arrives.
    Typing {
        account_id: AccountId,
        chat_id: ChatJid,
        /// The provider's id of the message being answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replying_to: Option<String>,
    },
    /// A provider's status report whose message was not found yet (the report outran the
    /// answer to the send): looked at again.
    Status {
        account_id: AccountId,
        report: StatusReport,
        attempt: u32,
    },
    /// A relay phone's lease on a message ends: unless it reported, the message failed.
    LeaseEnd {
        account_id: AccountId,
        message_id: MessageId,
        until: DateTime<Utc>,
    },
    /// A client's send waiting for confirmation runs out of time: unless confirmed, it is
    /// cancelled as `expired`.
    Expire {
        account_id: AccountId,
        chat_id: ChatJid,
        message_id: MessageId,
    },
    /// Hand an event to the webhook subscriptions that want it (a first attempt each, made by
    /// the fan-out; a `DeliverWebhook` job for what follows).
    Event(Event),
    /// One attempt to deliver an event to one subscription. (`deliver`: its name in queues
    /// written before it was renamed.)
    #[serde(alias = "deliver")]
    DeliverWebhook(WebhookDelivery),
}

impl Job {
    /// The reply job of an inbound message.
    pub fn reply(inbound: &Message) -> Self {
        Job::Reply {
            account_id: inbound.account_id.clone(),
            chat_id: inbound.chat_id.clone(),
            message_id: inbound.id.clone(),
        }
    }

    /// The expiry of a client's send that waits for confirmation.
    pub fn expire(message: &Message) -> Self {
        Job::Expire {
            account_id: message.account_id.clone(),
            chat_id: message.chat_id.clone(),
            message_id: message.id.clone(),
        }
    }

    /// The send of a stored outbound message that is not an AI reply.
    pub fn send(message: &Message) -> Self {
        Job::send_of(message, None, false)
    }

    /// The send of an AI reply, whose log row follows it.
    pub fn send_reply(reply: &Message, log: &AiLogId, withdraw_if_newer: bool) -> Self {
        Job::send_of(reply, Some(log.clone()), withdraw_if_newer)
    }

    fn send_of(message: &Message, ai_log_id: Option<AiLogId>, withdraw_if_newer: bool) -> Self {
        Job::Send {
            account_id: message.account_id.clone(),
            chat_id: message.chat_id.clone(),
            message_id: message.id.clone(),
            ai_log_id,
            withdraw_if_newer,
            attempt: 0,
        }
    }

    /// A send job that counts `tries` earlier tries (the others are left as they are).
    pub fn tried(mut self, tries: u32) -> Self {
        if let Job::Send { attempt, .. } = &mut self {
            *attempt = tries;
        }
        self
    }

    pub fn queue(&self) -> QueueName {
        match self {
            Job::Reply { .. } => QueueName::AiReply,
            Job::Send { .. } | Job::Typing { .. } | Job::LeaseEnd { .. } | Job::Expire { .. } => {
                QueueName::Outbound
            }
            Job::Status { .. } => QueueName::Outbound,
            Job::Event(_) | Job::DeliverWebhook(_) => QueueName::Webhook,
        }
    }

    /// Due at once.
    pub fn now(self) -> (Self, Duration) {
        (self, Duration::ZERO)
    }

    /// Due after `delay` (at most a queue's longest delay; longer waits are chained).
    pub fn after(self, delay: Duration) -> (Self, Duration) {
        (self, delay)
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
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

impl From<StoreError> for JobFailure {
    fn from(e: StoreError) -> Self {
        AppError::from(e).into()
    }
}

/// Puts jobs on their queues, together where the backend can. The events among them are
/// counted in their accounts' activity here, where every event passes once, whether or not a
/// subscription wants it.
pub async fn enqueue(
    services: &Services,
    jobs: impl IntoIterator<Item = (Job, Duration)>,
) -> Result<(), AppError> {
    let mut told = Tally::default();
    let jobs: Vec<_> = jobs.into_iter().collect();
    for (job, _) in &jobs {
        if let Job::Event(event) = job {
            told.add(event);
        }
    }
    enqueue_again(services, jobs).await?;
    // A count is a statistic: failing to keep it must not fail (and repeat) the step that told
    // the events.
    if let Err(e) = told.keep(services).await {
        tracing::warn!(error = %e, "activity not counted");
    }
    Ok(())
}

/// Puts jobs on their queues again (a redelivered step's): their events were counted the
/// first time.
pub async fn enqueue_again(
    services: &Services,
    jobs: impl IntoIterator<Item = (Job, Duration)>,
) -> Result<(), AppError> {
    let jobs = wanted(services, jobs.into_iter().collect()).await;
    let mut outgoing = Vec::new();
    for (job, delay) in jobs {
        let body = serde_json::to_string(&job).map_err(|e| AppError::Internal(e.to_string()))?;
        outgoing.push((job.queue(), OutgoingJob { body, delay }));
    }
    if outgoing.is_empty() {
        return Ok(());
    }
    services.queue.enqueue_many(outgoing).await?;
    Ok(())
}

/// The jobs without the events no active subscription wants: a queue hop and a fan-out
/// invocation spent on an event nobody is told about buys nothing. A subscription made in
/// another process is seen within the subscription cache's freshness (seconds); when the
/// subscriptions cannot be read, every event goes on, and the fan-out decides.
async fn wanted(services: &Services, jobs: Vec<(Job, Duration)>) -> Vec<(Job, Duration)> {
    if !jobs.iter().any(|(job, _)| matches!(job, Job::Event(_))) {
        return jobs;
    }
    let active = match services.subscriptions.active(services.store.as_ref()).await {
        Ok(active) => active,
        Err(e) => {
            tracing::warn!(error = %e, "subscriptions not read; every event queued");
            return jobs;
        }
    };
    jobs.into_iter()
        .filter(|(job, _)| match job {
            Job::Event(event) => active
                .iter()
                .any(|w| w.wants(event.event_type, event.account_id.as_ref())),
            _ => true,
        })
        .collect()
}

/// What one step's events add to the activity: one write per account and hour however many
/// events it told (an AI reply's send tells `message.sent` and `ai.reply.sent`), and the chats
/// where an AI reply failed, which the overview lists.
#[derive(Default)]
struct Tally {
    counts: Vec<(AccountId, DateTime<Utc>, Activity)>,
    failed: Vec<(AccountId, ChatJid, DateTime<Utc>)>,
}

impl Tally {
    fn add(&mut self, event: &Event) {
        let (Some(account), Some(add)) = (&event.account_id, Activity::of_event(event)) else {
            return;
        };
        let hour = hour_of(event.created_at);
        match self
            .counts
            .iter_mut()
            .find(|(a, h, _)| a == account && *h == hour)
        {
            Some((_, _, counts)) => counts.add(&add),
            None => self.counts.push((account.clone(), hour, add)),
        }
        let chat = event.data.get("chat_id").and_then(|c| c.as_str());
        if let (1, Some(chat)) = (add.ai_failed, chat.and_then(|c| ChatJid::parse(c).ok())) {
            self.failed.push((account.clone(), chat, event.created_at));
        }
    }

    async fn keep(self, services: &Services) -> Result<(), StoreError> {
        for (account, hour, counts) in &self.counts {
            services
                .store
                .count_activity(account, *hour, counts)
                .await?;
        }
        for (account, chat, at) in self.failed {
            let change = ChatChange::AiFailed { at };
            services
                .store
                .update_chat(&account, &chat, change, at)
                .await?;
        }
        Ok(())
    }
}
