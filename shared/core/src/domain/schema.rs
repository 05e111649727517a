//! A type whose API document schema is written from the rules that check it (a setting's kind,
//! a provider's fields, a channel's recipients) rather than derived from its Rust fields:
//! `written_schema!(Type, function)` makes `function()`'s JSON Schema the type's own.

use serde_json::Value;
use utoipa::openapi::{RefOr, schema::Schema};

/// A JSON Schema written as JSON, as the document holds it. The JSON is a schema by
/// construction; the tests that write each one read it back whole.
pub fn schema_of(value: Value) -> RefOr<Schema> {
    serde_json::from_value(value).unwrap_or_else(|_| RefOr::T(Schema::default()))
}

macro_rules! written_schema {
    ($type:ty, $write:expr) => {
        impl utoipa::PartialSchema for $type {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::domain::schema::schema_of($write())
            }
        }
        impl utoipa::ToSchema for $type {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($type))
            }
        }
    };
}

pub(crate) use written_schema;
