//! One module per area of the API, each declaring its handlers with `area!`; this file merges
//! them into the two routers the deployments serve (the API, and ingest), and their documents,
//! and names their tags. A new area is a module here and a line in `api` or `ingest` and their
//! `_document`s.

pub mod accounts;
pub mod ai_logs;
pub mod ai_settings;
pub mod ai_test;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod chats;
pub mod client_messages;
pub mod health;
pub mod ingest;
pub mod messages;
pub mod notifications;
pub mod outbox;
pub mod overview;
pub mod webhooks;

use crate::domain::ai_log::AiLog;
use crate::domain::chat::ChatJid;
use crate::domain::event::ConsentChanged;
use crate::domain::event::{WebhookDisabled, WebhookTest};
use crate::domain::media::MediaProcessed;
use crate::domain::message::{MessageView, StatusEvent};
use crate::http::{ErrorBody, ErrorDetail};
use crate::services::AppState;
use axum::Router;
use axum::handler::Handler;
use axum::routing::MethodRouter;
use utoipa::OpenApi;
use utoipa::openapi::HttpMethod;
use utoipa_axum::PathItemExt;
use utoipa_axum::router::OpenApiRouter;

/// An area's handlers, grouped by path, made into two things: `router()`, the routes a
/// deployment serves, from each handler's path and methods alone; and `document()`, the same
/// routes with their OpenAPI operations and schemas, which only `/openapi.json` needs. Building
/// the document with the routes took 3.5 ms of the `api` function's init, for a document that is
/// rarely asked for. That both come from one list keeps them from drifting apart
/// (tests/system/openapi.rs checks every documented operation is routed).
macro_rules! area {
    (@make [$($layer:expr)?] $( [$first:ident $(, $handler:ident)* $(,)?] ),+ $(,)?) => {
        pub fn router() -> axum::Router<$crate::services::AppState> {
            #[allow(unused_imports)]
            use utoipa::Path as _;
            let router = axum::Router::new();
            $(
                let router = utoipa_axum::paste! {{
                    let methods = super::on(
                        axum::routing::MethodRouter::new(),
                        [<__path_ $first>]::methods(),
                        $first,
                    );
                    $( let methods = super::on(methods, [<__path_ $handler>]::methods(), $handler); )*
                    router.route(&[<__path_ $first>]::path(), methods)
                }};
            )+
            router $( .layer($layer) )?
        }

        pub fn document() -> utoipa_axum::router::OpenApiRouter<$crate::services::AppState> {
            utoipa_axum::router::OpenApiRouter::new()
                $( .routes(utoipa_axum::routes!($first $(, $handler)*)) )+
                $( .layer($layer) )?
        }
    };
    // A layer over the area's routes alone.
    (layer = $layer:expr; $($groups:tt)+) => {
        $crate::http::routes::area!(@make [$layer] $($groups)+);
    };
    ($($groups:tt)+) => {
        $crate::http::routes::area!(@make [] $($groups)+);
    };
}
pub(crate) use area;

/// `handler` on each of `methods`.
fn on<H, T>(
    router: MethodRouter<AppState>,
    methods: Vec<HttpMethod>,
    handler: H,
) -> MethodRouter<AppState>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    methods.iter().fold(router, |router, method| {
        router.on(method.to_method_filter(), handler.clone())
    })
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchboard",
        description = "Self-hosted WhatsApp and multi-channel messaging gateway with AI auto-reply."
    ),
    components(schemas(
        ErrorBody, ErrorDetail, ChatJid, MessageView, StatusEvent, AiLog, WebhookDisabled,
        WebhookTest, MediaProcessed, ConsentChanged
    )),
    tags(
        (name = "operations", description = "Health and the API document"),
        (name = "auth", description = "Admin login"),
        (name = "accounts", description = "Sending identities and their tokens"),
        (name = "ai", description = "AI configuration at the global, account and chat levels"),
        (name = "chats", description = "Chats and their messages"),
        (name = "webhooks", description = "Events sent to your systems, and their deliveries"),
        (name = "ingest", description = "Inbound messages from bridges, relays and providers"),
        (name = "relay", description = "A relay phone's outbox"),
        (name = "client", description = "The client messages API: keys with policy, sends, confirmation, drafts, audit"),
    )
)]
struct ApiDoc;

/// Every route but ingest: what the `api` function serves.
pub fn api() -> Router<AppState> {
    Router::new()
        .merge(health::router())
        .merge(auth::router())
        .merge(accounts::router())
        .merge(overview::router())
        .merge(ai_settings::router())
        .merge(ai_test::router())
        .merge(ai_logs::router())
        .merge(chats::router())
        .merge(messages::router())
        .merge(webhooks::router())
        .merge(outbox::router())
        .merge(api_keys::router())
        .merge(client_messages::router())
        .merge(audit::router())
}

/// `api`'s routes with their document.
pub fn api_document() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::document())
        .merge(auth::document())
        .merge(accounts::document())
        .merge(overview::document())
        .merge(ai_settings::document())
        .merge(ai_test::document())
        .merge(ai_logs::document())
        .merge(chats::document())
        .merge(messages::document())
        .merge(webhooks::document())
        .merge(outbox::document())
        .merge(api_keys::document())
        .merge(client_messages::document())
        .merge(audit::document())
}

/// `/v1/ingest/*`: inbound traffic, served by the `ingest` function so that a flood of it never
/// starves the API.
pub fn ingest() -> Router<AppState> {
    Router::new()
        .merge(ingest::router())
        .merge(notifications::router())
}

/// `ingest`'s routes with their document.
pub fn ingest_document() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(ingest::document())
        .merge(notifications::document())
}
