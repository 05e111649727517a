//! SQS batches into the core's job runner. The records of a batch run side by side; each one
//! that fails is reported alone (`ReportBatchItemFailures`), so one bad record never makes
//! SQS redeliver the others. A record that can never succeed fails every time and lands in
//! the queue's dead-letter queue after its receive count.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{LambdaEvent, service_fn};
use std::time::Instant;
use switchboard_core::dispatch;
use switchboard_core::jobs::JobFailure;
use switchboard_core::ports::QueueName;
use switchboard_core::services::{AppState, Services};

pub async fn serve(state: AppState, queue: QueueName) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let state = state.clone();
        async move { Ok::<_, lambda_runtime::Error>(handle(&state, queue, event.payload).await) }
    }))
    .await
}

/// Runs every record; the response names the ones to redeliver.
pub async fn handle(state: &Services, queue: QueueName, event: SqsEvent) -> SqsBatchResponse {
    let runs = event.records.iter().map(|record| async move {
        let id = record.message_id.clone().unwrap_or_default();
        let started = Instant::now();
        let outcome = dispatch::run(state, record.body.as_deref().unwrap_or_default()).await;
        let ms = started.elapsed().as_millis() as u64;
        match &outcome {
            Ok(()) => tracing::info!(queue = queue.as_str(), record = %id, ms, "job done"),
            Err(JobFailure::Retry(e)) => {
                tracing::warn!(queue = queue.as_str(), record = %id, ms, error = %e, "job will be retried")
            }
            Err(JobFailure::Poison(e)) => {
                tracing::error!(queue = queue.as_str(), record = %id, ms, error = %e, "job can never run")
            }
        }
        (id, outcome.is_ok())
    });
    let mut response = SqsBatchResponse::default();
    for (id, ok) in futures::future::join_all(runs).await {
        if !ok {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}
