//! The job queues between the steps of the flow. Delivery is at least once; consumers are
//! idempotent.

use async_trait::async_trait;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueName {
    AiReply,
    Outbound,
    Webhook,
}

impl QueueName {
    pub const ALL: [QueueName; 3] = [QueueName::AiReply, QueueName::Outbound, QueueName::Webhook];

    pub fn as_str(self) -> &'static str {
        match self {
            QueueName::AiReply => "ai-reply",
            QueueName::Outbound => "outbound",
            QueueName::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|q| q.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingJob {
    pub body: String,
    /// Not visible to consumers before this has passed; at most [`MAX_QUEUE_DELAY`].
    pub delay: Duration,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct QueueError(pub String);

/// SQS's cap on a message delay; longer waits are chained as several hops.
pub const MAX_QUEUE_DELAY: Duration = Duration::from_secs(900);

#[async_trait]
pub trait JobQueue: Send + Sync {
    async fn enqueue(&self, queue: QueueName, jobs: Vec<OutgoingJob>) -> Result<(), QueueError>;

    /// Jobs for several queues at once. Backends that can write them together (one transaction
    /// of the embedded queue) override this; the default is one `enqueue` per queue.
    async fn enqueue_many(&self, jobs: Vec<(QueueName, OutgoingJob)>) -> Result<(), QueueError> {
        let mut by_queue: Vec<(QueueName, Vec<OutgoingJob>)> = Vec::new();
        for (queue, job) in jobs {
            match by_queue.iter_mut().find(|(q, _)| *q == queue) {
                Some((_, list)) => list.push(job),
                None => by_queue.push((queue, vec![job])),
            }
        }
        for (queue, list) in by_queue {
            self.enqueue(queue, list).await?;
        }
        Ok(())
    }
}
