//! Identifiers: a short kind prefix plus a ULID, so ids sort by creation time and say what they
//! name (`acc_01J…`, `msg_01J…`).

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;
            /// What `parse` takes, as the OpenAPI document says it.
            pub const PATTERN: &'static str = concat!("^", $prefix, "[0-9A-Za-z]{26}$");

            pub fn from_ulid(ulid: ulid::Ulid) -> Self {
                Self(format!("{}{}", $prefix, ulid))
            }

            /// Wraps an id read from a trusted place (the store, a queued job).
            pub fn from_trusted(s: impl Into<String>) -> Self {
                Self(s.into())
            }

            /// An id from a request path or body: it must have this kind's shape, so a random
            /// string is answered with 404 without a store lookup.
            pub fn parse(s: &str) -> Option<Self> {
                let rest = s.strip_prefix($prefix)?;
                (rest.len() == 26 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
                    .then(|| Self(s.to_string()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The document's schema of an id a request names: what `parse` takes.
            pub fn request_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::domain::schema::schema_of(
                    serde_json::json!({"type": "string", "pattern": Self::PATTERN}),
                )
            }

            /// The same, where the id may be left out or `null`.
            pub fn optional_request_schema(
            ) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::domain::schema::schema_of(
                    serde_json::json!({"type": ["string", "null"], "pattern": Self::PATTERN}),
                )
            }

            /// When the id was made (its ULID's time), if it is a well-formed id.
            pub fn created_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
                let ulid = ulid::Ulid::from_string(self.0.strip_prefix($prefix)?).ok()?;
                Some(chrono::DateTime::<chrono::Utc>::from(ulid.datetime()))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// An account: one sending identity.
    AccountId, "acc_"
);
id_type!(
    /// A stored message, inbound or outbound.
    MessageId, "msg_"
);
id_type!(
    /// An AI log row.
    AiLogId, "ail_"
);
impl AiLogId {
    /// The row that decides on an inbound message takes that message's ULID: one row per
    /// message is then a condition on the row's own key, which a store checks in one write.
    /// Its id sorts by when the message came, not by when it was decided (seconds apart).
    pub fn deciding(inbound: &MessageId) -> Self {
        let ulid = inbound.as_str();
        Self(format!(
            "{}{}",
            Self::PREFIX,
            ulid.strip_prefix(MessageId::PREFIX).unwrap_or(ulid)
        ))
    }
}

id_type!(
    /// A webhook subscription.
    WebhookId, "wh_"
);
id_type!(
    /// An event, stable across webhook retries so receivers can dedupe.
    EventId, "evt_"
);
id_type!(
    /// A client API key (its id; the secret is shown once and stored as a hash).
    ApiKeyId, "key_"
);
id_type!(
    /// A row of the client API's audit.
    AuditId, "aud_"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_only_the_kind_and_shape() {
        assert!(AccountId::parse("acc_01JABCDEFGHJKMNPQRSTVWXYZ0").is_some());
        assert!(AccountId::parse("msg_01JABCDEFGHJKMNPQRSTVWXYZ0").is_none());
        assert!(AccountId::parse("acc_short").is_none());
        assert!(AccountId::parse("acc_01JABCDEFGHJKMNPQRSTVWXY/0").is_none());
    }

    #[test]
    fn the_row_deciding_on_a_message_has_its_ulid() {
        let message = MessageId::parse("msg_01JABCDEFGHJKMNPQRSTVWXYZ0").expect("id");
        let row = AiLogId::deciding(&message);
        assert_eq!(row.as_str(), "ail_01JABCDEFGHJKMNPQRSTVWXYZ0");
        assert_eq!(AiLogId::parse(row.as_str()), Some(row.clone()));
        assert_eq!(row.created_at(), message.created_at());
    }
}
