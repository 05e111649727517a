//! The queues' behaviour, written once and run against both backends (the embedded queue, and
//! SQS on moto): what the core relies on when it puts a job on a queue and a consumer runs it.
//! Jobs go in through the core's port (`JobQueue`); they come out the way each backend's
//! consumer takes them (the local worker's receive, Lambda's receive from SQS).
//! `queue_contract!` makes one test per case for a backend.

use async_trait::async_trait;
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_core::ports::{JobQueue, OutgoingJob, QueueName};
use switchboard_embedded::EmbeddedQueue;

/// A job as a consumer took it.
#[derive(Debug, Clone)]
pub struct Got {
    pub body: String,
    /// What proves this receive to the backend (a receipt, an SQS receipt handle).
    pub handle: String,
    pub id: i64,
    pub receive_count: u32,
}

/// A backend's queues, seen from both ends.
#[async_trait]
pub trait Queues: Send + Sync {
    /// The port the core enqueues through.
    fn port(&self) -> &dyn JobQueue;
    /// Up to `max` visible jobs of `queue`, hidden from other receives for `visibility`.
    async fn receive(&self, queue: QueueName, max: usize, visibility: Duration) -> Vec<Got>;
    /// The job ran: it is gone for good.
    async fn delete(&self, queue: QueueName, got: &Got);
    /// Jobs held by `queue`, waiting, delayed or received.
    async fn depth(&self, queue: QueueName) -> u64;
    /// The bodies in `queue`'s dead letters.
    async fn dead(&self, queue: QueueName) -> Vec<String>;
    /// Receives after which a job goes to the dead letters.
    fn max_receives(&self) -> u32;
}

#[macro_export]
macro_rules! queue_contract {
    ($make:path) => {
        $crate::queue_contract!(@cases $make;
            a_delayed_job_is_not_received_before_its_delay,
            a_received_job_is_hidden_and_comes_back_until_deleted,
            a_job_received_too_often_is_dead_lettered,
            a_batch_for_several_queues_arrives_whole_and_once,
        );
    };
    (@cases $make:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let queues = $make().await;
                $crate::queues::$case(&*queues).await;
            }
        )*
    };
}

fn job(body: &str, delay: Duration) -> OutgoingJob {
    OutgoingJob {
        body: body.to_string(),
        delay,
    }
}

/// Receives until `check` accepts what came, or fails after `within`.
async fn receive_until(
    queues: &dyn Queues,
    queue: QueueName,
    visibility: Duration,
    within: Duration,
    check: impl Fn(&[Got]) -> bool,
) -> Vec<Got> {
    crate::eventually(within, "the queue to hand out the job", || async {
        let got = queues.receive(queue, 10, visibility).await;
        check(&got).then_some(got)
    })
    .await
}

pub async fn a_delayed_job_is_not_received_before_its_delay(queues: &dyn Queues) {
    let queue = QueueName::AiReply;
    let sent = Instant::now();
    queues
        .port()
        .enqueue(queue, vec![job("later", Duration::from_secs(2))])
        .await
        .expect("enqueue");
    let got = receive_until(
        queues,
        queue,
        Duration::from_secs(30),
        Duration::from_secs(10),
        |got| !got.is_empty(),
    )
    .await;
    let waited = sent.elapsed();
    assert!(
        waited >= Duration::from_millis(1900),
        "received after {waited:?}"
    );
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, "later");
    queues.delete(queue, &got[0]).await;
    assert_eq!(queues.depth(queue).await, 0);
}

pub async fn a_received_job_is_hidden_and_comes_back_until_deleted(queues: &dyn Queues) {
    let queue = QueueName::Outbound;
    queues
        .port()
        .enqueue(queue, vec![job("once", Duration::ZERO)])
        .await
        .expect("enqueue");
    let visibility = Duration::from_secs(1);
    let first = receive_until(queues, queue, visibility, Duration::from_secs(10), |g| {
        !g.is_empty()
    })
    .await;
    assert_eq!((first.len(), first[0].receive_count), (1, 1));
    assert!(
        queues.receive(queue, 10, visibility).await.is_empty(),
        "hidden while received"
    );
    assert_eq!(queues.depth(queue).await, 1, "still held while received");
    // Not deleted: it comes back after the visibility timeout, counted as received twice.
    let again = receive_until(queues, queue, visibility, Duration::from_secs(10), |g| {
        !g.is_empty()
    })
    .await;
    assert_eq!(again[0].body, "once");
    assert_eq!(again[0].receive_count, 2);
    queues.delete(queue, &again[0]).await;
    assert_eq!(queues.depth(queue).await, 0, "deleted for good");
    assert!(queues.dead(queue).await.is_empty());
}

pub async fn a_job_received_too_often_is_dead_lettered(queues: &dyn Queues) {
    let queue = QueueName::Webhook;
    queues
        .port()
        .enqueue(queue, vec![job("poison", Duration::ZERO)])
        .await
        .expect("enqueue");
    // Visible again at once after each receive, as after a run that failed.
    for n in 1..=queues.max_receives() {
        let got = receive_until(
            queues,
            queue,
            Duration::ZERO,
            Duration::from_secs(10),
            |g| !g.is_empty(),
        )
        .await;
        assert_eq!(got[0].receive_count, n);
    }
    crate::eventually(
        Duration::from_secs(10),
        "the job in the dead letters",
        || async {
            // The receive after the last one moves it instead of handing it out.
            let got = queues.receive(queue, 10, Duration::ZERO).await;
            assert!(got.is_empty(), "handed out past the limit: {got:?}");
            let dead = queues.dead(queue).await;
            (!dead.is_empty()).then_some(dead)
        },
    )
    .await;
    assert_eq!(queues.dead(queue).await, vec!["poison".to_string()]);
    assert_eq!(queues.depth(queue).await, 0);
}

pub async fn a_batch_for_several_queues_arrives_whole_and_once(queues: &dyn Queues) {
    // More than one SQS batch request holds, for two queues.
    let jobs: Vec<_> = (0..25)
        .map(|i| {
            let queue = if i % 2 == 0 {
                QueueName::AiReply
            } else {
                QueueName::Outbound
            };
            (queue, job(&format!("job-{i}"), Duration::ZERO))
        })
        .collect();
    queues.port().enqueue_many(jobs).await.expect("enqueue");
    for (queue, first) in [(QueueName::AiReply, 0), (QueueName::Outbound, 1)] {
        let mut expected: Vec<_> = (first..25).step_by(2).map(|i| format!("job-{i}")).collect();
        let mut bodies = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while bodies.len() < expected.len() {
            assert!(Instant::now() < deadline, "{queue:?}: got only {bodies:?}");
            for got in queues.receive(queue, 10, Duration::from_secs(60)).await {
                queues.delete(queue, &got).await;
                bodies.push(got.body);
            }
        }
        bodies.sort();
        expected.sort();
        assert_eq!(bodies, expected, "{queue:?}: each job once");
        assert_eq!(queues.depth(queue).await, 0);
    }
}

/// The embedded queue on a fresh data dir.
pub struct Embedded {
    pub queue: Arc<EmbeddedQueue>,
    _dir: tempfile::TempDir,
}

pub async fn embedded() -> Box<dyn Queues> {
    let dir = tempfile::tempdir().expect("dir");
    let queue = switchboard_embedded::open(dir.path()).expect("open").queue;
    Box::new(Embedded { queue, _dir: dir })
}

#[async_trait]
impl Queues for Embedded {
    fn port(&self) -> &dyn JobQueue {
        &*self.queue
    }

    async fn receive(&self, queue: QueueName, max: usize, visibility: Duration) -> Vec<Got> {
        let received = self
            .queue
            .receive(queue, max, visibility)
            .await
            .expect("receive");
        received
            .jobs
            .into_iter()
            .map(|j| Got {
                body: j.body,
                handle: j.receipt,
                id: j.id,
                receive_count: j.receive_count,
            })
            .collect()
    }

    async fn delete(&self, _queue: QueueName, got: &Got) {
        let job = switchboard_embedded::ReceivedJob {
            id: got.id,
            receipt: got.handle.clone(),
            body: got.body.clone(),
            receive_count: got.receive_count,
        };
        // The worker's own path: deletions are written together, soon after.
        self.queue.delete_soon(&job);
        self.queue.deletions_settled().await;
    }

    async fn depth(&self, queue: QueueName) -> u64 {
        self.queue.depth(queue).await.expect("depth").0
    }

    async fn dead(&self, queue: QueueName) -> Vec<String> {
        self.queue.dead_letters(queue).await.expect("dead letters")
    }

    fn max_receives(&self) -> u32 {
        switchboard_embedded::queue::MAX_RECEIVES
    }
}

/// SQS on moto: a deployment's three queues, each with its dead-letter queue, as the template
/// makes them.
pub struct Sqs {
    queue: switchboard_aws::SqsQueue,
    client: aws_sdk_sqs::Client,
    deployment: crate::aws::Deployment,
}

const SQS_MAX_RECEIVES: u32 = 3;

pub async fn sqs() -> Box<dyn Queues> {
    let deployment = crate::aws::deployment(SQS_MAX_RECEIVES).await;
    Box::new(Sqs {
        queue: deployment.queue(),
        client: aws_sdk_sqs::Client::new(&deployment.sdk),
        deployment,
    })
}

impl Sqs {
    fn url(&self, queue: QueueName) -> &str {
        self.deployment.settings.queue_url(queue)
    }

    fn dead_letter_url(&self, queue: QueueName) -> &str {
        let index = QueueName::ALL
            .iter()
            .position(|q| *q == queue)
            .expect("a queue");
        &self.deployment.dead_letters[index]
    }
}

#[async_trait]
impl Queues for Sqs {
    fn port(&self) -> &dyn JobQueue {
        &self.queue
    }

    async fn receive(&self, queue: QueueName, max: usize, visibility: Duration) -> Vec<Got> {
        use aws_sdk_sqs::types::MessageSystemAttributeName;
        let out = self
            .client
            .receive_message()
            .queue_url(self.url(queue))
            .max_number_of_messages(max.min(10) as i32)
            .visibility_timeout(visibility.as_secs() as i32)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .expect("receive");
        out.messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| Got {
                receive_count: m
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|n| n.parse().ok())
                    .expect("receive count"),
                body: m.body.unwrap_or_default(),
                handle: m.receipt_handle.unwrap_or_default(),
                id: 0,
            })
            .collect()
    }

    async fn delete(&self, queue: QueueName, got: &Got) {
        // A stale handle is refused or ignored by SQS; either way the message stays.
        let _ = self
            .client
            .delete_message()
            .queue_url(self.url(queue))
            .receipt_handle(&got.handle)
            .send()
            .await;
    }

    async fn depth(&self, queue: QueueName) -> u64 {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(self.url(queue))
            .attribute_names(A::All)
            .send()
            .await
            .expect("attributes");
        let attributes = out.attributes.unwrap_or_default();
        [
            A::ApproximateNumberOfMessages,
            A::ApproximateNumberOfMessagesNotVisible,
            A::ApproximateNumberOfMessagesDelayed,
        ]
        .iter()
        .filter_map(|a| attributes.get(a).and_then(|n| n.parse::<u64>().ok()))
        .sum()
    }

    async fn dead(&self, queue: QueueName) -> Vec<String> {
        crate::lambda::peek(&self.client, self.dead_letter_url(queue)).await
    }

    fn max_receives(&self) -> u32 {
        SQS_MAX_RECEIVES
    }
}
