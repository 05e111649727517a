//! Channels: what a message travels on. A provider carries some of them (a WhatsApp number
//! carries `wa`; a relay phone `sms`, `wa`, `tg`, `pchat` and `notify`).

use super::chat::{ChatJid, NOTIFY_SERVER, is_email_address, is_telegram_username};
use super::validation::ValidationError;
use serde::{Deserialize, Serialize};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// SMS.
    Sms,
    /// WhatsApp.
    Wa,
    /// Telegram as a user (through a relay phone or a bridge).
    Tg,
    Email,
    /// A notification on the relay phone itself.
    Notify,
    /// Telegram as a bot.
    TgBot,
    /// The relay phone's own chat app.
    Pchat,
}

impl Channel {
    pub const ALL: [Channel; 7] = [
        Channel::Sms,
        Channel::Wa,
        Channel::Tg,
        Channel::Email,
        Channel::Notify,
        Channel::TgBot,
        Channel::Pchat,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Wa => "wa",
            Channel::Tg => "tg",
            Channel::Email => "email",
            Channel::Notify => "notify",
            Channel::TgBot => "tg_bot",
            Channel::Pchat => "pchat",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The channel a chat id is on, from its server part.
    pub fn of_chat_server(server: &str) -> Option<Self> {
        Some(match server {
            "s.whatsapp.net" | "lid" | "g.us" | "newsletter" => Channel::Wa,
            "telegram" | "telegram.group" | "telegram.channel" => Channel::Tg,
            "sms" => Channel::Sms,
            "pchat" => Channel::Pchat,
            _ => return None,
        })
    }
}

/// A recipient as its channel names it, and the chat its messages go in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// Normalized: what the allowlist is matched against and what the phone is handed.
    pub to: String,
    pub chat: ChatJid,
}

/// What the OpenAPI document says `to` is on `channel` (`None`: left out, for `notify`): the
/// rules of `recipient`, written as patterns (a unit test holds them together). The server also
/// trims surrounding whitespace and lowercases an address; the document asks for the plain form.
pub fn to_pattern(channel: Channel) -> Option<&'static str> {
    Some(match channel {
        Channel::Wa | Channel::Sms => r"^\+[0-9]{8,15}$",
        Channel::TgBot => r"^-?[0-9]{1,20}$",
        Channel::Tg => r"^(?:@[A-Za-z][A-Za-z0-9_]{4,31}|\+[0-9]{8,15})$",
        Channel::Email => EMAIL_TO_PATTERN,
        Channel::Pchat => r"^[A-Za-z0-9_.\-]{1,64}$",
        Channel::Notify => return None,
    })
}

/// What `recipient` takes as `to` for `notify`, when it is there: nothing but ASCII whitespace.
pub const NOTIFY_TO_PATTERN: &str = r"^[ \t\n\x0C\r]*$";

/// An address as `is_email_address` takes it, in lower case (the server lowercases).
const EMAIL_TO_PATTERN: &str = concat!(
    r#"^(?=[^@]{1,64}@)(?=.{3,254}$)"#,
    r#"[^A-Z\s\x00-\x1f\x7f-\x9f<>()\[\]\\,;:@"]+@"#,
    r#"[^A-Z.\s\x00-\x1f\x7f-\x9f<>()\[\]\\,;:@"][^A-Z\s\x00-\x1f\x7f-\x9f<>()\[\]\\,;:@"]*\."#,
    r#"[^A-Z\s\x00-\x1f\x7f-\x9f<>()\[\]\\,;:@"]*[^A-Z.\s\x00-\x1f\x7f-\x9f<>()\[\]\\,;:@"]$"#,
);

/// Reads `to` as `channel` writes recipients: `wa`, `sms` E.164 (`+` and 8 to 15 digits);
/// `tg_bot` a Telegram chat id; `tg` `@username` or E.164; `email` an address; `pchat` the
/// app's contact id; `notify` none (the phone itself).
pub fn recipient(channel: Channel, to: Option<&str>) -> Result<Recipient, ValidationError> {
    let bad = |message: &str| ValidationError::new("to", message).with_code("invalid_recipient");
    if channel == Channel::Notify {
        // Left out, null or empty (as integrations write it): the phone itself.
        return match to {
            Some(to) if !to.chars().all(|c| c.is_ascii_whitespace()) => Err(bad(
                "must be left out, null or empty: a notification goes to the phone",
            )),
            _ => Ok(Recipient {
                to: String::new(),
                chat: ChatJid::parse(&format!("phone@{NOTIFY_SERVER}"))?,
            }),
        };
    }
    let Some(to) = to.map(str::trim) else {
        return Err(ValidationError::new("to", "is required for this channel"));
    };
    let e164 = |to: &str| {
        to.strip_prefix('+')
            .filter(|d| (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_string)
    };
    let (to, jid) = match channel {
        // Answered above, before the text is read as an address.
        Channel::Notify => return Err(bad("a notification goes to the phone")),
        Channel::Wa | Channel::Sms => {
            let digits = e164(to).ok_or_else(|| bad("must be E.164: + and 8 to 15 digits"))?;
            let server = if channel == Channel::Wa {
                "s.whatsapp.net"
            } else {
                "sms"
            };
            (format!("+{digits}"), format!("{digits}@{server}"))
        }
        Channel::TgBot => {
            let digits = to.strip_prefix('-').unwrap_or(to);
            if digits.is_empty() || digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(bad("must be a Telegram chat id (an integer)"));
            }
            let server = if to.starts_with('-') {
                "telegram.group"
            } else {
                "telegram"
            };
            (to.to_string(), format!("{to}@{server}"))
        }
        Channel::Tg => {
            if let Some(name) = to.strip_prefix('@').filter(|n| is_telegram_username(n)) {
                (format!("@{name}"), format!("{name}@telegram"))
            } else if let Some(digits) = e164(to) {
                (format!("+{digits}"), format!("{digits}@telegram"))
            } else {
                return Err(bad("must be a Telegram @username or an E.164 number"));
            }
        }
        Channel::Email => {
            let address = to.to_lowercase();
            if !is_email_address(&address) {
                return Err(bad("must be an email address"));
            }
            (address.clone(), format!("{address}@email"))
        }
        Channel::Pchat => (to.to_string(), format!("{to}@pchat")),
    };
    let chat =
        ChatJid::parse(&jid).map_err(|_| bad("is not a valid recipient for this channel"))?;
    Ok(Recipient { to, chat })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_patterns_are_the_rules() {
        let cases = [
            "+15551234567",
            "+1234567",
            "+1234567890123456",
            "15551234567",
            "-100123",
            "123456789012345678901",
            "@durov_1",
            "@ab",
            "@1durov",
            "ann@example.com",
            "ann@localhost",
            "a b@example.com",
            "ann@.example.com",
            "ann@example.com.",
            "contact-7",
            "a/b",
            "",
            "  ",
            " \t\r\n",
            "\u{a0}",
        ];
        for channel in Channel::ALL {
            // `to` may be left out only for a notification; when given, it is its pattern.
            assert_eq!(recipient(channel, None).is_ok(), channel == Channel::Notify);
            let pattern = to_pattern(channel).unwrap_or(NOTIFY_TO_PATTERN);
            let pattern = fancy_regex::Regex::new(pattern).expect("a valid pattern");
            for to in cases {
                assert_eq!(
                    pattern.is_match(to).expect("no backtracking limit"),
                    recipient(channel, Some(to)).is_ok(),
                    "{channel:?} {to:?}"
                );
            }
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        let email = fancy_regex::Regex::new(EMAIL_TO_PATTERN).expect("a valid pattern");
        assert!(!email.is_match(&long_local).expect("no backtracking limit"));
        assert!(recipient(Channel::Email, Some(&long_local)).is_err());
    }

    #[test]
    fn recipients_are_read_and_normalized_per_channel() {
        let ok = |c: Channel, to: &str| recipient(c, Some(to)).map(|r| (r.to, r.chat.to_string()));
        assert_eq!(
            ok(Channel::Wa, " +15551234567"),
            Ok(("+15551234567".into(), "15551234567@s.whatsapp.net".into()))
        );
        assert_eq!(
            ok(Channel::Sms, "+4915112345678"),
            Ok(("+4915112345678".into(), "4915112345678@sms".into()))
        );
        assert!(ok(Channel::Sms, "15551234567").is_err(), "no +");
        assert!(ok(Channel::Wa, "+1234567").is_err(), "7 digits");
        assert!(ok(Channel::Wa, "+1234567890123456").is_err(), "16 digits");
        assert_eq!(
            ok(Channel::TgBot, "-100123"),
            Ok(("-100123".into(), "-100123@telegram.group".into()))
        );
        assert!(ok(Channel::TgBot, "@durov").is_err());
        assert_eq!(
            ok(Channel::Tg, "@durov_1"),
            Ok(("@durov_1".into(), "durov_1@telegram".into()))
        );
        assert!(ok(Channel::Tg, "@ab").is_err(), "usernames have 5 or more");
        assert_eq!(
            ok(Channel::Email, "Ann@Example.com"),
            Ok(("ann@example.com".into(), "ann@example.com@email".into()))
        );
        assert!(ok(Channel::Email, "ann@localhost").is_err());
        assert!(ok(Channel::Email, "a b@example.com").is_err());
        assert_eq!(
            ok(Channel::Pchat, "contact-7"),
            Ok(("contact-7".into(), "contact-7@pchat".into()))
        );
        assert!(ok(Channel::Pchat, "a/b").is_err());
        assert!(recipient(Channel::Notify, None).is_ok_and(|r| !r.chat.has_chat()));
        assert!(ok(Channel::Notify, "+15551234567").is_err());
        assert!(recipient(Channel::Sms, None).is_err());
        assert!(
            ok(Channel::Email, "ann@example.com")
                .is_ok_and(|(_, c)| { !ChatJid::parse(&c).expect("jid").has_chat() })
        );
    }

    #[test]
    fn names_round_trip() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
            assert_eq!(
                serde_json::to_value(c).ok(),
                Some(serde_json::json!(c.as_str()))
            );
        }
        assert_eq!(Channel::parse("fax"), None);
    }
}
