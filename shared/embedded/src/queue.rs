//! A durable job queue with per-message delay, visibility timeout and a dead-letter table, in the
//! same SQLite file as the store. Its semantics follow SQS: a received job is hidden for the
//! visibility timeout and comes back if it is not deleted; after too many receives it is moved
//! to the dead letters.
//!
//! A job enqueued without delay while a worker of its queue has a free slot is received for that
//! worker in the write that stores it, and handed to it in memory: stored, it is exactly a job
//! received the moment it was enqueued, so a crash brings it back like any received job, and
//! the worker saves a write and a wait per job. Receiving, deleting and releasing a job are
//! relaxed writes (see `Durability`): a crash of the machine that undoes one makes a job run
//! again, which every job tolerates since SQS may deliver one twice as well.

use crate::cached;
use crate::db::{Database, Durability};
use async_trait::async_trait;
use rand::RngCore;
use rusqlite::params;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use switchboard_core::ports::{JobQueue, OutgoingJob, QueueError, QueueName, StoreError};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc};

/// Receives after which a job is dead-lettered (SQS's `maxReceiveCount`).
pub const MAX_RECEIVES: u32 = 5;

/// A job received from the queue. `receipt` proves this receive: a worker whose visibility ran
/// out cannot delete or release a job another worker has received since.
#[derive(Debug, Clone)]
pub struct ReceivedJob {
    pub id: i64,
    pub receipt: String,
    pub body: String,
    pub receive_count: u32,
}

/// A job received for a worker as it was enqueued, with the worker's slot it runs in.
pub struct Handed {
    pub job: ReceivedJob,
    pub slot: OwnedSemaphorePermit,
}

/// The workers of a queue that take jobs handed over at enqueue.
#[derive(Default)]
struct Consumers {
    workers: Vec<Consumer>,
    /// Jobs were stored ready because no worker had a free slot, and no receive has drained
    /// them since: new jobs are stored behind them rather than handed over ahead of them.
    backlog: bool,
    /// Counts the jobs stored for want of a slot, so that a receive that began before one of
    /// them was stored does not end the backlog it started.
    stored_for_want: u64,
}

/// What a worker's receive found.
pub struct Received {
    pub jobs: Vec<ReceivedJob>,
    /// It took as many ready jobs as it asked for: more may wait.
    pub more_may_wait: bool,
}

struct Consumer {
    slots: Arc<Semaphore>,
    visibility: Duration,
    handed: mpsc::UnboundedSender<Handed>,
}

/// Finished jobs whose deletion is not written yet, and whether a write of them is under way.
#[derive(Default)]
struct Deletions {
    jobs: Vec<(i64, String)>,
    writing: bool,
}

pub struct EmbeddedQueue {
    db: Arc<Database>,
    wakeups: HashMap<QueueName, Notify>,
    consumers: HashMap<QueueName, Mutex<Consumers>>,
    deletions: Mutex<Deletions>,
    deletions_written: Notify,
    activity: Arc<Activity>,
}

/// What `until_idle` watches besides the stored jobs.
#[derive(Default)]
struct Activity {
    /// Jobs received (or handed over) and not finished yet.
    running: AtomicUsize,
    /// Moved by every enqueue, receive and finish: a look at the queue between two equal
    /// readings of it saw one moment.
    changes: AtomicU64,
}

impl Activity {
    fn started(&self, jobs: usize) {
        self.running.fetch_add(jobs, Ordering::SeqCst);
        self.changed();
    }

    /// A receive ended (deleted, released or dead-lettered), or a handover did not happen.
    fn ended(&self, jobs: usize) {
        let _ = self
            .running
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n.saturating_sub(jobs))
            });
        self.changed();
    }

    fn changed(&self) {
        self.changes.fetch_add(1, Ordering::SeqCst);
    }
}

/// The state behind a lock stays consistent whatever a panicking holder did (each is a
/// plain push or take), so a poisoned lock is used as is.
fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn queue_error(e: StoreError) -> QueueError {
    QueueError(e.to_string())
}

impl EmbeddedQueue {
    pub fn new(db: Arc<Database>) -> Self {
        let wakeups = QueueName::ALL
            .into_iter()
            .map(|q| (q, Notify::new()))
            .collect();
        let consumers = QueueName::ALL
            .into_iter()
            .map(|q| (q, Mutex::default()))
            .collect();
        Self {
            db,
            wakeups,
            consumers,
            deletions: Mutex::default(),
            deletions_written: Notify::new(),
            activity: Arc::default(),
        }
    }

    /// Returns once nothing is running on the queues and nothing waits there that is due within
    /// `horizon` (a job due later is not part of the work at hand): the process is idle.
    pub async fn until_idle(&self, queues: &[QueueName], horizon: Duration) {
        loop {
            let seen = self.activity.changes.load(Ordering::SeqCst);
            let idle = self.activity.running.load(Ordering::SeqCst) == 0
                && self.due_within(queues, horizon).await.unwrap_or(1) == 0
                && self.activity.changes.load(Ordering::SeqCst) == seen;
            if idle {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Jobs waiting on `queues` (not received) that are due within `horizon`.
    async fn due_within(&self, queues: &[QueueName], horizon: Duration) -> Result<u64, QueueError> {
        let names: Vec<&'static str> = queues.iter().map(|q| q.as_str()).collect();
        let until = now_ms() + horizon.as_millis() as i64;
        self.db
            .read(move |c| {
                let mut due = 0;
                for name in names {
                    due += cached::query_row(
                        c,
                        "SELECT COUNT(*) FROM jobs WHERE queue = ?1 AND receipt IS NULL AND visible_at <= ?2",
                        params![name, until],
                        |r| r.get::<_, i64>(0),
                    )
                    .map_err(crate::backend)? as u64;
                }
                Ok(due)
            })
            .await
            .map_err(queue_error)
    }

    /// Registers a worker of `queue` with its slots: from now on, a job enqueued without delay
    /// while one of them is free is received for it (hidden for `visibility`) and sent on the
    /// returned channel with that slot. Closing the channel ends the registration.
    pub fn attach(
        &self,
        queue: QueueName,
        slots: Arc<Semaphore>,
        visibility: Duration,
    ) -> mpsc::UnboundedReceiver<Handed> {
        let (handed, rx) = mpsc::unbounded_channel();
        if let Some(consumers) = self.consumers.get(&queue) {
            let mut consumers = locked(consumers);
            consumers.workers.retain(|c| !c.handed.is_closed());
            consumers.workers.push(Consumer {
                slots,
                visibility,
                handed,
            });
        }
        rx
    }

    /// A free slot of a worker of `queue`, with the worker's visibility and channel; none while
    /// stored jobs wait (jobs run in the order they came). Finding none starts a backlog.
    fn free_consumer(
        &self,
        queue: QueueName,
    ) -> Option<(
        OwnedSemaphorePermit,
        Duration,
        mpsc::UnboundedSender<Handed>,
    )> {
        let mut consumers = locked(self.consumers.get(&queue)?);
        if consumers.backlog || consumers.workers.is_empty() {
            return None;
        }
        let free = consumers
            .workers
            .iter()
            .filter(|c| !c.handed.is_closed())
            .find_map(|c| {
                let slot = c.slots.clone().try_acquire_owned().ok()?;
                Some((slot, c.visibility, c.handed.clone()))
            });
        if free.is_none() {
            consumers.backlog = true;
            consumers.stored_for_want += 1;
        }
        free
    }

    fn stored_for_want(&self, queue: QueueName) -> u64 {
        self.consumers
            .get(&queue)
            .map_or(0, |c| locked(c).stored_for_want)
    }

    /// Waits until a job may be ready on `queue`: woken by an enqueue that stored one, or at
    /// `deadline`.
    pub async fn wait_until(&self, queue: QueueName, deadline: tokio::time::Instant) {
        if let Some(n) = self.wakeups.get(&queue) {
            let _ = tokio::time::timeout_at(deadline, n.notified()).await;
        }
    }

    /// Receives up to `max` visible jobs and hides them for `visibility`. Jobs received
    /// `MAX_RECEIVES` times already are moved to the dead letters instead. When it finds fewer
    /// ready jobs than it asks for and no job was stored for want of a slot meanwhile, the
    /// backlog is over and new jobs are handed over again.
    pub async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        visibility: Duration,
    ) -> Result<Received, QueueError> {
        let before = self.stored_for_want(queue);
        let (jobs, selected) = self.receive_rows(queue, max, visibility).await?;
        self.activity.started(jobs.len());
        let more_may_wait = selected == max;
        if !more_may_wait && let Some(consumers) = self.consumers.get(&queue) {
            let mut consumers = locked(consumers);
            if consumers.stored_for_want == before {
                consumers.backlog = false;
            }
        }
        Ok(Received {
            jobs,
            more_may_wait,
        })
    }

    /// The jobs taken, with how many ready ones were found (those dead-lettered included).
    async fn receive_rows(
        &self,
        queue: QueueName,
        max: usize,
        visibility: Duration,
    ) -> Result<(Vec<ReceivedJob>, usize), QueueError> {
        let name = queue.as_str();
        self.db
            .write_with(Durability::Relaxed, move |c| {
                let now = now_ms();
                let mut stmt = c
                    .prepare_cached(
                        "SELECT id, body, receive_count FROM jobs WHERE queue = ?1 AND visible_at <= ?2
                         ORDER BY visible_at, id LIMIT ?3",
                    )
                    .map_err(crate::backend)?;
                let rows: Vec<(i64, String, u32)> = stmt
                    .query_map(params![name, now, max as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .map_err(crate::backend)?
                    .collect::<Result<_, _>>()
                    .map_err(crate::backend)?;
                let selected = rows.len();
                let mut out = Vec::with_capacity(rows.len());
                for (id, body, count) in rows {
                    if count >= MAX_RECEIVES {
                        dead_letter(c, id, &format!("received {count} times without success"))?;
                        continue;
                    }
                    let receipt = new_receipt();
                    cached::exec(c,
                        "UPDATE jobs SET visible_at = ?2, receive_count = receive_count + 1, receipt = ?3 WHERE id = ?1",
                        params![id, now + visibility.as_millis() as i64, receipt],
                    )
                    .map_err(crate::backend)?;
                    out.push(ReceivedJob { id, receipt, body, receive_count: count + 1 });
                }
                Ok((out, selected))
            })
            .await
            .map_err(queue_error)
    }

    /// The job is done: its deletion (only if this receive still owns the job) is written
    /// together with those of the jobs finished meanwhile (one write for many). Until then it
    /// stays received, and a crash brings it back.
    pub fn delete_soon(self: &Arc<Self>, d: &ReceivedJob) {
        self.activity.ended(1);
        let start = {
            let mut pending = locked(&self.deletions);
            pending.jobs.push((d.id, d.receipt.clone()));
            !std::mem::replace(&mut pending.writing, true)
        };
        if start {
            let queue = self.clone();
            tokio::spawn(async move { queue.write_deletions().await });
        }
    }

    /// Writes the pending deletions, one write at a time, until none is left.
    async fn write_deletions(&self) {
        loop {
            let jobs = {
                let mut pending = locked(&self.deletions);
                if pending.jobs.is_empty() {
                    pending.writing = false;
                    self.deletions_written.notify_waiters();
                    return;
                }
                std::mem::take(&mut pending.jobs)
            };
            let count = jobs.len();
            let written = self
                .db
                .write_with(Durability::Relaxed, move |c| {
                    for (id, receipt) in &jobs {
                        cached::exec(
                            c,
                            "DELETE FROM jobs WHERE id = ?1 AND receipt = ?2",
                            params![id, receipt],
                        )
                        .map_err(crate::backend)?;
                    }
                    Ok(())
                })
                .await;
            if let Err(e) = written {
                tracing::warn!(error = %e, jobs = count, "cannot delete finished jobs; they will run again");
            }
        }
    }

    /// Returns once every deletion asked for so far is written.
    pub async fn deletions_settled(&self) {
        loop {
            let written = self.deletions_written.notified();
            tokio::pin!(written);
            written.as_mut().enable();
            if !locked(&self.deletions).writing {
                return;
            }
            written.await;
        }
    }

    /// Makes the job visible again after `delay` instead of the full visibility timeout. It is
    /// no longer received: its receipt is void.
    pub async fn release(&self, d: &ReceivedJob, delay: Duration) -> Result<(), QueueError> {
        let (id, receipt) = (d.id, d.receipt.clone());
        let released = self
            .db
            .write_with(Durability::Relaxed, move |c| {
                cached::exec(
                    c,
                    "UPDATE jobs SET visible_at = ?3, receipt = NULL WHERE id = ?1 AND receipt = ?2",
                    params![id, receipt, now_ms() + delay.as_millis() as i64],
                )
                .map_err(crate::backend)?;
                Ok(())
            })
            .await
            .map_err(queue_error);
        // Ended once it waits again: `until_idle` then sees it among the waiting jobs.
        self.activity.ended(1);
        released
    }

    /// Makes the jobs still received by a process that is gone visible at once, instead of after
    /// their visibility timeout (up to minutes); for a server that starts with the data dir to
    /// itself. Their receive counts stay: a job that brings its process down is dead-lettered
    /// like one that fails. Returns how many.
    pub async fn take_back_received(&self) -> Result<u64, QueueError> {
        self.db
            .write(|c| {
                let n = cached::exec(
                    c,
                    "UPDATE jobs SET visible_at = MIN(visible_at, ?1), receipt = NULL
                     WHERE receipt IS NOT NULL",
                    [now_ms()],
                )
                .map_err(crate::backend)?;
                Ok(n as u64)
            })
            .await
            .map_err(queue_error)
    }

    /// Moves a job that can never succeed to the dead letters now.
    pub async fn kill(&self, d: &ReceivedJob, error: &str) -> Result<(), QueueError> {
        let (id, error) = (d.id, error.to_string());
        let killed = self
            .db
            .write(move |c| dead_letter(c, id, &error))
            .await
            .map_err(queue_error);
        self.activity.ended(1);
        killed
    }

    /// How long until the next job of `queue` becomes visible, if any is waiting.
    pub async fn next_visible_in(&self, queue: QueueName) -> Result<Option<Duration>, QueueError> {
        let name = queue.as_str();
        self.db
            .read(move |c| {
                let at: Option<i64> = cached::query_row(
                    c,
                    "SELECT MIN(visible_at) FROM jobs WHERE queue = ?1",
                    [name],
                    |r| r.get(0),
                )
                .map_err(crate::backend)?;
                Ok(at.map(|at| Duration::from_millis((at - now_ms()).max(0) as u64)))
            })
            .await
            .map_err(queue_error)
    }

    /// The bodies of the jobs waiting on `queue`, oldest first, without receiving them.
    pub async fn peek(&self, queue: QueueName) -> Result<Vec<String>, QueueError> {
        self.bodies(queue, "SELECT body FROM jobs WHERE queue = ?1 ORDER BY id")
            .await
    }

    /// The bodies of `queue`'s dead-lettered jobs, oldest first.
    pub async fn dead_letters(&self, queue: QueueName) -> Result<Vec<String>, QueueError> {
        self.bodies(
            queue,
            "SELECT body FROM dead_jobs WHERE queue = ?1 ORDER BY died_at, id",
        )
        .await
    }

    async fn bodies(&self, queue: QueueName, sql: &'static str) -> Result<Vec<String>, QueueError> {
        let name = queue.as_str();
        self.db
            .read(move |c| {
                let mut stmt = c.prepare(sql).map_err(crate::backend)?;
                let rows = stmt
                    .query_map([name], |r| r.get::<_, String>(0))
                    .map_err(crate::backend)?;
                rows.collect::<Result<_, _>>().map_err(crate::backend)
            })
            .await
            .map_err(queue_error)
    }

    /// Jobs waiting (visible or delayed) and dead, per queue.
    pub async fn depth(&self, queue: QueueName) -> Result<(u64, u64), QueueError> {
        let name = queue.as_str();
        self.db
            .read(move |c| {
                let count = |sql: &str| -> Result<u64, StoreError> {
                    cached::query_row(c, sql, [name], |r| r.get::<_, i64>(0))
                        .map(|n| n as u64)
                        .map_err(crate::backend)
                };
                Ok((
                    count("SELECT COUNT(*) FROM jobs WHERE queue = ?1")?,
                    count("SELECT COUNT(*) FROM dead_jobs WHERE queue = ?1")?,
                ))
            })
            .await
            .map_err(queue_error)
    }

    /// Puts dead-lettered jobs of `queue` back on it; returns how many.
    pub async fn redrive(&self, queue: QueueName) -> Result<u64, QueueError> {
        let name = queue.as_str();
        self.db
            .write(move |c| {
                let n = cached::exec(
                    c,
                    "INSERT INTO jobs (queue, body, visible_at, enqueued_at)
                         SELECT queue, body, ?2, ?2 FROM dead_jobs WHERE queue = ?1",
                    params![name, now_ms()],
                )
                .map_err(crate::backend)?;
                cached::exec(c, "DELETE FROM dead_jobs WHERE queue = ?1", [name])
                    .map_err(crate::backend)?;
                Ok(n as u64)
            })
            .await
            .map_err(queue_error)
    }
}

fn new_receipt() -> String {
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn dead_letter(c: &rusqlite::Connection, id: i64, error: &str) -> Result<(), StoreError> {
    cached::exec(
        c,
        "INSERT INTO dead_jobs (id, queue, body, receive_count, error, died_at)
         SELECT id, queue, body, receive_count, ?2, ?3 FROM jobs WHERE id = ?1",
        params![id, error, now_ms()],
    )
    .map_err(crate::backend)?;
    cached::exec(c, "DELETE FROM jobs WHERE id = ?1", [id]).map_err(crate::backend)?;
    Ok(())
}

#[async_trait]
impl JobQueue for EmbeddedQueue {
    async fn enqueue(&self, queue: QueueName, jobs: Vec<OutgoingJob>) -> Result<(), QueueError> {
        self.enqueue_many(jobs.into_iter().map(|j| (queue, j)).collect())
            .await
    }

    /// All in one transaction, whatever their queues.
    async fn enqueue_many(&self, jobs: Vec<(QueueName, OutgoingJob)>) -> Result<(), QueueError> {
        if jobs.is_empty() {
            return Ok(());
        }
        let mut handovers = Vec::new();
        let mut rows = Vec::with_capacity(jobs.len());
        let mut stored: Vec<QueueName> = Vec::new();
        for (queue, job) in jobs {
            let consumer = job
                .delay
                .is_zero()
                .then(|| self.free_consumer(queue))
                .flatten();
            let received = consumer.map(|(slot, visibility, handed)| {
                let receipt = new_receipt();
                handovers.push((slot, handed, receipt.clone(), job.body.clone()));
                (receipt, visibility)
            });
            if received.is_none() && !stored.contains(&queue) {
                stored.push(queue);
            }
            rows.push((queue, job, received));
        }
        // Written and handed over in a task of its own: a caller that gives up on the enqueue
        // (a client that hung up) must not strand jobs stored as received by a worker.
        let db = self.db.clone();
        let activity = self.activity.clone();
        activity.started(handovers.len());
        let handing = tokio::spawn(async move {
            let handing_over = handovers.len();
            let written = db
                .write(move |c| {
                    let now = now_ms();
                    let mut stmt = c
                        .prepare_cached(
                            "INSERT INTO jobs (queue, body, visible_at, enqueued_at, receive_count, receipt)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        )
                        .map_err(crate::backend)?;
                    let mut ids = Vec::new();
                    for (queue, job, received) in rows {
                        let (visible_at, receives, receipt) = match received {
                            Some((receipt, visibility)) => {
                                (now + visibility.as_millis() as i64, 1, Some(receipt))
                            }
                            None => (now + job.delay.as_millis() as i64, 0, None),
                        };
                        stmt.execute(params![queue.as_str(), job.body, visible_at, now, receives, receipt])
                            .map_err(crate::backend)?;
                        if receipt.is_some() {
                            ids.push(c.last_insert_rowid());
                        }
                    }
                    Ok(ids)
                })
                .await
                .map_err(queue_error);
            let ids = match written {
                Ok(ids) => ids,
                Err(e) => {
                    activity.ended(handing_over);
                    return Err(e);
                }
            };
            for ((slot, handed, receipt, body), id) in handovers.into_iter().zip(ids) {
                let job = ReceivedJob {
                    id,
                    receipt,
                    body,
                    receive_count: 1,
                };
                // A worker that stopped meanwhile leaves the job received: it comes back after
                // its visibility timeout, as after a crash.
                if handed.send(Handed { job, slot }).is_err() {
                    activity.ended(1);
                }
            }
            activity.changed();
            Ok::<(), QueueError>(())
        });
        handing
            .await
            .map_err(|e| QueueError(format!("the enqueue stopped: {e}")))??;
        for queue in stored {
            if let Some(n) = self.wakeups.get(&queue) {
                // Wake the idle workers; the stored permit covers one that is between receives.
                n.notify_waiters();
                n.notify_one();
            }
        }
        Ok(())
    }
}
