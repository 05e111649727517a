//! Checked values: input becomes one of these newtypes at the edge, so the rest of the code never
//! sees an out-of-range number or an unchecked string.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A value that is well-formed JSON but not acceptable (HTTP 422).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub code: &'static str,
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: "invalid_value",
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }

    /// Re-roots the error under a parent field, e.g. `access_token` → `provider_config.access_token`.
    pub fn under(mut self, parent: &str) -> Self {
        self.field = if self.field.is_empty() {
            parent.to_string()
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }
}

/// Declares an integer newtype with an inclusive range, checked on every construction path
/// (including deserialization from the store).
macro_rules! bounded_int {
    ($(#[$doc:meta])* $name:ident: $inner:ty, $min:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "i64", into = "i64")]
        pub struct $name($inner);

        impl $name {
            pub const MIN: $inner = $min;
            pub const MAX: $inner = $max;

            pub fn get(self) -> $inner {
                self.0
            }

            pub fn parse(field: &str, value: i64) -> Result<Self, ValidationError> {
                Self::try_from(value).map_err(|message| ValidationError::new(field, message))
            }
        }

        impl TryFrom<i64> for $name {
            type Error = String;
            fn try_from(value: i64) -> Result<Self, String> {
                if (Self::MIN as i64..=Self::MAX as i64).contains(&value) {
                    Ok(Self(value as $inner))
                } else {
                    Err(format!("must be an integer from {} to {}", Self::MIN, Self::MAX))
                }
            }
        }

        impl From<$name> for i64 {
            fn from(v: $name) -> i64 {
                v.0 as i64
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

bounded_int!(
    /// `max_tokens`: 1..=32768.
    MaxTokens: u32, 1, 32768
);
bounded_int!(
    /// `timeout_seconds`: 1..=300.
    TimeoutSeconds: u32, 1, 300
);
bounded_int!(
    /// `reply_delay_seconds`: 0..=900 (SQS's longest delay).
    ReplyDelaySeconds: u32, 0, 900
);
bounded_int!(
    /// `human_takeover_minutes`: 0..=10080 (a week); 0 never pauses.
    HumanTakeoverMinutes: u32, 0, 10080
);
bounded_int!(
    /// `debounce_seconds`: 0..=120.
    DebounceSeconds: u32, 0, 120
);
bounded_int!(
    /// `max_replies_per_chat_per_hour`: 1..=1000.
    MaxRepliesPerHour: u32, 1, 1000
);

/// `temperature`: a finite number in 0..=2.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Temperature(f64);

impl Temperature {
    pub fn get(self) -> f64 {
        self.0
    }

    pub fn parse(field: &str, value: f64) -> Result<Self, ValidationError> {
        Self::try_from(value).map_err(|message| ValidationError::new(field, message))
    }
}

impl TryFrom<f64> for Temperature {
    type Error = String;
    fn try_from(value: f64) -> Result<Self, String> {
        if value.is_finite() && (0.0..=2.0).contains(&value) {
            Ok(Self(value))
        } else {
            Err("must be a number from 0 to 2".to_string())
        }
    }
}

impl From<Temperature> for f64 {
    fn from(t: Temperature) -> f64 {
        t.0
    }
}

/// An absolute `http` or `https` URL with a host, as used for `base_url` and webhook targets.
/// Whether its address may be contacted is decided later, at connection time, by the URL guard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HttpUrl(url::Url);

impl HttpUrl {
    pub fn parse(field: &str, value: &str) -> Result<Self, ValidationError> {
        Self::try_from(value.to_string()).map_err(|message| ValidationError::new(field, message))
    }

    pub fn as_url(&self) -> &url::Url {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl TryFrom<String> for HttpUrl {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        if value.len() > 2048 {
            return Err("must be at most 2048 characters".into());
        }
        let url = url::Url::parse(value.trim()).map_err(|e| format!("is not a valid URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("must be an http or https URL".into());
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("must name a host".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not carry credentials; use api_key".into());
        }
        Ok(Self(url))
    }
}

impl From<HttpUrl> for String {
    fn from(u: HttpUrl) -> String {
        u.0.into()
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Checks a free-text field's length in characters (not bytes) and that it holds no NUL.
pub fn bounded_text(
    field: &str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<(), ValidationError> {
    let chars = value.chars().count();
    if chars < min {
        return Err(ValidationError::new(
            field,
            if min == 1 {
                "must not be empty".to_string()
            } else {
                format!("must be at least {min} characters")
            },
        ));
    }
    if chars > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value.contains('\0') {
        return Err(ValidationError::new(
            field,
            "must not contain NUL characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ranges_are_inclusive() {
        assert!(MaxTokens::try_from(1).is_ok());
        assert!(MaxTokens::try_from(32768).is_ok());
        assert!(MaxTokens::try_from(0).is_err());
        assert!(MaxTokens::try_from(32769).is_err());
        assert!(ReplyDelaySeconds::try_from(0).is_ok());
        assert!(ReplyDelaySeconds::try_from(901).is_err());
        assert!(HumanTakeoverMinutes::try_from(10080).is_ok());
        assert!(DebounceSeconds::try_from(121).is_err());
        assert!(MaxRepliesPerHour::try_from(0).is_err());
        assert!(Temperature::try_from(2.0).is_ok());
        assert!(Temperature::try_from(2.0001).is_err());
        assert!(Temperature::try_from(f64::NAN).is_err());
        assert!(Temperature::try_from(-0.1).is_err());
    }

    #[test]
    fn stored_values_are_checked_when_read_back() {
        assert!(serde_json::from_str::<TimeoutSeconds>("301").is_err());
        assert_eq!(
            serde_json::from_str::<TimeoutSeconds>("300")
                .ok()
                .map(|t| t.get()),
            Some(300)
        );
    }

    #[test]
    fn urls_must_be_http_with_a_host_and_no_credentials() {
        assert!(HttpUrl::parse("base_url", "https://api.openai.com/v1").is_ok());
        assert!(HttpUrl::parse("base_url", "http://127.0.0.1:9/v1").is_ok());
        for bad in [
            "ftp://x",
            "file:///etc/passwd",
            "not a url",
            "https://u:p@host/",
            "http://",
        ] {
            assert!(HttpUrl::parse("base_url", bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn bounded_ints_accept_exactly_their_range(v in any::<i64>()) {
            prop_assert_eq!(MaxTokens::try_from(v).is_ok(), (1..=32768).contains(&v));
            prop_assert_eq!(TimeoutSeconds::try_from(v).is_ok(), (1..=300).contains(&v));
            prop_assert_eq!(ReplyDelaySeconds::try_from(v).is_ok(), (0..=900).contains(&v));
            prop_assert_eq!(HumanTakeoverMinutes::try_from(v).is_ok(), (0..=10080).contains(&v));
            prop_assert_eq!(DebounceSeconds::try_from(v).is_ok(), (0..=120).contains(&v));
            prop_assert_eq!(MaxRepliesPerHour::try_from(v).is_ok(), (1..=1000).contains(&v));
        }

        #[test]
        fn temperature_accepts_exactly_0_to_2(v in any::<f64>()) {
            prop_assert_eq!(Temperature::try_from(v).is_ok(), v.is_finite() && (0.0..=2.0).contains(&v));
        }

        #[test]
        fn url_parsing_never_panics(s in ".{0,300}") {
            let _ = HttpUrl::parse("u", &s);
        }

        #[test]
        fn bounded_text_counts_characters(s in "\\PC{0,40}") {
            let n = s.chars().count();
            prop_assert_eq!(bounded_text("f", &s, 1, 20).is_ok(), (1..=20).contains(&n));
        }
    }
}
