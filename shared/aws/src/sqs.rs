//! The job queues on SQS standard queues: delays as `DelaySeconds`, several jobs for one queue
//! in one `SendMessageBatch`.

use crate::AwsSettings;
use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use switchboard_core::ports::{JobQueue, MAX_QUEUE_DELAY, OutgoingJob, QueueError, QueueName};

/// SQS's limit of entries in one batch request.
const BATCH: usize = 10;

#[derive(Clone)]
pub struct SqsQueue {
    client: Client,
    settings: AwsSettings,
}

impl SqsQueue {
    pub fn new(client: Client, settings: AwsSettings) -> Self {
        Self { client, settings }
    }

    /// The SQS client, for a consumer on the same connection.
    pub fn client(&self) -> &Client {
        &self.client
    }

    async fn send_batch(&self, url: &str, jobs: &[OutgoingJob]) -> Result<(), QueueError> {
        let mut entries: Vec<SendMessageBatchRequestEntry> = Vec::with_capacity(jobs.len());
        for (i, job) in jobs.iter().enumerate() {
            entries.push(
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(&job.body)
                    .delay_seconds(delay_seconds(job))
                    .build()
                    .map_err(|e| QueueError(e.to_string()))?,
            );
        }
        // An entry that failed alone (throttling, a hiccup) gets one more try.
        for _ in 0..2 {
            let out = self
                .client
                .send_message_batch()
                .queue_url(url)
                .set_entries(Some(entries.clone()))
                .send()
                .await
                .map_err(|e| QueueError(format!("sqs: {}", DisplayErrorContext(&e))))?;
            let failed: Vec<String> = out.failed.iter().map(|f| f.id.clone()).collect();
            if failed.is_empty() {
                return Ok(());
            }
            entries.retain(|e| failed.contains(&e.id));
        }
        Err(QueueError(format!(
            "sqs: {} of the jobs were not accepted",
            entries.len()
        )))
    }
}

/// SQS delays in whole seconds: a part of a second rounds up, so a job that must wait (a pace,
/// a debounce) never comes back before it may run.
fn delay_seconds(job: &OutgoingJob) -> i32 {
    job.delay.min(MAX_QUEUE_DELAY).as_millis().div_ceil(1000) as i32
}

#[async_trait]
impl JobQueue for SqsQueue {
    async fn enqueue(&self, queue: QueueName, jobs: Vec<OutgoingJob>) -> Result<(), QueueError> {
        let url = self.settings.queue_url(queue);
        if let [job] = jobs.as_slice() {
            self.client
                .send_message()
                .queue_url(url)
                .message_body(&job.body)
                .delay_seconds(delay_seconds(job))
                .send()
                .await
                .map_err(|e| QueueError(format!("sqs: {}", DisplayErrorContext(&e))))?;
            return Ok(());
        }
        for chunk in jobs.chunks(BATCH) {
            self.send_batch(url, chunk).await?;
        }
        Ok(())
    }
}

impl SqsQueue {
    /// One cheap call that opens the connection.
    pub async fn warm_up(&self) -> Result<(), String> {
        self.client
            .get_queue_attributes()
            .queue_url(&self.settings.webhook_queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::DelaySeconds)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| DisplayErrorContext(&e).to_string())
    }
}
