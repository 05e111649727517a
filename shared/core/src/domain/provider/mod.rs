//! Providers (how an account talks to its channel) and their configuration. Each provider
//! declares its fields once; secrets among them are sealed before storage and only their
//! presence (`has_<field>`) is ever shown.

use super::channel::Channel;
use super::secret::SealedSecret;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod config;
mod field;
mod schema;

pub use config::{ProviderConfigPatch, public_view, written_for_another};
pub use field::{FieldKind, MAX_FIELD_CHARS, sender};
pub use schema::config_schema;

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
    field("from", FieldKind::Mailbox).required(),
    field("smtp_url", FieldKind::SmtpUrl).secret().required(),
];

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
