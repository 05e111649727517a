//! The domain: what Switchboard talks about, as types that can only hold valid values.

pub mod account;
pub mod activity;
pub mod ai_log;
pub mod ai_settings;
pub mod api_key;
pub mod audit;
pub mod channel;
pub mod chat;
pub mod consent;
pub mod event;
pub mod idempotency;
pub mod ids;
pub mod inbound;
pub mod jid;
pub mod media;
pub mod message;
pub mod page;
pub mod patch;
pub mod provider;
pub mod schema;
pub mod secret;
pub mod signature;
pub mod template;
pub mod validation;
pub mod webhook;
