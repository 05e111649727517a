//! The `outbound` function: the send jobs: send as the account, record the outcome, emit the events (SQS, partial batch failures reported).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), switchboard_lambda::Error> {
    let state = switchboard_lambda::boot::start().await?;
    switchboard_lambda::sqs::serve(state, switchboard_lambda::QueueName::Outbound).await
}
