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

/// A whole number in `MIN..=MAX`, checked on every construction path (a request, the store,
/// a setting): the range is part of the type, so the check and what the document says of it
/// come from the same two numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Bounded<const MIN: u32, const MAX: u32>(u32);

impl<const MIN: u32, const MAX: u32> Bounded<MIN, MAX> {
    pub const MIN: u32 = MIN;
    pub const MAX: u32 = MAX;

    pub fn get(self) -> u32 {
        self.0
    }

    pub fn parse(field: &str, value: impl Into<i64>) -> Result<Self, ValidationError> {
        Self::try_from(value.into()).map_err(|message| ValidationError::new(field, message))
    }
}

impl<const MIN: u32, const MAX: u32> TryFrom<i64> for Bounded<MIN, MAX> {
    type Error = String;
    fn try_from(value: i64) -> Result<Self, String> {
        match u32::try_from(value) {
            Ok(v) if (MIN..=MAX).contains(&v) => Ok(Self(v)),
            _ => Err(format!("must be an integer from {MIN} to {MAX}")),
        }
    }
}

impl<const MIN: u32, const MAX: u32> From<Bounded<MIN, MAX>> for i64 {
    fn from(v: Bounded<MIN, MAX>) -> i64 {
        i64::from(v.0)
    }
}

impl<const MIN: u32, const MAX: u32> fmt::Display for Bounded<MIN, MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Free text of 1 to `MAX` characters that is not blank and holds no NUL (`bounded_text`), as
/// a model name or a prompt is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Text<const MAX: usize>(String);

impl<const MAX: usize> Text<MAX> {
    pub const MAX_CHARS: usize = MAX;

    pub fn parse(field: &str, value: String) -> Result<Self, ValidationError> {
        bounded_text(field, &value, 1, MAX).map(|()| Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> std::ops::Deref for Text<MAX> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// An integer in a request body, as JSON Schema counts integers: `37` and `37.0` alike (a
/// client's encoder may write either); a fraction is the wrong type. Values beyond `i64` saturate,
/// so that the field's range check answers for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Whole(pub i64);

impl From<Whole> for i64 {
    fn from(w: Whole) -> i64 {
        w.0
    }
}

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Whole;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Whole, E> {
                Ok(Whole(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Whole, E> {
                Ok(Whole(i64::try_from(v).unwrap_or(i64::MAX)))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Whole, E> {
                if v.is_finite() && v.fract() == 0.0 {
                    // `as` saturates at i64's ends.
                    Ok(Whole(v as i64))
                } else {
                    Err(E::invalid_type(serde::de::Unexpected::Float(v), &self))
                }
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// `temperature`: a finite number in 0..=2.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Temperature(f64);

impl Temperature {
    pub const MIN: f64 = 0.0;
    pub const MAX: f64 = 2.0;

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
        if value.is_finite() && (Self::MIN..=Self::MAX).contains(&value) {
            Ok(Self(value))
        } else {
            Err(format!(
                "must be a number from {} to {}",
                Self::MIN,
                Self::MAX
            ))
        }
    }
}

impl From<Temperature> for f64 {
    fn from(t: Temperature) -> f64 {
        t.0
    }
}

/// What an `HttpUrl` is, as the OpenAPI document publishes it and as the server checks it (one
/// pattern for both): `http(s)://`, a host name (its last label starting with a letter: a
/// parser reads a name ending in a number as an IPv4 address) or an IPv4 address, a port from 1
/// to 65535, then a path, query and fragment as RFC 3986 writes them (so that it is a `uri` to
/// any JSON Schema validator too). No user or password, no IPv6 literal, no whitespace. A label
/// starting with `xn--` is an internationalised name's ASCII form: IDNA decodes it too, and
/// refuses it when it is not valid Punycode, which no regular expression can say.
pub const HTTP_URL_PATTERN: &str = concat!(
    r"^https?://",
    r"(?:(?:[A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*",
    r"|(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9]))",
    r"(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?",
    r"(?:/(?:[A-Za-z0-9._~!$&'()*+,;=:@/-]|%[0-9A-Fa-f]{2})*)?",
    r"(?:\?(?:[A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*)?",
    r"(?:#(?:[A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*)?$",
);

/// The longest URL taken, in characters.
pub const MAX_URL_CHARS: usize = 2048;

static HTTP_URL: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(HTTP_URL_PATTERN).expect("HTTP_URL_PATTERN is a valid pattern")
});

/// An absolute `http` or `https` URL with a host, as used for `base_url` and webhook targets.
/// Whether its address may be contacted is decided later, at connection time, by the URL guard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HttpUrl(url::Url);

impl HttpUrl {
    /// A URL from a request: what the document publishes (`HTTP_URL_PATTERN`), nothing more.
    pub fn parse(field: &str, value: &str) -> Result<Self, ValidationError> {
        let refuse = |message: String| Err(ValidationError::new(field, message));
        if value.chars().count() > MAX_URL_CHARS {
            return refuse(format!("must be at most {MAX_URL_CHARS} characters"));
        }
        if !HTTP_URL.is_match(value) {
            return refuse(
                "must be an http or https URL with a host name or IPv4 address, without credentials or spaces"
                    .into(),
            );
        }
        Self::try_from(value.to_string()).or_else(refuse)
    }

    /// What the document says of a URL a request sets: what `parse` takes.
    pub fn schema() -> serde_json::Value {
        serde_json::json!({
            "type": "string", "format": "uri", "maxLength": MAX_URL_CHARS,
            "pattern": HTTP_URL_PATTERN,
        })
    }

    pub fn as_url(&self) -> &url::Url {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// A URL from a setting or the store: any absolute `http(s)` URL with a host and no
/// credentials (an operator's IPv6 listening address included).
impl TryFrom<String> for HttpUrl {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        if value.len() > 2 * MAX_URL_CHARS {
            return Err(format!("must be at most {MAX_URL_CHARS} characters"));
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

/// Whether a text is nothing but whitespace and control characters: not a name, a model or a
/// message, whatever its length.
pub fn is_blank(value: &str) -> bool {
    value.chars().all(|c| c.is_whitespace() || c.is_control())
}

/// What the OpenAPI document says of a required text (`bounded_text` with a minimum): one
/// character that is neither whitespace nor a control character, and no NUL anywhere.
pub const VISIBLE_TEXT_PATTERN: &str = r"^[^\x00]*[^\s\x00-\x1f\x7f-\x9f][^\x00]*$";

/// What the document says of an optional text (`bounded_text` without a minimum): no NUL.
pub const NO_NUL_PATTERN: &str = r"^[^\x00]*$";

/// What the document says of a required text of at most `max_chars` (`bounded_text` with a
/// minimum of 1).
/// A field that, when present, holds a value: `null` is refused (absent reads as `None`
/// through `#[serde(default)]`). For fields whose schema says "a string (or an object), when
/// given", where `null` would be a third way the document does not name.
pub fn given<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

pub fn text_schema(max_chars: usize) -> serde_json::Value {
    serde_json::json!({
        "type": "string", "minLength": 1, "maxLength": max_chars,
        "pattern": VISIBLE_TEXT_PATTERN,
    })
}

/// Checks a free-text field's length in characters (not bytes), that it holds no NUL, and, when
/// it is required (`min` ≥ 1), that it is not blank.
pub fn bounded_text(
    field: &str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<(), ValidationError> {
    let chars = value.chars().count();
    if min >= 1 && chars >= min && is_blank(value) {
        return Err(ValidationError::new(field, "must not be blank"));
    }
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
        assert!(Bounded::<1, 32768>::try_from(1).is_ok());
        assert!(Bounded::<1, 32768>::try_from(32768).is_ok());
        assert!(Bounded::<1, 32768>::try_from(0).is_err());
        assert!(Bounded::<1, 32768>::try_from(32769).is_err());
        assert!(Bounded::<0, 900>::try_from(0).is_ok());
        assert!(Bounded::<0, 900>::try_from(901).is_err());
        assert!(Bounded::<0, 10080>::try_from(10080).is_ok());
        assert!(Bounded::<0, 120>::try_from(121).is_err());
        assert!(Bounded::<1, 1000>::try_from(0).is_err());
        assert!(Temperature::try_from(2.0).is_ok());
        assert!(Temperature::try_from(2.0001).is_err());
        assert!(Temperature::try_from(f64::NAN).is_err());
        assert!(Temperature::try_from(-0.1).is_err());
    }

    #[test]
    fn stored_values_are_checked_when_read_back() {
        assert!(serde_json::from_str::<Bounded<1, 300>>("301").is_err());
        assert_eq!(
            serde_json::from_str::<Bounded<1, 300>>("300")
                .ok()
                .map(|t| t.get()),
            Some(300)
        );
    }

    #[test]
    fn integers_are_whole_numbers_however_written() {
        let read = |s: &str| serde_json::from_str::<Whole>(s).map(|w| w.0).ok();
        assert_eq!(read("37"), Some(37));
        assert_eq!(read("37.0"), Some(37));
        assert_eq!(read("-2e1"), Some(-20));
        assert_eq!(read("1e30"), Some(i64::MAX));
        assert_eq!(read("18446744073709551615"), Some(i64::MAX));
        assert_eq!(read("37.5"), None);
        assert_eq!(read("\"37\""), None);
        assert_eq!(read("true"), None);
    }

    #[test]
    fn required_text_is_not_blank() {
        for blank in ["   ", "\t\n", "\u{1}\u{7f}", " \u{85} ", "\u{3000}"] {
            assert_eq!(
                bounded_text("model", blank, 1, 200).map_err(|e| e.message),
                Err("must not be blank".to_string()),
                "{blank:?}"
            );
        }
        assert!(bounded_text("model", " gpt-4o ", 1, 200).is_ok());
        assert!(bounded_text("text", "", 0, 10).is_ok());
        assert!(bounded_text("text", "  ", 0, 10).is_ok());
    }

    #[test]
    fn urls_must_be_http_with_a_host_and_no_credentials() {
        assert!(HttpUrl::parse("base_url", "https://api.openai.com/v1").is_ok());
        assert!(HttpUrl::parse("base_url", "http://127.0.0.1:9/v1").is_ok());
        assert!(HttpUrl::parse("url", "http://localhost:65535/a?b=c#d").is_ok());
        for bad in [
            "ftp://x",
            "file:///etc/passwd",
            "not a url",
            "https://u:p@host/",
            "http://",
            "https://v.5q.org*",
            " https://example.com",
            "https://example.com/a b",
            "http://1.2.3.4.5",
            "http://[::1]/",
            "http://example.com:65536",
            "http://example.com:0",
            "http://example.com/#a#b",
            "http://example.com/%zz",
        ] {
            assert!(HttpUrl::parse("base_url", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_labels_must_be_punycode() {
        assert!(HttpUrl::parse("url", "https://xn--bcher-kva.example/hook").is_ok());
        for bad in [
            "http://xn--.a",
            "http://XN--.a/",
            "http://a.xn--ab-.example",
        ] {
            let error = HttpUrl::parse("url", bad).expect_err(bad);
            assert!(error.message.contains("not a valid URL"), "{bad}: {error}");
        }
    }

    proptest! {
        #[test]
        fn bounded_ints_accept_exactly_their_range(v in any::<i64>()) {
            prop_assert_eq!(Bounded::<1, 32768>::try_from(v).is_ok(), (1..=32768).contains(&v));
            prop_assert_eq!(Bounded::<1, 300>::try_from(v).is_ok(), (1..=300).contains(&v));
            prop_assert_eq!(Bounded::<0, 900>::try_from(v).is_ok(), (0..=900).contains(&v));
            prop_assert_eq!(Bounded::<0, 10080>::try_from(v).is_ok(), (0..=10080).contains(&v));
            prop_assert_eq!(Bounded::<0, 120>::try_from(v).is_ok(), (0..=120).contains(&v));
            prop_assert_eq!(Bounded::<1, 1000>::try_from(v).is_ok(), (1..=1000).contains(&v));
        }

        #[test]
        fn temperature_accepts_exactly_0_to_2(v in any::<f64>()) {
            prop_assert_eq!(Temperature::try_from(v).is_ok(), v.is_finite() && (0.0..=2.0).contains(&v));
        }

        #[test]
        fn every_url_the_document_offers_is_accepted(s in HTTP_URL_PATTERN.trim_start_matches('^').trim_end_matches('$')) {
            // A-labels are the one thing the pattern cannot check; `a_labels_must_be_punycode`
            // holds those to IDNA.
            prop_assume!(!s.to_ascii_lowercase().contains("xn--"));
            prop_assert!(HttpUrl::parse("url", &s).is_ok(), "{}", s);
        }

        #[test]
        fn url_parsing_never_panics(s in ".{0,300}") {
            let _ = HttpUrl::parse("u", &s);
        }

        #[test]
        fn bounded_text_counts_characters(s in "\\PC{0,40}") {
            let n = s.chars().count();
            prop_assert_eq!(
                bounded_text("f", &s, 1, 20).is_ok(),
                (1..=20).contains(&n) && !is_blank(&s)
            );
        }

        #[test]
        fn the_documented_pattern_says_what_bounded_text_checks(s in "[ a\t\n\u{0}\u{7f}\u{85}\u{a0}\u{3000}]{1,6}") {
            let pattern = fancy_regex::Regex::new(VISIBLE_TEXT_PATTERN).expect("a valid pattern");
            prop_assert_eq!(bounded_text("f", &s, 1, 20).is_ok(), pattern.is_match(&s).expect("no backtracking limit"));
        }
    }
}
