//! The local queue consumer: receive jobs, run each through the same handler a Lambda SQS
//! consumer calls, then delete, release for a retry with backoff, or dead-letter it.

use crate::queue::EmbeddedQueue;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use switchboard_core::jobs::JobFailure;
use switchboard_core::ports::QueueName;
use tokio::sync::{Semaphore, watch};

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

/// Runs until `shutdown` turns true; jobs in progress finish first. Up to `batch` jobs are in
/// flight at once, and a free slot is filled as soon as it frees (no waiting for a whole batch).
pub async fn run(
    queue: Arc<EmbeddedQueue>,
    config: WorkerConfig,
    handler: JobHandler,
    mut shutdown: watch::Receiver<bool>,
) {
    let name = config.queue.as_str();
    let slots = Arc::new(Semaphore::new(config.batch));
    while !*shutdown.borrow() {
        let Ok(first) = slots.clone().acquire_owned().await else {
            break;
        };
        let free = 1 + slots.available_permits();
        let batch = match queue.receive(config.queue, free, config.visibility).await {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(queue = name, error = %e, "receive failed");
                tokio::time::sleep(IDLE_POLL).await;
                continue;
            }
        };
        if batch.is_empty() {
            drop(first);
            let next = queue.next_visible_in(config.queue).await.ok().flatten();
            let wait = next.unwrap_or(IDLE_POLL).min(IDLE_POLL);
            tokio::select! {
                _ = queue.wait(config.queue, wait) => {}
                _ = shutdown.changed() => {}
            }
            continue;
        }
        let mut first = Some(first);
        for delivery in batch {
            // Each job holds a slot until it is settled; `free` slots were counted above.
            let slot = match first.take() {
                Some(slot) => slot,
                None => match slots.clone().acquire_owned().await {
                    Ok(slot) => slot,
                    Err(_) => break,
                },
            };
            let (queue, handler) = (queue.clone(), handler.clone());
            tokio::spawn(async move {
                settle(&queue, name, delivery, &handler).await;
                drop(slot);
            });
        }
    }
    // Let the jobs in flight finish before returning.
    let _ = slots.acquire_many(config.batch as u32).await;
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
