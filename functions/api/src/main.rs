//! The `api` function: every HTTP route but ingest, behind API Gateway.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), switchboard_lambda::Error> {
    let state = switchboard_lambda::boot::start().await?;
    switchboard_lambda::http::serve_api(state).await
}
