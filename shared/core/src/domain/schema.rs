//! A type whose API document schema is written from the rules that check it (a setting's kind,
//! a provider's fields, a channel's recipients) rather than derived from its Rust fields:
//! `written_schema!(Type, function)` makes `function()`'s JSON Schema the type's own, and a
//! field's `#[schema(schema_with = ...)]` can name a function built on `schema_of`.
//!
//! utoipa's schema model has no `const` and no object with `anyOf` beside its properties, so a
//! written schema travels through it whole, as the extension `x-written`, and the document puts
//! it in place when it is completed (`WRITTEN`).

use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Schema};

/// The extension a written schema travels in.
pub const WRITTEN: &str = "x-written";

/// A JSON Schema written as JSON, as the document will hold it.
pub fn schema_of(value: Value) -> RefOr<Schema> {
    let carried = ExtensionsBuilder::new().add(WRITTEN, value).build();
    RefOr::T(Schema::Object(
        ObjectBuilder::new().extensions(Some(carried)).build(),
    ))
}

/// Puts every written schema in the place of the one that carries it.
pub fn put_in_place(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(written) = map.remove(WRITTEN) {
                *value = written;
                put_in_place(value);
            } else {
                map.values_mut().for_each(put_in_place);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(put_in_place),
        _ => {}
    }
}

/// `["*"]` (everything), or 1 to `max` of `item`.
pub fn all_or(item: Value, max: usize) -> Value {
    serde_json::json!({"oneOf": [
        {"type": "array", "items": {"const": "*"}, "minItems": 1, "maxItems": 1},
        {"type": "array", "items": item, "minItems": 1, "maxItems": max},
    ]})
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
