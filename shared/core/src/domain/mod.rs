//! The domain: what Switchboard talks about, as types that can only hold valid values.

pub mod account;
pub mod ai_log;
pub mod ai_settings;
pub mod chat;
pub mod event;
pub mod ids;
pub mod message;
pub mod page;
pub mod provider;
pub mod signature;
pub mod validation;
pub mod webhook;
