//! API Gateway (HTTP API, payload 2.0) requests into the core's axum routers: the same ones
//! `switchboard serve` runs, split so that the `api`, `ingest` and `mcp` functions each serve
//! only their own routes.

use switchboard_core::http;
use switchboard_core::services::AppState;

/// Every route but ingest and `/mcp`.
pub async fn serve_api(state: AppState) -> Result<(), lambda_runtime::Error> {
    lambda_http::run(http::api_router(state, switchboard_dashboard::routes())).await
}

/// `/mcp` only.
pub async fn serve_mcp(state: AppState) -> Result<(), lambda_runtime::Error> {
    let routes = switchboard_mcp::routes(&state, switchboard_mcp::Reach::Gateway);
    lambda_http::run(http::mounted_router(state, routes)).await
}

/// `/v1/ingest/*` only.
pub async fn serve_ingest(state: AppState) -> Result<(), lambda_runtime::Error> {
    lambda_http::run(http::ingest_router(state)).await
}
