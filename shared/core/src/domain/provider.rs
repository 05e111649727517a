//! Providers (how an account talks to its channel) and their configuration. Each provider
//! declares its fields once; secrets among them are sealed before storage and only their
//! presence (`has_<field>`) is ever shown.

use super::channel::Channel;
use super::secret::SealedSecret;
use super::validation::{HttpUrl, ValidationError, bounded_text};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    Sandbox,
    WhatsappCloud,
    TelegramBot,
    Bridge,
    Relay,
    Email,
}

impl ProviderKind {
    pub const ALL: [ProviderKind; 6] = [
        ProviderKind::Sandbox,
        ProviderKind::WhatsappCloud,
        ProviderKind::TelegramBot,
        ProviderKind::Bridge,
        ProviderKind::Relay,
        ProviderKind::Email,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Sandbox => "sandbox",
            ProviderKind::WhatsappCloud => "whatsapp_cloud",
            ProviderKind::TelegramBot => "telegram_bot",
            ProviderKind::Bridge => "bridge",
            ProviderKind::Relay => "relay",
            ProviderKind::Email => "email",
        }
    }

    pub fn fields(self) -> &'static [FieldSpec] {
        match self {
            ProviderKind::Sandbox => &[],
            ProviderKind::WhatsappCloud => WHATSAPP_CLOUD_FIELDS,
            ProviderKind::TelegramBot => TELEGRAM_BOT_FIELDS,
            ProviderKind::Bridge => BRIDGE_FIELDS,
            ProviderKind::Relay => RELAY_FIELDS,
            ProviderKind::Email => EMAIL_FIELDS,
        }
    }

    /// The channels an account of this provider carries, with its configuration.
    pub fn channels(self, config: &StoredProviderConfig) -> Vec<Channel> {
        match self {
            ProviderKind::Sandbox => Channel::ALL.to_vec(),
            ProviderKind::WhatsappCloud => vec![Channel::Wa],
            ProviderKind::TelegramBot => vec![Channel::TgBot],
            ProviderKind::Bridge => vec![Channel::Wa, Channel::Tg],
            ProviderKind::Relay => match config.fields.get("channels") {
                Some(list) => list.split(',').filter_map(Channel::parse).collect(),
                None => RELAY_CHANNELS.to_vec(),
            },
            ProviderKind::Email => vec![Channel::Email],
        }
    }
}

/// What a relay phone carries unless its configuration narrows it.
pub const RELAY_CHANNELS: [Channel; 5] = [
    Channel::Sms,
    Channel::Wa,
    Channel::Tg,
    Channel::Pchat,
    Channel::Notify,
];

const fn field(name: &'static str, kind: FieldKind) -> FieldSpec {
    FieldSpec {
        name,
        kind,
        secret: false,
        required: false,
        generated: false,
    }
}

impl FieldSpec {
    /// Sealed before storage, write-only: shown as `has_<name>`.
    const fn secret(mut self) -> Self {
        self.secret = true;
        self
    }

    const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Made up at creation when the request leaves it out.
    const fn generated(mut self) -> Self {
        self.generated = true;
        self
    }
}

const WHATSAPP_CLOUD_FIELDS: &[FieldSpec] = &[
    field("phone_number_id", FieldKind::Text).required(),
    field("business_account_id", FieldKind::Text),
    field("api_version", FieldKind::ApiVersion),
    field("access_token", FieldKind::Text).secret().required(),
    field("app_secret", FieldKind::Text).secret().required(),
    field("verify_token", FieldKind::TokenChars)
        .secret()
        .generated(),
];
const TELEGRAM_BOT_FIELDS: &[FieldSpec] = &[
    field("bot_token", FieldKind::Text).secret().required(),
    // Telegram's `secret_token` allows only these characters.
    field("webhook_secret", FieldKind::TokenChars)
        .secret()
        .generated(),
    field("bot_id", FieldKind::Learned),
    field("bot_username", FieldKind::Learned),
];
const BRIDGE_FIELDS: &[FieldSpec] = &[
    field("url", FieldKind::Url).required(),
    field("secret", FieldKind::Text).secret(),
];
const RELAY_FIELDS: &[FieldSpec] = &[
    field("phone_number", FieldKind::Text),
    field("channels", FieldKind::Channels),
];
const EMAIL_FIELDS: &[FieldSpec] = &[
    field("from", FieldKind::Email).required(),
    field("smtp_url", FieldKind::SmtpUrl).secret().required(),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    /// An `http` or `https` URL.
    Url,
    /// `smtp://` or `smtps://`, with the user and password when the server needs them.
    SmtpUrl,
    /// An e-mail address.
    Email,
    /// 1 to 256 of `A-Z a-z 0-9 _ -`, usable as Telegram's `secret_token` and in a URL.
    TokenChars,
    /// A Graph API version, `v23.0`.
    ApiVersion,
    /// A list of channel names (a JSON array), stored comma-separated.
    Channels,
    /// Learned from the provider by `connect` (a bot's id and name): shown, never written.
    Learned,
}

#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    pub name: &'static str,
    pub kind: FieldKind,
    pub secret: bool,
    pub required: bool,
    pub generated: bool,
}

/// A provider configuration as stored: plain fields, and sealed secrets by field name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredProviderConfig {
    pub fields: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, SealedSecret>,
}

/// A provider configuration with its secrets opened, for the moment a provider needs them (to
/// verify an inbound webhook, to send); never stored, never logged.
#[derive(Clone, Default)]
pub struct OpenedConfig {
    pub fields: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, SecretString>,
}

impl OpenedConfig {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    pub fn secret(&self, name: &str) -> Option<&SecretString> {
        self.secrets.get(name)
    }
}

impl std::fmt::Debug for OpenedConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names only: the values of secrets stay out of logs and panics.
        f.debug_struct("OpenedConfig")
            .field("fields", &self.fields)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A checked change to a provider configuration, before its secrets are sealed.
/// `None` clears a field; a field absent from the map is left as it is.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ProviderConfigPatch {
    pub fields: BTreeMap<&'static str, Option<String>>,
    pub secrets: BTreeMap<&'static str, Option<String>>,
}

impl ProviderConfigPatch {
    /// Checks a `provider_config` object against the provider's fields: unknown fields, values
    /// that are not strings, bad URLs and (when `creating`) missing required fields are refused.
    pub fn parse(
        kind: ProviderKind,
        value: Option<&serde_json::Value>,
        creating: bool,
    ) -> Result<Self, ValidationError> {
        let empty = serde_json::Map::new();
        let object = match value {
            None | Some(serde_json::Value::Null) => &empty,
            Some(serde_json::Value::Object(map)) => map,
            Some(_) => return Err(ValidationError::new("provider_config", "must be an object")),
        };
        let specs = kind.fields();
        let mut patch = Self::default();
        for (name, value) in object {
            let spec = specs.iter().find(|s| s.name == name).ok_or_else(|| {
                let known: Vec<_> = specs.iter().map(|s| s.name).collect();
                ValidationError::new(
                    format!("provider_config.{name}"),
                    format!(
                        "unknown field for provider {}; expected one of: {}",
                        kind.as_str(),
                        if known.is_empty() {
                            "(none)".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                )
                .with_code("unknown_field")
            })?;
            let field = format!("provider_config.{name}");
            if spec.kind == FieldKind::Learned {
                return Err(ValidationError::new(
                    field,
                    "is learned from the provider by POST /v1/accounts/{id}/connect",
                )
                .with_code("read_only_field"));
            }
            let checked = match value {
                serde_json::Value::Null if !creating && !spec.required => None,
                serde_json::Value::Null => {
                    return Err(ValidationError::new(
                        field,
                        "is required and cannot be null",
                    ));
                }
                serde_json::Value::Array(names) if spec.kind == FieldKind::Channels => {
                    Some(check_channels(kind, &field, names)?)
                }
                serde_json::Value::String(s) if spec.kind != FieldKind::Channels => {
                    bounded_text(&field, s, 1, 4096)?;
                    check_value(spec.kind, &field, s)?;
                    Some(s.clone())
                }
                _ if spec.kind == FieldKind::Channels => {
                    return Err(ValidationError::new(
                        field,
                        "must be an array of channel names",
                    ));
                }
                _ => return Err(ValidationError::new(field, "must be a string")),
            };
            if spec.secret {
                patch.secrets.insert(spec.name, checked);
            } else {
                patch.fields.insert(spec.name, checked);
            }
        }
        let missing = specs.iter().find(|s| {
            s.required && !patch.fields.contains_key(s.name) && !patch.secrets.contains_key(s.name)
        });
        if let (true, Some(missing)) = (creating, missing) {
            return Err(ValidationError::new(
                format!("provider_config.{}", missing.name),
                format!("is required for provider {}", kind.as_str()),
            )
            .with_code("missing_field"));
        }
        Ok(patch)
    }

    /// Makes up the secrets a new account of `kind` needs and the request left out (a
    /// Telegram bot's `webhook_secret`, a WhatsApp number's `verify_token`): 32 random URL-safe
    /// characters each.
    pub fn generate_missing(&mut self, kind: ProviderKind) {
        use base64::Engine;
        for spec in kind.fields().iter().filter(|s| s.generated) {
            let slot = self.secrets.entry(spec.name).or_insert(None);
            if slot.is_none() {
                let mut bytes = [0u8; 24];
                rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
                *slot = Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
            }
        }
    }
}

/// Checks a text field's value against its kind.
fn check_value(kind: FieldKind, field: &str, value: &str) -> Result<(), ValidationError> {
    let bad = |message: &str| Err(ValidationError::new(field, message));
    match kind {
        FieldKind::Url => HttpUrl::parse(field, value).map(|_| ()),
        FieldKind::SmtpUrl => match url::Url::parse(value) {
            Ok(u) if matches!(u.scheme(), "smtp" | "smtps") && u.host_str().is_some() => Ok(()),
            _ => bad(
                "must be an smtp:// or smtps:// URL with a host, e.g. smtps://user:pass@smtp.example.com:465",
            ),
        },
        FieldKind::Email => {
            let ok = value.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !value.chars().any(|c| c.is_whitespace() || c.is_control())
            });
            if ok {
                Ok(())
            } else {
                bad("must be an e-mail address")
            }
        }
        FieldKind::TokenChars => {
            let ok = value.len() <= 256
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if ok {
                Ok(())
            } else {
                bad("must be 1 to 256 of A-Z, a-z, 0-9, _ and -")
            }
        }
        FieldKind::ApiVersion => {
            let ok = value.strip_prefix('v').is_some_and(|n| {
                n.split('.').count() == 2
                    && n.split('.')
                        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            });
            if ok {
                Ok(())
            } else {
                bad("must be a Graph API version such as v23.0")
            }
        }
        FieldKind::Text | FieldKind::Channels | FieldKind::Learned => Ok(()),
    }
}

/// A relay phone's channels: names it can carry, at least one, each once.
fn check_channels(
    kind: ProviderKind,
    field: &str,
    names: &[serde_json::Value],
) -> Result<String, ValidationError> {
    let mut channels = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let channel = name
            .as_str()
            .and_then(Channel::parse)
            .filter(|c| kind != ProviderKind::Relay || RELAY_CHANNELS.contains(c))
            .ok_or_else(|| {
                let known: Vec<_> = RELAY_CHANNELS.iter().map(|c| c.as_str()).collect();
                ValidationError::new(
                    format!("{field}[{i}]"),
                    format!("must be one of {}", known.join(", ")),
                )
            })?;
        if !channels.contains(&channel) {
            channels.push(channel);
        }
    }
    if channels.is_empty() {
        return Err(ValidationError::new(
            field,
            "must name at least one channel",
        ));
    }
    Ok(channels
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(","))
}

/// The provider a configuration change was written for, when it is not `kind`: every field it
/// names is one of that provider's and not all are `kind`'s. Such a change is well-formed; it
/// conflicts with the account it is sent to.
pub fn written_for_another(kind: ProviderKind, config: &serde_json::Value) -> Option<ProviderKind> {
    let names: Vec<&String> = config.as_object()?.keys().collect();
    let fits = |k: ProviderKind| {
        !names.is_empty()
            && names.iter().all(|n| {
                k.fields()
                    .iter()
                    .any(|f| f.name == n.as_str() && f.kind != FieldKind::Learned)
            })
    };
    if fits(kind) {
        return None;
    }
    ProviderKind::ALL
        .into_iter()
        .find(|k| *k != kind && fits(*k))
}

/// What the API shows of a provider configuration: plain fields, and `has_<secret>` flags.
pub fn public_view(kind: ProviderKind, stored: &StoredProviderConfig) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for spec in kind.fields() {
        if spec.secret {
            out.insert(
                format!("has_{}", spec.name),
                serde_json::Value::Bool(stored.secrets.contains_key(spec.name)),
            );
        } else if spec.kind == FieldKind::Channels {
            let names = kind
                .channels(stored)
                .iter()
                .map(|c| serde_json::Value::String(c.as_str().to_string()))
                .collect();
            out.insert(spec.name.to_string(), serde_json::Value::Array(names));
        } else if let Some(v) = stored.fields.get(spec.name) {
            out.insert(spec.name.to_string(), serde_json::Value::String(v.clone()));
        }
    }
    serde_json::Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn whatsapp_needs_its_required_fields() {
        let v = json!({"phone_number_id": "1", "access_token": "t"});
        let err = ProviderConfigPatch::parse(ProviderKind::WhatsappCloud, Some(&v), true);
        assert_eq!(
            err.map_err(|e| e.field),
            Err("provider_config.app_secret".to_string())
        );
        let v = json!({"phone_number_id": "1", "access_token": "t", "app_secret": "s"});
        let patch = ProviderConfigPatch::parse(ProviderKind::WhatsappCloud, Some(&v), true);
        let patch = patch.expect("valid");
        assert_eq!(
            patch.secrets.get("access_token"),
            Some(&Some("t".to_string()))
        );
        assert_eq!(
            patch.fields.get("phone_number_id"),
            Some(&Some("1".to_string()))
        );
    }

    #[test]
    fn each_kind_of_field_checks_its_values() {
        let ok = |kind, v: serde_json::Value| ProviderConfigPatch::parse(kind, Some(&v), true);
        let field_of = |r: Result<ProviderConfigPatch, ValidationError>| r.err().map(|e| e.field);
        let email =
            json!({"from": "shop@example.com", "smtp_url": "smtps://u:p@smtp.example.com:465"});
        assert!(ok(ProviderKind::Email, email).is_ok());
        let bad_url = json!({"from": "shop@example.com", "smtp_url": "https://smtp.example.com"});
        assert_eq!(
            field_of(ok(ProviderKind::Email, bad_url)),
            Some("provider_config.smtp_url".into())
        );
        let bad_from = json!({"from": "shop", "smtp_url": "smtp://smtp.example.com"});
        assert_eq!(
            field_of(ok(ProviderKind::Email, bad_from)),
            Some("provider_config.from".into())
        );
        let secret = json!({"bot_token": "1:x", "webhook_secret": "has spaces"});
        assert_eq!(
            field_of(ok(ProviderKind::TelegramBot, secret)),
            Some("provider_config.webhook_secret".into())
        );
        let learned = json!({"bot_token": "1:x", "bot_id": "7"});
        assert_eq!(
            ok(ProviderKind::TelegramBot, learned).err().map(|e| e.code),
            Some("read_only_field")
        );
        let version = json!({"phone_number_id": "1", "access_token": "t", "app_secret": "s", "api_version": "23"});
        assert!(ok(ProviderKind::WhatsappCloud, version).is_err());
        let channels = ok(
            ProviderKind::Relay,
            json!({"channels": ["sms", "wa", "sms"]}),
        );
        assert_eq!(
            channels.map(|p| p.fields.get("channels").cloned()),
            Ok(Some(Some("sms,wa".to_string())))
        );
        assert_eq!(
            field_of(ok(
                ProviderKind::Relay,
                json!({"channels": ["sms", "email"]})
            )),
            Some("provider_config.channels[1]".into())
        );
        assert!(ok(ProviderKind::Relay, json!({"channels": []})).is_err());
        assert!(ok(ProviderKind::Relay, json!({"channels": "sms"})).is_err());
    }

    #[test]
    fn missing_generated_secrets_are_made_up_and_given_ones_kept() {
        let v = json!({"bot_token": "1:x"});
        let mut patch =
            ProviderConfigPatch::parse(ProviderKind::TelegramBot, Some(&v), true).expect("valid");
        patch.generate_missing(ProviderKind::TelegramBot);
        let made = patch
            .secrets
            .get("webhook_secret")
            .cloned()
            .flatten()
            .expect("made");
        assert_eq!(made.len(), 32);
        assert!(check_value(FieldKind::TokenChars, "f", &made).is_ok());
        let v = json!({"bot_token": "1:x", "webhook_secret": "mine"});
        let mut patch =
            ProviderConfigPatch::parse(ProviderKind::TelegramBot, Some(&v), true).expect("valid");
        patch.generate_missing(ProviderKind::TelegramBot);
        assert_eq!(
            patch.secrets.get("webhook_secret"),
            Some(&Some("mine".into()))
        );
    }

    #[test]
    fn a_relay_shows_its_channels_all_five_by_default() {
        let stored = StoredProviderConfig::default();
        assert_eq!(
            public_view(ProviderKind::Relay, &stored)["channels"],
            json!(["sms", "wa", "tg", "pchat", "notify"])
        );
    }

    #[test]
    fn unknown_and_mistyped_fields_are_refused() {
        let v = json!({"bot_tokn": "x"});
        let e = ProviderConfigPatch::parse(ProviderKind::TelegramBot, Some(&v), false);
        assert_eq!(e.map_err(|e| e.code), Err("unknown_field"));
        let v = json!({"bot_token": 5});
        assert!(ProviderConfigPatch::parse(ProviderKind::TelegramBot, Some(&v), false).is_err());
        let v = json!({"url": "gopher://x"});
        assert!(ProviderConfigPatch::parse(ProviderKind::Bridge, Some(&v), true).is_err());
        let v = json!({"anything": "x"});
        assert!(ProviderConfigPatch::parse(ProviderKind::Sandbox, Some(&v), true).is_err());
    }

    #[test]
    fn the_public_view_shows_presence_of_secrets_only() {
        let mut stored = StoredProviderConfig::default();
        stored.fields.insert("phone_number_id".into(), "123".into());
        stored
            .secrets
            .insert("access_token".into(), SealedSecret("ciphertext".into()));
        let view = public_view(ProviderKind::WhatsappCloud, &stored);
        assert_eq!(
            view,
            json!({"phone_number_id": "123", "has_access_token": true, "has_app_secret": false, "has_verify_token": false})
        );
    }
}
