//! A change to a provider configuration, checked field by field against the provider's list
//! (unknown fields, values of the wrong shape, missing required ones), and what the API shows
//! of a stored one.

use super::{FieldKind, ProviderKind, RELAY_CHANNELS, StoredProviderConfig};
use crate::domain::channel::Channel;
use crate::domain::validation::ValidationError;
use std::collections::BTreeMap;

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
                    spec.kind.check(&field, s)?;
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
    use crate::domain::secret::SealedSecret;
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
        assert!(FieldKind::TokenChars.check("f", &made).is_ok());
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
