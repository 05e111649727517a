//! The one entry point that runs a job, whatever delivered it: the local worker and the Lambda
//! SQS consumers call the same `run`.

use crate::jobs::{Job, JobFailure};
use crate::services::Services;
use crate::usecases::send::{self, AiReply};
use crate::usecases::{outbox, reply, statuses, typing, webhook_delivery};

/// Runs one delivered job body.
pub async fn run(services: &Services, body: &str) -> Result<(), JobFailure> {
    let job: Job = serde_json::from_str(body).map_err(|e| JobFailure::Poison(e.to_string()))?;
    match job {
        Job::Reply {
            account_id,
            chat_id,
            message_id,
        } => reply::answer(services, &account_id, &chat_id, &message_id).await,
        Job::Send {
            account_id,
            chat_id,
            message_id,
            ai_log_id,
            withdraw_if_newer,
            attempt,
        } => {
            let reply = ai_log_id.as_ref().map(|log| AiReply {
                log,
                withdraw_if_newer,
            });
            send::send_queued(services, &account_id, &chat_id, &message_id, reply, attempt).await
        }
        Job::Typing {
            account_id,
            chat_id,
            replying_to,
        } => Ok(typing::show(services, &account_id, &chat_id, replying_to.as_deref()).await?),
        Job::Status {
            account_id,
            report,
            attempt,
        } => Ok(statuses::apply(services, &account_id, report, attempt).await?),
        Job::LeaseEnd {
            account_id,
            message_id,
            until,
        } => Ok(outbox::end_lease(services, &account_id, &message_id, until).await?),
        Job::Expire {
            account_id,
            chat_id,
            message_id,
        } => {
            crate::usecases::client_messages::expire(services, &account_id, &chat_id, &message_id)
                .await
        }
        Job::Event(event) => webhook_delivery::fan_out(services, &event).await,
        Job::DeliverWebhook(delivery) => webhook_delivery::attempt(services, delivery).await,
    }
}
