//! Use-cases: what the application does, over the ports. HTTP handlers and job consumers are thin
//! shells around these.

pub mod accounts;
pub mod ai_settings;
pub mod ai_test;
pub mod api_keys;
pub mod audit;
pub mod chats;
pub mod client_messages;
pub mod connect;
pub mod consent;
pub mod events;
pub mod generate;
pub mod ingest;
pub mod media;
pub mod notifications;
pub mod outbox;
pub mod overview;
pub mod reach;
pub mod reply;
pub mod send;
pub mod statuses;
pub mod templates;
pub mod typing;
pub mod webhook_delivery;
pub mod webhooks;
