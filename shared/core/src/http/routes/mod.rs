//! One module per area of the API, each exposing `router()`.

pub mod accounts;
pub mod ai;
pub mod ai_logs;
pub mod ai_test;
pub mod auth;
pub mod chats;
pub mod health;
pub mod ingest;
pub mod messages;
pub mod webhooks;

/// Deserializes a present field (even `null`) as `Some`, so `Option<Option<T>>` tells "left out"
/// (`None`) from "set to null" (`Some(None)`).
pub(crate) fn present<'de, T, D>(d: D) -> Result<Option<T>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    T::deserialize(d).map(Some)
}
