//! The local queue: its worker and its hand-over at enqueue; and the queue contract on both
//! backends (`switchboard_tests::queues`).

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;
use switchboard_core::jobs::JobFailure;
use switchboard_core::ports::{JobQueue, OutgoingJob, QueueName};
use switchboard_embedded::Handed;
use switchboard_embedded::worker::{self, JobHandler, WorkerConfig};
use tokio::sync::{Semaphore, watch};

fn job(body: String, delay: Duration) -> OutgoingJob {
    OutgoingJob { body, delay }
}

#[tokio::test]
async fn concurrent_workers_never_run_the_same_job_at_once() {
    let dir = tempfile::tempdir().expect("dir");
    let embedded = switchboard_embedded::open(dir.path()).expect("open");
    let queue = embedded.queue;
    // Half stored before the workers start; half enqueued while they run, most of which are
    // handed to them as they are enqueued.
    let jobs: Vec<_> = (0..150)
        .map(|i| job(format!("job-{i}"), Duration::ZERO))
        .collect();
    queue
        .enqueue(QueueName::Outbound, jobs)
        .await
        .expect("enqueue");

    let in_flight = Arc::new(Mutex::new(HashSet::new()));
    let done = Arc::new(Mutex::new(Vec::new()));
    let overlaps = Arc::new(Mutex::new(Vec::new()));
    let handler: JobHandler = {
        let (in_flight, done, overlaps) = (in_flight.clone(), done.clone(), overlaps.clone());
        Arc::new(move |body: String| {
            let (in_flight, done, overlaps) = (in_flight.clone(), done.clone(), overlaps.clone());
            Box::pin(async move {
                if !in_flight.lock().expect("lock").insert(body.clone()) {
                    overlaps.lock().expect("lock").push(body.clone());
                }
                // In flight across a yield: another worker could take it meanwhile.
                tokio::task::yield_now().await;
                in_flight.lock().expect("lock").remove(&body);
                done.lock().expect("lock").push(body);
                Ok::<(), JobFailure>(())
            })
        })
    };
    let (stop, stopped) = watch::channel(false);
    let config = WorkerConfig {
        queue: QueueName::Outbound,
        batch: 7,
        visibility: Duration::from_secs(30),
    };
    let workers: Vec<_> = (0..4)
        .map(|_| {
            tokio::spawn(worker::run(
                queue.clone(),
                config,
                handler.clone(),
                stopped.clone(),
            ))
        })
        .collect();
    for chunk in 0..15 {
        let jobs: Vec<_> = (0..10)
            .map(|i| job(format!("job-{}", 150 + chunk * 10 + i), Duration::ZERO))
            .collect();
        queue
            .enqueue(QueueName::Outbound, jobs)
            .await
            .expect("enqueue");
        // The workers take what they can before the next ten arrive.
        tokio::task::yield_now().await;
    }
    switchboard_tests::eventually(Duration::from_secs(30), "all jobs to run", || {
        let done = done.clone();
        async move { (done.lock().expect("lock").len() >= 300).then_some(()) }
    })
    .await;
    let _ = stop.send(true);
    for w in workers {
        w.await.expect("worker");
    }
    let done = done.lock().expect("lock").clone();
    assert_eq!(done.len(), 300, "each job ran exactly once");
    assert_eq!(done.iter().collect::<HashSet<_>>().len(), 300);
    assert!(overlaps.lock().expect("lock").is_empty());
    assert_eq!(
        queue.depth(QueueName::Outbound).await.expect("depth"),
        (0, 0)
    );
}

mod embedded_queue {
    switchboard_tests::queue_contract!(switchboard_tests::queues::embedded);
}

mod sqs_queue {
    switchboard_tests::queue_contract!(switchboard_tests::queues::sqs);
}

#[tokio::test]
async fn only_the_latest_receive_deletes_or_releases_a_job() {
    let dir = tempfile::tempdir().expect("dir");
    let queue = switchboard_embedded::open(dir.path()).expect("open").queue;
    let q = QueueName::Outbound;
    queue
        .enqueue(q, vec![job("once".into(), Duration::ZERO)])
        .await
        .expect("enqueue");
    let first = queue
        .receive(q, 1, Duration::ZERO)
        .await
        .expect("receive")
        .jobs;
    let second = queue
        .receive(q, 1, Duration::from_secs(60))
        .await
        .expect("receive")
        .jobs;
    assert_eq!((first.len(), second.len()), (1, 1));
    queue.delete_soon(&first[0]);
    queue.deletions_settled().await;
    queue
        .release(&first[0], Duration::ZERO)
        .await
        .expect("release");
    assert!(
        queue
            .receive(q, 1, Duration::ZERO)
            .await
            .expect("receive")
            .jobs
            .is_empty(),
        "a stale receipt released it"
    );
    assert_eq!(
        queue.depth(q).await.expect("depth"),
        (1, 0),
        "a stale receipt deleted it"
    );
    queue.delete_soon(&second[0]);
    queue.deletions_settled().await;
    assert_eq!(queue.depth(q).await.expect("depth"), (0, 0));
}

#[tokio::test]
async fn dead_letters_go_back_on_their_queue_with_redrive() {
    let dir = tempfile::tempdir().expect("dir");
    let queue = switchboard_embedded::open(dir.path()).expect("open").queue;
    let q = QueueName::AiReply;
    queue
        .enqueue(q, vec![job("poison".into(), Duration::ZERO)])
        .await
        .expect("enqueue");
    for _ in 0..=switchboard_embedded::queue::MAX_RECEIVES {
        queue.receive(q, 1, Duration::ZERO).await.expect("receive");
    }
    assert_eq!(queue.depth(q).await.expect("depth"), (0, 1));
    assert_eq!(queue.redrive(q).await.expect("redrive"), 1);
    let back = queue
        .receive(q, 1, Duration::ZERO)
        .await
        .expect("receive")
        .jobs;
    assert_eq!(
        back.iter()
            .map(|j| (j.body.as_str(), j.receive_count))
            .collect::<Vec<_>>(),
        [("poison", 1)],
        "back with a fresh count"
    );
}

#[tokio::test]
async fn a_job_enqueued_while_a_worker_has_a_free_slot_is_handed_over_received_unless_stored_jobs_wait()
 {
    let dir = tempfile::tempdir().expect("dir");
    let queue = switchboard_embedded::open(dir.path()).expect("open").queue;
    let q = QueueName::Webhook;
    let slots = Arc::new(Semaphore::new(2));
    let mut handed = queue.attach(q, slots.clone(), Duration::from_millis(300));
    let jobs = (0..3).map(|i| job(format!("now-{i}"), Duration::ZERO));
    let later = job("later".into(), Duration::from_millis(100));
    queue
        .enqueue(q, jobs.chain([later]).collect())
        .await
        .expect("enqueue");

    let first = handed.try_recv().expect("handed over");
    let second = handed.try_recv().expect("handed over");
    assert!(
        handed.try_recv().is_err(),
        "two slots, two jobs handed over"
    );
    assert_eq!(slots.available_permits(), 0, "each holds its slot");
    assert_eq!(
        (first.job.body.as_str(), first.job.receive_count),
        ("now-0", 1)
    );
    assert_eq!(second.job.body, "now-1");

    // A slot frees, but a job was stored for want of one: the next waits behind it.
    let Handed { job: first, slot } = first;
    drop(slot);
    queue
        .enqueue(q, vec![job("behind".into(), Duration::ZERO)])
        .await
        .expect("enqueue");
    assert!(handed.try_recv().is_err(), "not handed over ahead of now-2");
    let stored = queue
        .receive(q, 10, Duration::from_secs(5))
        .await
        .expect("receive");
    assert_eq!(
        stored
            .jobs
            .iter()
            .map(|d| d.body.as_str())
            .collect::<Vec<_>>(),
        ["now-2", "behind"],
        "the handed jobs are stored as received; the delayed one waits"
    );
    assert!(!stored.more_may_wait);
    // The receive took every ready job: handing over resumes.
    queue
        .enqueue(q, vec![job("after".into(), Duration::ZERO)])
        .await
        .expect("enqueue");
    let after = handed.try_recv().expect("handed over again");
    assert_eq!(after.job.body, "after");

    // Their worker dies without finishing them: they come back after its visibility timeout.
    drop((first, second, after));
    let back = Mutex::new(Vec::new());
    let mut back =
        switchboard_tests::eventually(Duration::from_secs(5), "the jobs back", || async {
            let received = queue
                .receive(q, 10, Duration::from_secs(5))
                .await
                .expect("receive")
                .jobs;
            let mut back = back.lock().expect("lock");
            back.extend(received);
            (back.len() >= 4).then(|| back.clone())
        })
        .await;
    back.sort_by(|a, b| a.body.cmp(&b.body));
    assert_eq!(
        back.iter()
            .map(|d| (d.body.as_str(), d.receive_count))
            .collect::<Vec<_>>(),
        [("after", 2), ("later", 1), ("now-0", 2), ("now-1", 2)]
    );

    // A caller that gives up on its enqueue once it has begun does not strand the job that
    // was being handed over.
    let mut enqueue = Box::pin(queue.enqueue(q, vec![job("abandoned".into(), Duration::ZERO)]));
    let polled = std::future::poll_fn(|cx| Poll::Ready(enqueue.as_mut().poll(cx))).await;
    assert!(polled.is_pending(), "begun, not done");
    drop(enqueue);
    let abandoned = tokio::time::timeout(Duration::from_secs(5), handed.recv())
        .await
        .expect("handed over all the same")
        .expect("open");
    assert_eq!(abandoned.job.body, "abandoned");

    // A closed channel takes no more jobs.
    handed.close();
    queue
        .enqueue(q, vec![job("stored".into(), Duration::ZERO)])
        .await
        .expect("enqueue");
    assert!(handed.recv().await.is_none());
    assert_eq!(
        queue.depth(q).await.expect("depth"),
        (8, 0),
        "all eight are still stored"
    );
}

#[tokio::test]
async fn taking_back_received_jobs_leaves_released_and_delayed_ones_waiting() {
    let dir = tempfile::tempdir().expect("dir");
    let queue = switchboard_embedded::open(dir.path()).expect("open").queue;
    let q = QueueName::Outbound;
    let hour = Duration::from_secs(3600);
    queue
        .enqueue(
            q,
            vec![
                job("held".into(), Duration::ZERO),
                job("retried".into(), Duration::ZERO),
                job("later".into(), hour),
            ],
        )
        .await
        .expect("enqueue");
    let received = queue.receive(q, 10, hour).await.expect("receive").jobs;
    assert_eq!(received.len(), 2);
    let retried = received
        .iter()
        .find(|d| d.body == "retried")
        .expect("retried");
    queue.release(retried, hour).await.expect("release");

    assert_eq!(queue.take_back_received().await.expect("take back"), 1);
    let back = queue.receive(q, 10, hour).await.expect("receive").jobs;
    assert_eq!(
        back.iter()
            .map(|d| (d.body.as_str(), d.receive_count))
            .collect::<Vec<_>>(),
        [("held", 2)],
        "the released job keeps its backoff, the delayed one its delay"
    );
    queue.delete_soon(retried);
    queue.deletions_settled().await;
    assert_eq!(
        queue.depth(q).await.expect("depth"),
        (3, 0),
        "a released job's receipt is void"
    );
}
