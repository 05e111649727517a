//! A queue consumer for a process outside Lambda (`switchboard serve` on the AWS backends): it
//! long-polls one SQS queue and runs each job through the same handler the Lambda consumers
//! call. A job that succeeds is deleted; one that fails is left to come back after its
//! visibility timeout, and to reach the dead-letter queue after its receive count, as under
//! Lambda's event source mapping.

use crate::AwsSettings;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use switchboard_core::jobs::JobFailure;
use switchboard_core::ports::QueueName;
use tokio::sync::watch;

/// How the consumer waits for jobs.
#[derive(Debug, Clone, Copy)]
pub enum Polling {
    /// SQS's long polling: a receive waits this long for a job (inside the SDK's attempt
    /// timeout, 3 s, so a quiet queue is not a failed call).
    Long(Duration),
    /// Short receives, with this pause after an empty one: for an emulator that answers one
    /// request at a time, which a long poll would hold.
    Short(Duration),
}

impl Polling {
    pub const LONG: Polling = Polling::Long(Duration::from_secs(2));
}

pub async fn consume<F, Fut>(
    client: Client,
    settings: AwsSettings,
    queue: QueueName,
    visibility: Duration,
    polling: Polling,
    handler: F,
    mut shutdown: watch::Receiver<bool>,
) where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), JobFailure>> + Send + 'static,
{
    let url = settings.queue_url(queue).to_string();
    let handler = Arc::new(handler);
    while !*shutdown.borrow() {
        let receive = client
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .wait_time_seconds(match polling {
                Polling::Long(wait) => wait.as_secs() as i32,
                Polling::Short(_) => 0,
            })
            .visibility_timeout(visibility.as_secs() as i32)
            .send();
        let received = tokio::select! {
            r = receive => r,
            _ = shutdown.changed() => break,
        };
        let messages = match received {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(queue = queue.as_str(), error = %DisplayErrorContext(&e), "receive failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let (true, Polling::Short(pause)) = (messages.is_empty(), polling) {
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.changed() => break,
            }
            continue;
        }
        let runs = messages.into_iter().map(|m| {
            let (client, url, handler) = (client.clone(), url.clone(), handler.clone());
            async move {
                let body = m.body.unwrap_or_default();
                match handler(body).await {
                    Ok(()) => {
                        if let Some(receipt) = m.receipt_handle {
                            let deleted = client
                                .delete_message()
                                .queue_url(&url)
                                .receipt_handle(receipt)
                                .send()
                                .await;
                            if let Err(e) = deleted {
                                tracing::warn!(error = %DisplayErrorContext(&e), "a finished job could not be deleted; it will run again");
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(queue = queue.as_str(), error = %e, "job failed; it comes back after its visibility timeout");
                    }
                }
            }
        });
        futures_join_all(runs).await;
    }
}

/// Runs the batch's jobs side by side.
async fn futures_join_all<I>(runs: I)
where
    I: IntoIterator,
    I::Item: Future<Output = ()> + Send + 'static,
{
    let tasks: Vec<_> = runs.into_iter().map(tokio::spawn).collect();
    for task in tasks {
        let _ = task.await;
    }
}
