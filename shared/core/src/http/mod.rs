//! The HTTP API as axum routers. The same routers run under `lambda_http` on AWS (`api_router`
//! in the `api` function, `ingest_router` in `ingest`, `mounted_router` with the MCP server in
//! `mcp`) and under `axum::serve` locally (`router`, all of them). The OpenAPI document is generated from the handlers' annotations (`openapi`) and
//! served as committed in `docs/openapi.json`, which the tests hold equal to the generated one:
//! a function does not carry the code that builds it (half a megabyte of `api`).

mod document;
mod error_body;
pub mod extract;
mod routes;

pub use error_body::{ErrorBody, ErrorDetail};

use crate::error::AppError;
use crate::services::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::any::Any;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

/// The OpenAPI document of every route (the API's and ingest's), as served at `/openapi.json`:
/// generated from the handlers' annotations, then completed (see `document`).
pub fn openapi() -> serde_json::Value {
    let generated = routes::api_document()
        .merge(routes::ingest_document())
        .split_for_parts()
        .1;
    let mut doc = serde_json::to_value(generated).unwrap_or_default();
    document::complete(&mut doc);
    doc
}

/// Every route but ingest, with the API document; `mounted` are services that live beside the
/// API under the same layers (the MCP server, the dashboard), kept out of core as they bring
/// their own crates.
pub fn api_router(state: AppState, mounted: Router<AppState>) -> Router {
    finish(with_document(routes::api()).merge(mounted), state)
}

/// `mounted` alone, under the layers every router shares (the MCP server in a function of its
/// own).
pub fn mounted_router(state: AppState, mounted: Router<AppState>) -> Router {
    finish(mounted, state)
}

/// `/v1/ingest/*` only.
pub fn ingest_router(state: AppState) -> Router {
    finish(routes::ingest(), state)
}

/// Both, as one process serves them.
pub fn router(state: AppState, mounted: Router<AppState>) -> Router {
    let router = routes::api().merge(routes::ingest());
    finish(with_document(router).merge(mounted), state)
}

/// The document `/openapi.json` serves: `openapi()` as committed (tests/system/openapi.rs
/// checks the two are equal, and writes the file anew when asked).
pub const DOCUMENT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../docs/openapi.json"
));

/// `GET /openapi.json`.
fn with_document(router: Router<AppState>) -> Router<AppState> {
    router.route(
        "/openapi.json",
        get(|| async { ([(header::CONTENT_TYPE, "application/json")], DOCUMENT) }),
    )
}

/// What every router shares: the API's 404 and 405, the body limit, panics as 500, one log
/// line per request.
fn finish(router: Router<AppState>, state: AppState) -> Router {
    router
        .fallback(|| async { AppError::NotFound("route") })
        .method_not_allowed_fallback(|| async {
            let mut response =
                AppError::bad_request("method_not_allowed", "method not allowed").into_response();
            *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            response
        })
        .layer(DefaultBodyLimit::max(extract::MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(on_panic))
        // One line per request at info; headers (and so credentials) are not logged.
        .layer(
            TraceLayer::new_for_http()
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .with_state(state)
}

fn on_panic(_: Box<dyn Any + Send + 'static>) -> Response {
    AppError::Internal("handler panicked".into()).into_response()
}
