//! One module per area of the API, each exposing `router()`; this file merges them into the
//! two routers the deployments serve (the API, and ingest) and names their tags. A new area is
//! a module here and a line in `api` or `ingest`.

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
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

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
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
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

/// `/v1/ingest/*`: inbound traffic, served by the `ingest` function so that a flood of it never
/// starves the API.
pub fn ingest() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(ingest::router())
        .merge(notifications::router())
}
