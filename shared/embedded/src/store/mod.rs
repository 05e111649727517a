//! The store on SQLite. Rows keep their domain value as JSON in `data`, with the columns that
//! lookups, uniqueness and ordering need beside it.

mod accounts;
mod activity;
mod ai_logs;
mod ai_settings;
mod api_keys;
mod audit;
mod chats;
mod claims;
mod client_sends;
mod contexts;
mod media;
mod messages;
mod outbox;
mod rates;
mod replies;
mod webhooks;

use crate::db::Database;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use switchboard_core::ports::StoreError;

pub struct EmbeddedStore {
    db: Arc<Database>,
    paces: rates::Paces,
    pending: activity::Pending,
}

impl EmbeddedStore {
    pub fn new(db: Arc<Database>) -> Self {
        Self {
            db,
            paces: rates::Paces::default(),
            pending: activity::Pending::default(),
        }
    }
}

pub(crate) use crate::backend;

pub(crate) fn to_json(value: &impl Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(backend)
}

pub(crate) fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Backend(format!("stored row does not parse: {e}")))
}

/// Reads `data` of the rows a query returns.
pub(crate) fn query_data<T: DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(backend)?;
    let rows = stmt
        .query_map(params, |row| row.get::<_, String>(0))
        .map_err(backend)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(from_json(&row.map_err(backend)?)?);
    }
    Ok(out)
}

/// Reads `data` of the one row a query returns, if any.
pub(crate) fn load<T: DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Option<T>, StoreError> {
    let data: Option<String> = crate::cached::query_row(conn, sql, params, |r| r.get(0))
        .optional()
        .map_err(backend)?;
    data.map(|d| from_json(&d)).transpose()
}

/// `data` and the secret's hash of the one row a query returns, if any: an account with its
/// token's hash, a key with its own.
pub(crate) fn load_with_hash<T: DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    id: String,
) -> Result<Option<(T, switchboard_core::domain::account::TokenHash)>, StoreError> {
    let row: Option<(String, String)> =
        crate::cached::query_row(conn, sql, [id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(backend)?;
    row.map(|(data, hash)| {
        Ok((
            from_json(&data)?,
            switchboard_core::domain::account::TokenHash(hash),
        ))
    })
    .transpose()
}

/// An enum as its name in the API (`"skipped"`), for a column that filters by it.
pub(crate) fn name_of(value: &impl Serialize) -> Result<String, StoreError> {
    Ok(to_json(value)?.trim_matches('"').to_string())
}

pub(crate) fn timestamp_key(t: &chrono::DateTime<chrono::Utc>) -> String {
    // Fixed width, so the text sorts as the time does.
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}
