//! API Gateway (HTTP API, payload 2.0) requests into the core's axum router: the same router
//! `switchboard serve` runs.

use switchboard_core::services::AppState;

pub async fn serve(state: AppState) -> Result<(), lambda_runtime::Error> {
    lambda_http::run(switchboard_core::http::router(state)).await
}
