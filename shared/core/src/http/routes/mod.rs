//! One module per area of the API, each declaring its handlers with `area!`; this file merges
//! them into the two routers the deployments serve (the API, and ingest), and their documents,
//! and names their tags. A new area is a module here and a name in the list of `api` or
//! `ingest`.

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

/// A deployment's areas, named once: `$routes()` merges their routers, `$document()` their
/// documented routes over `$base`, so an area is served and documented or neither.
macro_rules! deployment {
    ($(#[$doc:meta])* $routes:ident, $document:ident, $base:expr, [$($area:ident),+ $(,)?]) => {
        $(#[$doc])*
        pub fn $routes() -> Router<AppState> {
            Router::new() $( .merge($area::router()) )+
        }

        /// The same routes with their document.
        pub fn $document() -> OpenApiRouter<AppState> {
            $base $( .merge($area::document()) )+
        }
    };
}

deployment!(
    /// Every route but ingest: what the `api` function serves.
    api,
    api_document,
    OpenApiRouter::with_openapi(ApiDoc::openapi()),
    [
        health,
        auth,
        accounts,
        overview,
        ai_settings,
        ai_test,
        ai_logs,
        chats,
        messages,
        webhooks,
        outbox,
        api_keys,
        client_messages,
        audit,
    ]
);

deployment!(
    /// `/v1/ingest/*`: inbound traffic, served by the `ingest` function so that a flood of it
    /// never starves the API.
    ingest,
    ingest_document,
    OpenApiRouter::new(),
    [ingest, notifications]
);
