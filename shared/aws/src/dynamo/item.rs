//! Reading and writing item attributes. Domain values are kept whole as JSON in `data`; the
//! attributes that keys, conditions and in-place updates need sit beside it.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use switchboard_core::ports::StoreError;

pub type Item = HashMap<String, AttributeValue>;

pub const DATA: &str = "data";

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn b(value: bool) -> AttributeValue {
    AttributeValue::Bool(value)
}

pub fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

pub fn get_n(item: &Item, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

pub fn json(value: &impl Serialize) -> Result<AttributeValue, StoreError> {
    serde_json::to_string(value)
        .map(AttributeValue::S)
        .map_err(|e| StoreError::Backend(e.to_string()))
}

/// The domain values of items.
pub fn parse_all<T: DeserializeOwned>(items: &[Item]) -> Result<Vec<T>, StoreError> {
    items.iter().map(data).collect()
}

/// An enum as its name in the API (`"sent"`), for an attribute that conditions and filters use.
pub fn name_of(value: &impl Serialize) -> Result<String, StoreError> {
    Ok(serde_json::to_string(value)
        .map_err(|e| StoreError::Backend(e.to_string()))?
        .trim_matches('"')
        .to_string())
}

/// The domain value of an item.
pub fn data<T: DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    let text =
        get_s(item, DATA).ok_or_else(|| StoreError::Backend("stored item has no data".into()))?;
    serde_json::from_str(text)
        .map_err(|e| StoreError::Backend(format!("stored item does not parse: {e}")))
}

/// Fixed width, so the text sorts as the time does; to the nanosecond, so a time reads back
/// exactly as it was written.
pub fn timestamp(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

pub fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Backend(format!("stored time does not parse: {e}")))
}

/// The key of an item.
pub fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([
        (super::keys::PK.to_string(), s(pk)),
        (super::keys::SK.to_string(), s(sk)),
    ])
}

/// Epoch seconds `days` after `from`, for the TTL attribute.
pub fn expires(from: DateTime<Utc>, days: i64) -> AttributeValue {
    n((from + chrono::Duration::days(days)).timestamp())
}

/// Builds an attribute map from pairs.
pub fn item<const N: usize>(pairs: [(&str, AttributeValue); N]) -> Item {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}
