//! API Gateway (HTTP API, payload 2.0) requests into the core's axum routers: the same ones
//! `switchboard serve` runs, split so that the `api` and `ingest` functions each serve only
//! their own routes.

use switchboard_core::http;
use switchboard_core::services::AppState;

/// Every route but ingest.
pub async fn serve_api(state: AppState) -> Result<(), lambda_runtime::Error> {
    lambda_http::run(http::api_router(
        state.clone(),
        switchboard_mcp::routes(&state, switchboard_mcp::Reach::Gateway)
            .merge(switchboard_dashboard::routes()),
    ))
    .await
}

/// `/v1/ingest/*` only.
pub async fn serve_ingest(state: AppState) -> Result<(), lambda_runtime::Error> {
    lambda_http::run(http::ingest_router(state)).await
}
