//! The local queue consumer: receive jobs, run each through the same handler a Lambda SQS
//! consumer calls, then delete, release for a retry with backoff, or dead-letter it.

use crate::queue::{Delivery, EmbeddedQueue};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use switchboard_core::jobs::JobFailure;
use switchboard_core::ports::QueueName;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;

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

/// Longest wait between looks at the stored jobs: jobs whose visibility ran out, and jobs put
/// on the queue by another process (`switchboard redrive`), are found at least this often.
const IDLE_POLL: Duration = Duration::from_secs(1);

fn backoff(receive_count: u32) -> Duration {
    Duration::from_secs(1u64 << receive_count.min(6)).min(Duration::from_secs(60))
}

/// Runs until `shutdown` turns true; jobs in progress finish first. Up to `batch` jobs are in
/// flight at once, and a free slot is filled as soon as it frees (no waiting for a whole batch).
/// Jobs come two ways: handed over as they are enqueued (while a slot is free), and received
/// from the stored jobs when the queue says some wait there.
pub async fn run(
    queue: Arc<EmbeddedQueue>,
    config: WorkerConfig,
    handler: JobHandler,
    mut shutdown: watch::Receiver<bool>,
) {
    let name = config.queue.as_str();
    let slots = Arc::new(Semaphore::new(config.batch));
    let mut handed = queue.attach(config.queue, slots.clone(), config.visibility);
    let start = |delivery: Delivery, slot: OwnedSemaphorePermit| {
        let (queue, handler) = (queue.clone(), handler.clone());
        tokio::spawn(async move {
            settle(&queue, name, delivery, &handler).await;
            drop(slot);
        });
    };
    // When to look at the stored jobs next: at once on start (jobs left from before), after an
    // enqueue stored one, after a full batch (more may wait), when the next delayed one is due.
    let mut look_at = Instant::now();
    while !*shutdown.borrow() {
        if Instant::now() < look_at {
            tokio::select! {
                Some(job) = handed.recv() => start(job.delivery, job.slot),
                _ = queue.wait_until(config.queue, look_at) => look_at = Instant::now(),
                changed = shutdown.changed() => if changed.is_err() { break },
            }
            continue;
        }
        let first = tokio::select! {
            Some(job) = handed.recv() => {
                start(job.delivery, job.slot);
                continue;
            }
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            changed = shutdown.changed() => if changed.is_err() { break } else { continue },
        };
        let free = 1 + slots.available_permits();
        let received = match queue.receive(config.queue, free, config.visibility).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(queue = name, error = %e, "receive failed");
                look_at = Instant::now() + IDLE_POLL;
                continue;
            }
        };
        look_at = if received.more_may_wait {
            Instant::now()
        } else {
            let next = queue.next_visible_in(config.queue).await.ok().flatten();
            Instant::now() + next.unwrap_or(IDLE_POLL).min(IDLE_POLL)
        };
        let mut first = Some(first);
        for delivery in received.deliveries {
            // Each job holds a slot until it is settled. `free` slots were counted above, but
            // jobs handed over since may hold some: those run while this one waits for a slot
            // (they hold theirs already), so a wait here never holds them back.
            let slot = match first.take() {
                Some(slot) => Ok(slot),
                None => loop {
                    tokio::select! {
                        Some(job) = handed.recv() => start(job.delivery, job.slot),
                        slot = slots.clone().acquire_owned() => break slot,
                    }
                },
            };
            let Ok(slot) = slot else {
                break;
            };
            start(delivery, slot);
        }
    }
    // No more handovers; the jobs already handed over run like the others in flight.
    handed.close();
    while let Some(job) = handed.recv().await {
        start(job.delivery, job.slot);
    }
    let _ = slots.acquire_many(config.batch as u32).await;
    queue.deletions_settled().await;
}

async fn settle(
    queue: &Arc<EmbeddedQueue>,
    name: &'static str,
    delivery: Delivery,
    handler: &JobHandler,
) {
    let started = std::time::Instant::now();
    let outcome = handler(delivery.body.clone()).await;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let settled = match &outcome {
        Ok(()) => {
            queue.delete_soon(&delivery);
            Ok(())
        }
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
