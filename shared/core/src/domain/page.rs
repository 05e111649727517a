//! Cursor pagination, as the API's list convention: `?limit=` (default 50, max 200) and
//! `?cursor=`, answered with `{"items": [...], "next_cursor": null|string}`.

use super::validation::ValidationError;
use base64::Engine;
use base64::alphabet::URL_SAFE;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use serde::Serialize;

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 200;

/// A validated page request. The cursor is the store's position after the last item served,
/// opaque to clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: usize,
    pub after: Option<String>,
}

impl PageRequest {
    pub fn new(limit: Option<i64>, cursor: Option<&str>) -> Result<Self, ValidationError> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(n) if (1..=MAX_LIMIT as i64).contains(&n) => n as usize,
            Some(_) => {
                return Err(ValidationError::new(
                    "limit",
                    format!("must be an integer from 1 to {MAX_LIMIT}"),
                ));
            }
        };
        let after = cursor.map(decode_cursor).transpose()?;
        Ok(Self { limit, after })
    }

    pub fn first(limit: usize) -> Self {
        Self { limit, after: None }
    }
}

/// What the OpenAPI document says a cursor is: unpadded base64url of 1 to 510 bytes. The
/// cursor is opaque; any value of this shape reads as a position (one the API did not hand out
/// points somewhere in the list or past its end), so only a value of another shape is refused.
pub const CURSOR_PATTERN: &str = "^(?:[A-Za-z0-9_-]{4}){0,169}[A-Za-z0-9_-]{2,4}$";

/// What the document says of `?cursor=`: what `PageRequest::new` reads.
pub fn cursor_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    crate::domain::schema::schema_of(
        serde_json::json!({"type": "string", "pattern": CURSOR_PATTERN}),
    )
}

/// What the document says of `?limit=`, for a list of at most `max` per page.
pub fn limit_schema_of(max: usize) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    crate::domain::schema::schema_of(
        serde_json::json!({"type": "integer", "format": "int64", "minimum": 1, "maximum": max}),
    )
}

/// `?limit=` of the API's lists: 1 to `MAX_LIMIT`.
pub fn limit_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    limit_schema_of(MAX_LIMIT)
}

/// Reads any unpadded base64url, whatever its unused trailing bits.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

fn decode_cursor(cursor: &str) -> Result<String, ValidationError> {
    Some(cursor)
        .filter(|c| (2..=680).contains(&c.len()))
        .and_then(|c| LENIENT.decode(c).ok())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ValidationError::new("cursor", "is not a cursor this API returned")
                .with_code("invalid_cursor")
        })
}

pub fn encode_cursor(position: &str) -> String {
    URL_SAFE_NO_PAD.encode(position)
}

/// One page of results as the store returns it; `next` is the position to resume after.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// A page from a result fetched with one item more than `limit`: the extra item says there
    /// is more, and the position of the last item kept is the cursor.
    pub fn from_overfetch(
        mut items: Vec<T>,
        limit: usize,
        position: impl Fn(&T) -> String,
    ) -> Self {
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(position)
        } else {
            None
        };
        Page { items, next }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }
}

/// The list body of the API.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ListBody<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> From<Page<T>> for ListBody<T> {
    fn from(page: Page<T>) -> Self {
        Self {
            items: page.items,
            next_cursor: page.next.as_deref().map(encode_cursor),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn limits_and_cursors() {
        assert_eq!(PageRequest::new(None, None).map(|p| p.limit), Ok(50));
        assert!(PageRequest::new(Some(0), None).is_err());
        assert!(PageRequest::new(Some(201), None).is_err());
        let c = encode_cursor("acc_01J");
        assert_eq!(
            PageRequest::new(Some(5), Some(&c)).map(|p| p.after),
            Ok(Some("acc_01J".into()))
        );
        assert!(PageRequest::new(None, Some("!!!")).is_err());
        assert!(
            PageRequest::new(None, Some("A")).is_err(),
            "a length base64 cannot have"
        );
        assert!(
            PageRequest::new(None, Some("AB")).is_ok(),
            "trailing bits are ignored"
        );
        assert!(
            PageRequest::new(None, Some("_w")).is_ok(),
            "bytes that are not UTF-8"
        );
    }

    proptest! {
        #[test]
        fn every_cursor_of_the_documented_shape_is_read(c in CURSOR_PATTERN.trim_start_matches('^').trim_end_matches('$')) {
            prop_assert!(PageRequest::new(None, Some(&c)).is_ok(), "{}", c);
        }

        #[test]
        fn any_cursor_string_is_handled(s in ".{0,100}", n in any::<i64>()) {
            let _ = PageRequest::new(Some(n), Some(&s));
        }
    }
}
