//! The local queue consumer: receive jobs, run each through the same handler a Lambda SQS
//! consumer calls, then finish it: delete it, release it for a retry with backoff, or
//! dead-letter it.

use crate::queue::{EmbeddedQueue, ReceivedJob};
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
    let start = |job: ReceivedJob, slot: OwnedSemaphorePermit| {
        let (queue, handler) = (queue.clone(), handler.clone());
        tokio::spawn(async move {
            run_and_finish(&queue, name, job, &handler).await;
            drop(slot);
        });
    };
    // When to look at the stored jobs next: at once on start (jobs left from before), after an
    // enqueue stored one, after a full batch (more may wait), when the next delayed one is due.
    let mut look_at = Instant::now();
    while !*shutdown.borrow() {
        if Instant::now() < look_at {
            tokio::select! {
                Some(handed) = handed.recv() => start(handed.job, handed.slot),
                _ = queue.wait_until(config.queue, look_at) => look_at = Instant::now(),
                changed = shutdown.changed() => if changed.is_err() { break },
            }
            continue;
        }
        let first = tokio::select! {
            Some(handed) = handed.recv() => {
                start(handed.job, handed.slot);
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
        for job in received.jobs {
            // Each job holds a slot until it is finished. `free` slots were counted above, but
            // jobs handed over since may hold some: those run while this one waits for a slot
            // (they hold theirs already), so a wait here never holds them back.
            let slot = match first.take() {
                Some(slot) => Ok(slot),
                None => loop {
                    tokio::select! {
                        Some(handed) = handed.recv() => start(handed.job, handed.slot),
                        slot = slots.clone().acquire_owned() => break slot,
                    }
                },
            };
            let Ok(slot) = slot else {
                break;
            };
            start(job, slot);
        }
    }
    // No more handovers; the jobs already handed over run like the others in flight.
    handed.close();
    while let Some(handed) = handed.recv().await {
        start(handed.job, handed.slot);
    }
    let _ = slots.acquire_many(config.batch as u32).await;
    queue.deletions_settled().await;
}

/// Runs a job, then deletes it, releases it for a retry, or dead-letters it.
async fn run_and_finish(
    queue: &Arc<EmbeddedQueue>,
    name: &'static str,
    job: ReceivedJob,
    handler: &JobHandler,
) {
    let started = std::time::Instant::now();
    let outcome = handler(job.body.clone()).await;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let finished = match &outcome {
        Ok(()) => {
            queue.delete_soon(&job);
            Ok(())
        }
        Err(JobFailure::Retry(reason)) => {
            tracing::warn!(queue = name, job = job.id, attempt = job.receive_count, %reason, "job will be retried");
            queue.release(&job, backoff(job.receive_count)).await
        }
        Err(JobFailure::Poison(reason)) => {
            tracing::error!(queue = name, job = job.id, %reason, "job cannot run; dead-lettered");
            queue.kill(&job, reason).await
        }
    };
    if let Err(e) = finished {
        tracing::error!(queue = name, job = job.id, error = %e, "could not finish the job; it will come back");
    }
    tracing::debug!(
        queue = name,
        job = job.id,
        elapsed_ms,
        ok = outcome.is_ok(),
        "job ran"
    );
}
