//! The local queue consumer: receive a batch, run each job through the same handler a Lambda SQS
//! consumer calls, then delete, release for a retry with backoff, or dead-letter it.

use crate::queue::EmbeddedQueue;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use switchboard_core::jobs::JobFailure;
use switchboard_core::ports::QueueName;
use tokio::sync::watch;

pub type JobHandler = Arc<
    dyn Fn(String) -> Pin<Box<dyn Future<Output = Result<(), JobFailure>> + Send>> + Send + Sync,
>;

#[derive(Debug, Clone, Copy)]
pub struct WorkerConfig {
    pub queue: QueueName,
    pub batch: usize,
    /// How long a received job stays hidden; longer than the slowest handler run.
    pub visibility: Duration,
}

/// Longest idle wait between looks at the queue when nothing wakes the worker.
const IDLE_POLL: Duration = Duration::from_secs(1);

fn backoff(receive_count: u32) -> Duration {
    Duration::from_secs(1u64 << receive_count.min(6)).min(Duration::from_secs(60))
}

/// Runs until `shutdown` turns true; a job in progress finishes first.
pub async fn run(
    queue: Arc<EmbeddedQueue>,
    config: WorkerConfig,
    handler: JobHandler,
    mut shutdown: watch::Receiver<bool>,
) {
    let name = config.queue.as_str();
    while !*shutdown.borrow() {
        let batch = match queue
            .receive(config.queue, config.batch, config.visibility)
            .await
        {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(queue = name, error = %e, "receive failed");
                tokio::time::sleep(IDLE_POLL).await;
                continue;
            }
        };
        if batch.is_empty() {
            let next = queue.next_visible_in(config.queue).await.ok().flatten();
            let wait = next.unwrap_or(IDLE_POLL).min(IDLE_POLL);
            tokio::select! {
                _ = queue.wait(config.queue, wait) => {}
                _ = shutdown.changed() => {}
            }
            continue;
        }
        // The batch's jobs run side by side, as a Lambda handler runs its SQS batch.
        let mut running = tokio::task::JoinSet::new();
        for delivery in batch {
            let (queue, handler) = (queue.clone(), handler.clone());
            running.spawn(async move { settle(&queue, name, delivery, &handler).await });
        }
        while running.join_next().await.is_some() {}
    }
}

async fn settle(
    queue: &EmbeddedQueue,
    name: &'static str,
    delivery: crate::queue::Delivery,
    handler: &JobHandler,
) {
    let started = std::time::Instant::now();
    let outcome = handler(delivery.body.clone()).await;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let settled = match &outcome {
        Ok(()) => queue.delete(&delivery).await.map(|_| ()),
        Err(JobFailure::Retry(reason)) => {
            tracing::warn!(queue = name, job = delivery.id, attempt = delivery.receive_count, %reason, "job will be retried");
            queue
                .release(&delivery, backoff(delivery.receive_count))
                .await
        }
        Err(JobFailure::Poison(reason)) => {
            tracing::error!(queue = name, job = delivery.id, %reason, "job cannot run; dead-lettered");
            queue.kill(&delivery, reason).await
        }
    };
    if let Err(e) = settled {
        tracing::error!(queue = name, job = delivery.id, error = %e, "could not settle job; it will come back");
    }
    tracing::debug!(
        queue = name,
        job = delivery.id,
        elapsed_ms,
        ok = outcome.is_ok(),
        "job ran"
    );
}
