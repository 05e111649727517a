//! Chat ids: WhatsApp-style JIDs. The JID's server part says what kind of chat it is; other
//! providers map onto the same shape (`<id>@telegram`, `<id>@telegram.group`).

use super::validation::ValidationError;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
)]
#[serde(rename_all = "snake_case")]
pub enum ChatType {
    Private,
    Group,
    Channel,
}

impl ChatType {
    pub fn as_str(self) -> &'static str {
        match self {
            ChatType::Private => "private",
            ChatType::Group => "group",
            ChatType::Channel => "channel",
        }
    }
}

/// A chat id such as `15551234567@s.whatsapp.net`, `120363025246125486@g.us`,
/// `120363111111111111@newsletter`, `42@telegram` or `-100123@telegram.group`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ChatJid {
    jid: String,
    kind: ChatType,
}

impl ChatJid {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        Self::try_from(value.to_string()).map_err(|message| {
            ValidationError::new("chat_id", message).with_code("invalid_chat_id")
        })
    }

    pub fn chat_type(&self) -> ChatType {
        self.kind
    }

    pub fn as_str(&self) -> &str {
        &self.jid
    }

    /// The part before the last `@`: the phone number, group or chat id in the channel's own
    /// terms (an email address keeps its own `@`).
    pub fn user(&self) -> &str {
        self.jid.rsplit_once('@').map_or("", |(user, _)| user)
    }

    /// The part after the last `@`, which names the channel (`s.whatsapp.net`,
    /// `telegram.group` ...).
    pub fn server(&self) -> &str {
        self.jid.rsplit_once('@').map_or("", |(_, server)| server)
    }

    /// Whether messages to this id make a conversation. Email and the relay phone's own
    /// notifications have none: their messages are stored, but no chat lists them.
    pub fn has_chat(&self) -> bool {
        !matches!(self.server(), EMAIL_SERVER | NOTIFY_SERVER)
    }

    /// The schema of a chat id as JSON, for schemas written by hand.
    pub fn schema_value() -> serde_json::Value {
        serde_json::to_value(<Self as utoipa::PartialSchema>::schema()).unwrap_or_default()
    }
}

/// What the OpenAPI document says a chat id is: the rules of `classify`, written as one pattern
/// (a unit test holds the two together). The email branch bounds its parts with lookaheads, as
/// no plain pattern can bound a sum of lengths.
pub const CHAT_JID_PATTERN: &str = concat!(
    r"^(?:",
    r"[0-9]{1,64}@(?:s\.whatsapp\.net|lid|newsletter|sms)",
    r"|(?:[A-Za-z0-9]{1,64}|[0-9]{1,20}-[0-9]{1,20})@g\.us",
    r"|(?:-[0-9]{1,63}|[0-9]{1,64})@telegram(?:\.group|\.channel)?",
    r"|[A-Za-z][A-Za-z0-9_]{4,31}@telegram",
    r"|[A-Za-z0-9_.\-]{1,64}@pchat",
    r"|phone@notify",
    r#"|(?=[^@]{1,64}@)(?=.{3,254}@email$)"#,
    r#"[^\s\x00-\x1f\x7f-\x9f<>()\[\]\\,;:@"]+@"#,
    r#"[^.\s\x00-\x1f\x7f-\x9f<>()\[\]\\,;:@"][^\s\x00-\x1f\x7f-\x9f<>()\[\]\\,;:@"]*\."#,
    r#"[^\s\x00-\x1f\x7f-\x9f<>()\[\]\\,;:@"]*[^.\s\x00-\x1f\x7f-\x9f<>()\[\]\\,;:@"]@email"#,
    r")$"
);

impl utoipa::PartialSchema for ChatJid {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "A chat id: `15551234567@s.whatsapp.net`, `120363025246125486@g.us`, `42@telegram`, `-100123@telegram.group`, `15551234567@sms`, `ann@example.com@email` ...",
            ))
            .max_length(Some(MAX_JID_CHARS))
            .pattern(Some(CHAT_JID_PATTERN))
            .examples(["15551234567@s.whatsapp.net"])
            .into()
    }
}

impl utoipa::ToSchema for ChatJid {}

/// The longest chat id, in characters.
const MAX_JID_CHARS: usize = 261;

/// The server of an email recipient's id (`ann@example.com@email`).
pub const EMAIL_SERVER: &str = "email";
/// The server of a relay phone's own notifications (`phone@notify`).
pub const NOTIFY_SERVER: &str = "notify";

/// A Telegram username without its `@`: 5 to 32 letters, digits and `_`, starting with a letter.
pub fn is_telegram_username(s: &str) -> bool {
    (5..=32).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// An email address as far as a gateway can tell without sending: one `@`, a dotted domain,
/// no spaces or brackets, at most 254 characters.
pub fn is_email_address(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let clean = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && !"<>()[]\\,;:@\"".contains(c))
    };
    s.chars().count() <= 254
        && local.chars().count() <= 64
        && clean(local)
        && clean(domain)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
}

/// The servers Switchboard knows, with the chat type each one means and what its user part
/// may contain.
fn classify(server: &str, user: &str) -> Result<ChatType, String> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let signed_digits = |s: &str| digits(s.strip_prefix('-').unwrap_or(s));
    let alphanumeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
    let (kind, ok) = match server {
        "s.whatsapp.net" | "lid" => (ChatType::Private, digits(user)),
        // Older group ids are `<creator>-<timestamp>`; the Cloud API's are opaque letters and
        // digits.
        "g.us" => (
            ChatType::Group,
            alphanumeric(user)
                || user
                    .split_once('-')
                    .is_some_and(|(a, b)| [a, b].iter().all(|p| digits(p) && p.len() <= 20)),
        ),
        "newsletter" => (ChatType::Channel, digits(user)),
        // A user's id, or (through a relay phone) a username.
        "telegram" => (
            ChatType::Private,
            signed_digits(user) || is_telegram_username(user),
        ),
        "telegram.group" => (ChatType::Group, signed_digits(user)),
        "telegram.channel" => (ChatType::Channel, signed_digits(user)),
        // A relay phone's SMS conversations and its app's contacts.
        "sms" => (ChatType::Private, digits(user)),
        "pchat" => (
            ChatType::Private,
            !user.is_empty()
                && user
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.'),
        ),
        EMAIL_SERVER => (ChatType::Private, is_email_address(user)),
        NOTIFY_SERVER => (ChatType::Private, user == "phone"),
        _ => {
            return Err(format!(
                "unknown chat server `{server}`: expected s.whatsapp.net, lid, g.us, newsletter, telegram, telegram.group, telegram.channel, sms, pchat, email or notify"
            ));
        }
    };
    if ok {
        Ok(kind)
    } else {
        Err(format!("`{user}` is not a valid id for @{server}"))
    }
}

impl TryFrom<String> for ChatJid {
    type Error = String;
    fn try_from(jid: String) -> Result<Self, String> {
        if jid.chars().count() > MAX_JID_CHARS {
            return Err(format!("must be at most {MAX_JID_CHARS} characters"));
        }
        let (user, server) = jid
            .rsplit_once('@')
            .ok_or_else(|| "must be a JID like 15551234567@s.whatsapp.net".to_string())?;
        if user.chars().count() > 64 && server != EMAIL_SERVER {
            return Err("the part before @ must be at most 64 characters".into());
        }
        let kind = classify(server, user)?;
        Ok(Self { jid, kind })
    }
}

impl From<ChatJid> for String {
    fn from(j: ChatJid) -> String {
        j.jid
    }
}

impl fmt::Display for ChatJid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.jid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn types_come_from_the_server_part() {
        let t = |s: &str| ChatJid::parse(s).map(|j| j.chat_type());
        assert_eq!(t("15551234567@s.whatsapp.net"), Ok(ChatType::Private));
        assert_eq!(t("120363025246125486@g.us"), Ok(ChatType::Group));
        assert_eq!(t("15551234567-1611111111@g.us"), Ok(ChatType::Group));
        assert_eq!(t("120363111111111111@newsletter"), Ok(ChatType::Channel));
        assert_eq!(t("42@telegram"), Ok(ChatType::Private));
        assert_eq!(t("-100123@telegram.group"), Ok(ChatType::Group));
        assert_eq!(
            t("Y2FwaV9ncm91cDoxNzA1NTU1MDEzOToxMjAzNjM0MDQ2OTQyMzM4MjAZD@g.us"),
            Ok(ChatType::Group),
            "a Cloud API group id"
        );
        assert_eq!(t("15551234567@sms"), Ok(ChatType::Private));
        assert_eq!(t("ana.b-7@pchat"), Ok(ChatType::Private));
    }

    #[test]
    fn the_documented_pattern_is_the_rule() {
        let pattern = fancy_regex::Regex::new(CHAT_JID_PATTERN).expect("a valid pattern");
        let long = |n: usize| "7".repeat(n);
        let cases = [
            "15551234567@s.whatsapp.net".to_string(),
            format!("{}@lid", long(64)),
            format!("{}@lid", long(65)),
            format!("{}-{}@g.us", long(20), long(20)),
            format!("{}-{}@g.us", long(21), long(2)),
            "1-2-3@g.us".into(),
            "-5@g.us".into(),
            format!("-{}@telegram", long(63)),
            format!("-{}@telegram", long(64)),
            "some_user@telegram".into(),
            "_user@telegram".into(),
            "ann@example.com@email".into(),
            "ann@.example.com@email".into(),
            "ann@example.com.@email".into(),
            "ann@examplecom@email".into(),
            "a nn@example.com@email".into(),
            format!("{}@example.com@email", "a".repeat(64)),
            format!("{}@example.com@email", "a".repeat(65)),
            format!("a@{}.com@email", "b".repeat(248)),
            format!("a@{}.com@email", "b".repeat(249)),
            "élan@exämple.com@email".into(),
            "phone@notify".into(),
            "phones@notify".into(),
            "x@unknown".into(),
            "15551234567@s.whatsapp.net\n".into(),
        ];
        for jid in cases {
            assert_eq!(
                pattern.is_match(&jid).expect("no backtracking limit"),
                ChatJid::parse(&jid).is_ok(),
                "{jid:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn the_pattern_and_the_rule_agree_on_anything_jid_like(
            s in "[0-9a-zA-Z_.@ -]{0,12}@(s\\.whatsapp\\.net|lid|g\\.us|newsletter|telegram|telegram\\.group|sms|pchat|email|notify|x)"
        ) {
            let pattern = fancy_regex::Regex::new(CHAT_JID_PATTERN).expect("a valid pattern");
            prop_assert_eq!(pattern.is_match(&s).expect("no backtracking limit"), ChatJid::parse(&s).is_ok(), "{:?}", s);
        }
    }

    #[test]
    fn malformed_jids_are_refused() {
        for bad in [
            "",
            "15551234567",
            "@s.whatsapp.net",
            "abc@s.whatsapp.net",
            "1@example.com",
            "1-2-3@g.us",
            "1@s.whatsapp.net@x",
        ] {
            assert!(ChatJid::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_round_trips(s in "[0-9a-z@.\\-]{0,80}") {
            if let Ok(j) = ChatJid::parse(&s) {
                prop_assert_eq!(j.as_str(), s.as_str());
            }
        }
    }
}
