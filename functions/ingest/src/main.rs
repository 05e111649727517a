//! The `ingest` function: inbound messages from providers, bridges and relay phones.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), switchboard_lambda::Error> {
    let state = switchboard_lambda::boot::start().await?;
    switchboard_lambda::http::serve_ingest(state).await
}
