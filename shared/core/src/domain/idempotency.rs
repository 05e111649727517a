//! Idempotency keys of the client API, as Stripe keeps them: per API key, the request's
//! fingerprint and, once it finished, the answer it got, so a retry gets the same answer and a
//! different request under the same key is refused.

use super::ids::ApiKeyId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How long a key is honoured.
pub const IDEMPOTENCY_HOURS: i64 = 24;
/// How long a request holds its key while it runs: a holder that crashed frees it after this.
pub const IN_FLIGHT_SECONDS: i64 = 60;
pub const MAX_KEY_CHARS: usize = 255;

/// A key under the API key that used it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub api_key: ApiKeyId,
    pub key: String,
}

/// The answer a finished request got: replayed as it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAnswer {
    pub status: u16,
    pub body: serde_json::Value,
}

/// What a request finds when it takes its key.
#[derive(Debug, Clone, PartialEq)]
pub enum Begun {
    /// The key is this request's until it finishes (or the hold runs out).
    Taken,
    /// Another request with the key is running.
    InFlight { fingerprint: String },
    /// A request with the key finished.
    Finished {
        fingerprint: String,
        answer: StoredAnswer,
    },
}

/// SHA-256 of the request's canonical JSON (keys sorted): the same body sent twice, however
/// its fields are ordered, has the same fingerprint.
pub fn fingerprint(request: &serde_json::Value) -> String {
    hex::encode(Sha256::digest(request.to_string().as_bytes()))
}

/// When a record written at `at` is no longer honoured.
pub fn expiry(at: DateTime<Utc>) -> DateTime<Utc> {
    at + chrono::Duration::hours(IDEMPOTENCY_HOURS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_ignores_field_order_but_not_values() {
        let a: serde_json::Value =
            serde_json::from_str(r#"{"to":"+1555","text":"hi"}"#).expect("json");
        let b: serde_json::Value =
            serde_json::from_str(r#"{"text":"hi","to":"+1555"}"#).expect("json");
        let c: serde_json::Value =
            serde_json::from_str(r#"{"text":"hi!","to":"+1555"}"#).expect("json");
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }
}
