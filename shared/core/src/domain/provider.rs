//! Providers (how an account talks to its channel) and their configuration. Each provider
//! declares its fields once; secrets among them are sealed before storage and only their
//! presence (`has_<field>`) is ever shown.

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
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Sandbox => "sandbox",
            ProviderKind::WhatsappCloud => "whatsapp_cloud",
            ProviderKind::TelegramBot => "telegram_bot",
            ProviderKind::Bridge => "bridge",
            ProviderKind::Relay => "relay",
        }
    }

    pub fn fields(self) -> &'static [FieldSpec] {
        match self {
            ProviderKind::Sandbox => &[],
            ProviderKind::WhatsappCloud => WHATSAPP_CLOUD_FIELDS,
            ProviderKind::TelegramBot => TELEGRAM_BOT_FIELDS,
            ProviderKind::Bridge => BRIDGE_FIELDS,
            ProviderKind::Relay => RELAY_FIELDS,
        }
    }
}

const fn field(name: &'static str, kind: FieldKind, secret: bool, required: bool) -> FieldSpec {
    FieldSpec {
        name,
        kind,
        secret,
        required,
    }
}

const WHATSAPP_CLOUD_FIELDS: &[FieldSpec] = &[
    field("phone_number_id", FieldKind::Text, false, true),
    field("business_account_id", FieldKind::Text, false, false),
    field("api_version", FieldKind::Text, false, false),
    field("access_token", FieldKind::Text, true, true),
    field("app_secret", FieldKind::Text, true, true),
    field("verify_token", FieldKind::Text, true, false),
];
const TELEGRAM_BOT_FIELDS: &[FieldSpec] = &[
    field("bot_token", FieldKind::Text, true, true),
    field("webhook_secret", FieldKind::Text, true, false),
];
const BRIDGE_FIELDS: &[FieldSpec] = &[
    field("url", FieldKind::Url, false, true),
    field("secret", FieldKind::Text, true, false),
];
const RELAY_FIELDS: &[FieldSpec] = &[field("phone_number", FieldKind::Text, false, false)];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    Url,
}

#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    pub name: &'static str,
    pub kind: FieldKind,
    pub secret: bool,
    pub required: bool,
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
            let checked = match value {
                serde_json::Value::Null if !creating && !spec.required => None,
                serde_json::Value::Null => {
                    return Err(ValidationError::new(
                        field,
                        "is required and cannot be null",
                    ));
                }
                serde_json::Value::String(s) => {
                    bounded_text(&field, s, 1, 4096)?;
                    if spec.kind == FieldKind::Url {
                        HttpUrl::parse(&field, s)?;
                    }
                    Some(s.clone())
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
