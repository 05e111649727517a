//! A provider configuration field: its kind says what a value may be, once, for the server
//! (`check`) and for the API document (`schema`), side by side; where the rule is an ASCII
//! pattern, the check is that very pattern.

use crate::domain::channel::Channel;
use crate::domain::validation::{HttpUrl, VISIBLE_TEXT_PATTERN, ValidationError, bounded_text};
use serde_json::{Value, json};
use std::sync::LazyLock;

/// The longest value of a text field, in characters.
pub const MAX_FIELD_CHARS: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    /// An `http` or `https` URL.
    Url,
    /// `smtp://` or `smtps://`, with the user and password when the server needs them.
    SmtpUrl,
    /// A sender's mailbox: an address, or a display name and the address in angle brackets
    /// (`Shop <shop@example.com>`, `"Shop, Inc." <shop@example.com>`), as RFC 5322 writes one.
    Mailbox,
    /// 1 to 256 of `A-Z a-z 0-9 _ -`, usable as Telegram's `secret_token` and in a URL.
    TokenChars,
    /// A Graph API version, `v23.0`.
    ApiVersion,
    /// A list of channel names (a JSON array), stored comma-separated.
    Channels,
    /// Learned from the provider by `connect` (a bot's id and name): shown, never written.
    Learned,
}

/// An SMTP server's URL: `smtp://` or `smtps://`, an optional user and password (RFC 3986
/// user information: unreserved characters, sub-delimiters and percent-escapes), a host name
/// or IPv4 address as an HTTP URL names it, an optional port, an optional `/`.
pub const SMTP_URL_PATTERN: &str = concat!(
    r"^smtps?://",
    r"(?:(?:[A-Za-z0-9._~!$&'()*+,;=-]|%[0-9A-Fa-f]{2})+",
    r"(?::(?:[A-Za-z0-9._~!$&'()*+,;=:-]|%[0-9A-Fa-f]{2})*)?@)?",
    r"(?:(?:[A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*",
    r"|(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9]))",
    r"(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?",
    r"/?$",
);

/// A sender's mailbox, as `sender` reads it: an address (something without `@`, `@`, a domain
/// with a dot; no whitespace, control character, angle bracket or double quote), or a display
/// name and that address in angle brackets. A name is quoted (anything but `"`, `\`, angle
/// brackets and control characters), or a phrase without RFC 5322's specials or control characters that starts and
/// ends with a visible character. (Whitespace is Unicode's, which the server's pattern engine is
/// built without: the check is written out below, and a test holds the two to each other.)
pub const MAILBOX_PATTERN: &str = concat!(
    r#"^(?:"#,
    r#"[^@\s<>"\x00-\x1f\x7f-\x9f]+@[^@\s<>"\x00-\x1f\x7f-\x9f]*\.[^@\s<>"\x00-\x1f\x7f-\x9f]*"#,
    r#"|(?:"[^"\\<>\x00-\x1f\x7f-\x9f]*""#,
    r#"|[^()<>\[\]:;@\\,."\s\x00-\x1f\x7f-\x9f](?:[^()<>\[\]:;@\\,."\x00-\x1f\x7f-\x9f]*[^()<>\[\]:;@\\,."\s\x00-\x1f\x7f-\x9f])?)"#,
    r#"\s*<[^@\s<>"\x00-\x1f\x7f-\x9f]+@[^@\s<>"\x00-\x1f\x7f-\x9f]*\.[^@\s<>"\x00-\x1f\x7f-\x9f]*>"#,
    r#")$"#,
);

pub const TOKEN_CHARS_PATTERN: &str = r"^[A-Za-z0-9_-]{1,256}$";
pub const API_VERSION_PATTERN: &str = r"^v[0-9]+\.[0-9]+$";

static SMTP_URL: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(SMTP_URL_PATTERN).expect("a valid pattern"));
static TOKEN_CHARS: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(TOKEN_CHARS_PATTERN).expect("a valid pattern"));
static API_VERSION: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(API_VERSION_PATTERN).expect("a valid pattern"));

/// Something without `@`, `@`, then a domain with a dot; no whitespace, control character,
/// angle bracket or double quote.
fn is_address(value: &str) -> bool {
    let plain = |c: char| !c.is_whitespace() && !c.is_control() && !matches!(c, '<' | '>' | '"');
    value.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.contains('@')
            && value.chars().all(plain)
    })
}

/// A display name: quoted (no `"`, `\`, angle bracket or control character inside), or a phrase without RFC
/// 5322's specials or control characters, starting and ending with a visible character.
fn is_display_name(name: &str) -> bool {
    if let Some(quoted) = name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        return !quoted
            .chars()
            .any(|c| matches!(c, '"' | '\\' | '<' | '>') || c.is_control());
    }
    let special = |c: char| "()<>[]:;@\\,.\"".contains(c) || c.is_control();
    let visible = |c: Option<char>| c.is_some_and(|c| !c.is_whitespace());
    visible(name.chars().next()) && visible(name.chars().last()) && !name.chars().any(special)
}

/// A sender's display name (if any) and address, as `MAILBOX_PATTERN` says.
pub fn sender(value: &str) -> Option<(Option<&str>, &str)> {
    let Some(open) = value.find('<') else {
        return is_address(value).then_some((None, value));
    };
    let address = value[open + 1..].strip_suffix('>')?;
    // Whitespace between the name and `<` belongs to neither.
    let name = value[..open].trim_end();
    (is_display_name(name) && is_address(address)).then_some((Some(name), address))
}

impl FieldKind {
    /// Checks a text value of this kind.
    pub fn check(self, field: &str, value: &str) -> Result<(), ValidationError> {
        bounded_text(field, value, 1, MAX_FIELD_CHARS)?;
        let (ok, message) = match self {
            FieldKind::Url => return HttpUrl::parse(field, value).map(|_| ()),
            FieldKind::SmtpUrl => (
                SMTP_URL.is_match(value),
                "must be an smtp:// or smtps:// URL with a host, e.g. smtps://user:pass@smtp.example.com:465",
            ),
            FieldKind::Mailbox => (
                sender(value).is_some(),
                "must be an e-mail address, or a name and the address in angle brackets (Shop <shop@example.com>)",
            ),
            FieldKind::TokenChars => (
                TOKEN_CHARS.is_match(value),
                "must be 1 to 256 of A-Z, a-z, 0-9, _ and -",
            ),
            FieldKind::ApiVersion => (
                API_VERSION.is_match(value),
                "must be a Graph API version such as v23.0",
            ),
            FieldKind::Text | FieldKind::Channels | FieldKind::Learned => (true, ""),
        };
        if ok {
            Ok(())
        } else {
            Err(ValidationError::new(field, message))
        }
    }

    /// The JSON Schema of a value of this kind, as `check` takes it (`None` for a field no
    /// request writes).
    pub fn schema(self, relay_channels: &[Channel]) -> Option<Value> {
        let text = |pattern: &str| json!({"type": "string", "maxLength": MAX_FIELD_CHARS, "pattern": pattern});
        Some(match self {
            FieldKind::Learned => return None,
            FieldKind::Text => {
                let mut schema = text(VISIBLE_TEXT_PATTERN);
                schema["minLength"] = json!(1);
                schema
            }
            FieldKind::Url => HttpUrl::schema(),
            FieldKind::SmtpUrl => text(SMTP_URL_PATTERN),
            FieldKind::Mailbox => text(MAILBOX_PATTERN),
            FieldKind::TokenChars => json!({"type": "string", "pattern": TOKEN_CHARS_PATTERN}),
            FieldKind::ApiVersion => {
                let mut schema = text(API_VERSION_PATTERN);
                schema["examples"] = json!(["v23.0"]);
                schema
            }
            FieldKind::Channels => {
                let names: Vec<&str> = relay_channels.iter().map(|c| c.as_str()).collect();
                json!({"type": "array", "minItems": 1, "items": {"type": "string", "enum": names}})
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn documented(kind: FieldKind, value: &str) -> bool {
        let schema = kind.schema(&[]).expect("a written field");
        let pattern = schema["pattern"].as_str().expect("a pattern");
        fancy_regex::Regex::new(pattern)
            .expect("valid")
            .is_match(value)
            .expect("no backtracking limit")
    }

    #[test]
    fn smtp_urls_as_senders_write_them() {
        for good in [
            "smtp://localhost:25",
            "smtps://user:pass@smtp.example.com:465",
            "smtp://AKIA:p%2Fss@email-smtp.us-east-1.amazonaws.com:587",
            "smtps://me%40example.com:s3cr;t@mail.example.org/",
            "smtp://10.0.0.1:2525",
        ] {
            assert!(FieldKind::SmtpUrl.check("u", good).is_ok(), "{good}");
        }
        for bad in [
            "https://smtp.example.com",
            "smtp://",
            "smtp://host:0",
            "smtp://us er@host",
            "smtp://host/path",
        ] {
            assert!(FieldKind::SmtpUrl.check("u", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn senders_as_mail_clients_write_them() {
        for good in [
            "shop@example.com",
            "Shop <shop@example.com>",
            "\"Shop, Inc.\" <shop@example.com>",
            "Café ☕ Ann<shop@example.com>",
            "\"\" <shop@example.com>",
        ] {
            assert!(FieldKind::Mailbox.check("from", good).is_ok(), "{good}");
            assert!(documented(FieldKind::Mailbox, good), "{good}");
        }
        for bad in [
            "shop",
            "Shop <shop>",
            "<shop@example.com>",
            "Shop, Inc. <shop@example.com>",
            "Shop <shop@example.com",
            "shop@example.com>",
            "Shop <a@b@example.com>",
        ] {
            assert!(FieldKind::Mailbox.check("from", bad).is_err(), "{bad}");
            assert!(!documented(FieldKind::Mailbox, bad), "{bad}");
        }
        assert_eq!(
            sender("\"Shop, Inc.\"  <shop@example.com>"),
            Some((Some("\"Shop, Inc.\""), "shop@example.com"))
        );
    }

    proptest! {
        #[test]
        fn named_senders_the_pattern_offers_are_taken(
            name in "[a é\"\u{a0}.,x]{1,6}",
            gap in "[ \t\u{85}]{0,2}",
            address in "[a.@x]{1,8}",
        ) {
            let s = format!("{name}{gap}<{address}>");
            prop_assert_eq!(FieldKind::Mailbox.check("f", &s).is_ok(), documented(FieldKind::Mailbox, &s), "{}", s);
        }

        #[test]
        fn the_sender_pattern_says_what_the_check_takes(s in "[a@.é \t\u{0}\u{85}\u{a0}\u{3000}x<>\",;\\\\]{1,12}") {
            prop_assert_eq!(FieldKind::Mailbox.check("f", &s).is_ok(), documented(FieldKind::Mailbox, &s));
        }

        #[test]
        fn every_documented_smtp_url_is_taken(s in SMTP_URL_PATTERN.trim_start_matches('^').trim_end_matches('$')) {
            prop_assert!(s.chars().count() > MAX_FIELD_CHARS || FieldKind::SmtpUrl.check("u", &s).is_ok(), "{}", s);
        }

        #[test]
        fn token_chars_and_versions_are_their_patterns(s in "[A-Za-z0-9_.v -]{0,12}") {
            for kind in [FieldKind::TokenChars, FieldKind::ApiVersion] {
                prop_assert_eq!(kind.check("f", &s).is_ok(), documented(kind, &s));
            }
        }
    }
}
