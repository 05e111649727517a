//! The HTTP API as axum routers. The same `router` runs under `lambda_http` on AWS and under
//! `axum::serve` locally; the OpenAPI document is generated from the handlers' annotations.

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
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchboard",
        description = "Self-hosted WhatsApp and multi-channel messaging gateway with AI auto-reply."
    ),
    modifiers(&BearerAuth),
    components(schemas(ErrorBody, ErrorDetail)),
    tags(
        (name = "operations", description = "Health and the API document"),
        (name = "auth", description = "Admin login"),
        (name = "accounts", description = "Sending identities and their tokens"),
        (name = "ai", description = "AI configuration at the global, account and chat levels"),
        (name = "chats", description = "Chats and their messages"),
        (name = "ingest", description = "Inbound messages from bridges, relays and providers"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An admin JWT, or an account token where the endpoint allows one",
                    ))
                    .build(),
            ),
        );
    }
}

fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::health::router())
        .merge(routes::auth::router())
        .merge(routes::accounts::router())
        .merge(routes::ai::router())
        .merge(routes::ai_test::router())
        .merge(routes::ai_logs::router())
        .merge(routes::chats::router())
        .merge(routes::messages::router())
        .merge(routes::ingest::router())
        .merge(routes::webhooks::router())
}

/// The OpenAPI document of every route, as served at `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_router().split_for_parts().1
}

pub fn router(state: AppState) -> Router {
    let (router, api) = api_router().split_for_parts();
    // Written out on the first request, not at start: a function's cold start does not pay
    // for a document that is rarely asked for.
    let document = std::sync::Arc::new((api, std::sync::OnceLock::<String>::new()));
    router
        .route(
            "/openapi.json",
            get(move || {
                let document = document.clone();
                async move {
                    let (api, text) = &*document;
                    let text = text
                        .get_or_init(|| api.to_json().unwrap_or_else(|_| "{}".to_string()))
                        .clone();
                    ([(header::CONTENT_TYPE, "application/json")], text)
                }
            }),
        )
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
