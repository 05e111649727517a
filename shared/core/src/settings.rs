//! The settings every deployment shares, parsed once at start from the environment into a typed
//! struct. A missing or bad value fails start-up with a message naming the variable.

use crate::domain::ai_settings::EnvAi;
use crate::domain::validation::HttpUrl;
use crate::domain::webhook::RetrySchedule;
use secrecy::SecretString;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
#[error("setting {variable}: {message}")]
pub struct SettingsError {
    pub variable: &'static str,
    pub message: String,
}

fn bad(variable: &'static str, message: impl Into<String>) -> SettingsError {
    SettingsError {
        variable,
        message: message.into(),
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub admin_jwt_secret: SecretString,
    pub admin_jwt_issuer: Option<String>,
    pub admin_jwt_audience: Option<String>,
    pub admin_password: Option<SecretString>,
    pub allow_private_network_urls: bool,
    pub env_ai: EnvAi,
    pub webhooks: WebhookSettings,
    pub providers: ProviderSettings,
    /// Bytes of media the process may hold at once (`services::MediaMemory`).
    pub media_memory_bytes: u64,
}

/// Media room for a process whose memory nobody stated (the local one): a few large media at
/// once, as before there was a bound.
const MEDIA_MEMORY_MB: u64 = 256;

/// `MEDIA_MEMORY_MB`, else half the memory Lambda gives the function (the other half is the
/// runtime's 14 MB and the headroom of everything else), else `MEDIA_MEMORY_MB`.
fn media_memory_bytes(env: &dyn EnvSource) -> Result<u64, SettingsError> {
    let megabytes = |name: &'static str| -> Result<Option<u64>, SettingsError> {
        env.var(name)
            .map(|v| {
                v.trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (1..=10_240).contains(n))
                    .ok_or_else(|| bad(name, format!("expected megabytes (1-10240), got `{v}`")))
            })
            .transpose()
    };
    let mb = match megabytes("MEDIA_MEMORY_MB")? {
        Some(mb) => mb,
        None => megabytes("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")?.map_or(MEDIA_MEMORY_MB, |m| m / 2),
    };
    Ok(mb * 1024 * 1024)
}

/// Where this deployment and the providers' APIs are: the operator's settings, not user input,
/// so they are not subject to the URL guard.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// This deployment's public base URL (`PUBLIC_API_URL`), for the webhook URLs providers are
    /// given and for links; `None` when it is not set and the deployment has no default.
    pub public_api_url: Option<HttpUrl>,
    /// Where providers, bridges and relay phones deliver (`INGEST_URL`), when that is not
    /// `public_api_url`: on AWS the ingest function's own URL, which costs no API Gateway
    /// request per notification.
    pub ingest_url: Option<HttpUrl>,
    pub whatsapp_api_base_url: HttpUrl,
    /// Used unless an account names its own `api_version`.
    pub whatsapp_api_version: String,
    pub telegram_api_base_url: HttpUrl,
}

impl ProviderSettings {
    fn from_env(env: &dyn EnvSource) -> Result<Self, SettingsError> {
        let url = |name: &'static str, default: &str| -> Result<HttpUrl, SettingsError> {
            let value = env.var(name).unwrap_or_else(|| default.to_string());
            HttpUrl::try_from(value.trim_end_matches('/').to_string()).map_err(|e| bad(name, e))
        };
        let optional = |name: &'static str| -> Result<Option<HttpUrl>, SettingsError> {
            env.var(name)
                .map(|v| {
                    HttpUrl::try_from(v.trim_end_matches('/').to_string()).map_err(|e| bad(name, e))
                })
                .transpose()
        };
        let version = env
            .var("WHATSAPP_API_VERSION")
            .unwrap_or_else(|| "v23.0".to_string());
        let plausible = version.strip_prefix('v').is_some_and(|n| {
            n.split('.').count() == 2
                && n.split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        });
        if !plausible {
            return Err(bad(
                "WHATSAPP_API_VERSION",
                format!("expected a Graph API version such as v23.0, got `{version}`"),
            ));
        }
        Ok(Self {
            public_api_url: optional("PUBLIC_API_URL")?,
            ingest_url: optional("INGEST_URL")?,
            whatsapp_api_base_url: url("WHATSAPP_API_BASE_URL", "https://graph.facebook.com")?,
            whatsapp_api_version: version,
            telegram_api_base_url: url("TELEGRAM_API_BASE_URL", "https://api.telegram.org")?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct WebhookSettings {
    pub schedule: RetrySchedule,
    /// For one delivery attempt, connection to last byte.
    pub timeout: Duration,
    /// An endpoint whose every attempt failed for this long is disabled.
    pub disable_after: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            schedule: RetrySchedule::standard(),
            timeout: Duration::from_secs(15),
            disable_after: Duration::from_secs(5 * 24 * 3600),
        }
    }
}

impl WebhookSettings {
    fn from_env(env: &dyn EnvSource) -> Result<Self, SettingsError> {
        let defaults = Self::default();
        let seconds = |name: &'static str, default: Duration| -> Result<Duration, SettingsError> {
            match env.var(name) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .map(Duration::from_secs)
                    .ok_or_else(|| {
                        bad(
                            name,
                            format!("expected a positive number of seconds, got `{v}`"),
                        )
                    }),
            }
        };
        let schedule = match env.var("WEBHOOK_RETRY_SCHEDULE") {
            None => defaults.schedule,
            Some(v) => RetrySchedule::parse(&v).map_err(|e| bad("WEBHOOK_RETRY_SCHEDULE", e))?,
        };
        Ok(Self {
            schedule,
            timeout: seconds("WEBHOOK_TIMEOUT_SECONDS", defaults.timeout)?,
            disable_after: seconds("WEBHOOK_DISABLE_AFTER_SECONDS", defaults.disable_after)?,
        })
    }
}

/// Reads one variable; empty counts as unset.
pub trait EnvSource {
    fn var(&self, name: &str) -> Option<String>;
}

impl<F: Fn(&str) -> Option<String>> EnvSource for F {
    fn var(&self, name: &str) -> Option<String> {
        self(name).filter(|v| !v.trim().is_empty())
    }
}

pub fn parse_bool(variable: &'static str, value: &str) -> Result<bool, SettingsError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        other => Err(bad(
            variable,
            format!("expected true or false, got `{other}`"),
        )),
    }
}

impl Settings {
    /// `allow_private_default` is the deployment's default for `ALLOW_PRIVATE_NETWORK_URLS`:
    /// on for the local process, off on AWS.
    pub fn from_env(
        env: &dyn EnvSource,
        allow_private_default: bool,
    ) -> Result<Self, SettingsError> {
        let admin_jwt_secret = env
            .var("ADMIN_JWT_SECRET")
            .ok_or_else(|| bad("ADMIN_JWT_SECRET", "is required"))?;
        if admin_jwt_secret.len() < 32 {
            return Err(bad("ADMIN_JWT_SECRET", "must be at least 32 characters"));
        }
        let allow_private_network_urls = match env.var("ALLOW_PRIVATE_NETWORK_URLS") {
            Some(v) => parse_bool("ALLOW_PRIVATE_NETWORK_URLS", &v)?,
            None => allow_private_default,
        };
        let env_ai = EnvAi::read(|name| env.var(name)).map_err(|(name, e)| bad(name, e))?;
        Ok(Self {
            admin_jwt_secret: SecretString::from(admin_jwt_secret),
            admin_jwt_issuer: env.var("ADMIN_JWT_ISSUER"),
            admin_jwt_audience: env.var("ADMIN_JWT_AUDIENCE"),
            admin_password: env.var("ADMIN_PASSWORD").map(SecretString::from),
            allow_private_network_urls,
            env_ai,
            webhooks: WebhookSettings::from_env(env)?,
            providers: ProviderSettings::from_env(env)?,
            media_memory_bytes: media_memory_bytes(env)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn a_bad_setting_names_its_variable() {
        let e = Settings::from_env(&env(&[]), true)
            .err()
            .map(|e| e.variable);
        assert_eq!(e, Some("ADMIN_JWT_SECRET"));
        let e = Settings::from_env(
            &env(&[
                ("ADMIN_JWT_SECRET", SECRET),
                ("ALLOW_PRIVATE_NETWORK_URLS", "maybe"),
            ]),
            true,
        );
        assert_eq!(
            e.err().map(|e| e.variable),
            Some("ALLOW_PRIVATE_NETWORK_URLS")
        );
        let e = Settings::from_env(
            &env(&[("ADMIN_JWT_SECRET", SECRET), ("OPENAI_BASE_URL", "ftp://x")]),
            true,
        );
        assert_eq!(e.err().map(|e| e.variable), Some("OPENAI_BASE_URL"));
        let e = Settings::from_env(
            &env(&[("ADMIN_JWT_SECRET", SECRET), ("WHATSAPP_API_VERSION", "23")]),
            true,
        );
        assert_eq!(e.err().map(|e| e.variable), Some("WHATSAPP_API_VERSION"));
        let e = Settings::from_env(
            &env(&[
                ("ADMIN_JWT_SECRET", SECRET),
                ("PUBLIC_API_URL", "example.com"),
            ]),
            true,
        );
        assert_eq!(e.err().map(|e| e.variable), Some("PUBLIC_API_URL"));
    }

    #[test]
    fn media_memory_is_stated_or_half_of_what_lambda_gives() {
        let bytes = |pairs: &[(&str, &str)]| {
            let mut all = vec![("ADMIN_JWT_SECRET", SECRET)];
            all.extend_from_slice(pairs);
            Settings::from_env(&env(&all), true).map(|s| s.media_memory_bytes >> 20)
        };
        assert_eq!(bytes(&[]).ok(), Some(MEDIA_MEMORY_MB));
        let lambda = ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128");
        assert_eq!(bytes(&[lambda]).ok(), Some(64));
        assert_eq!(bytes(&[lambda, ("MEDIA_MEMORY_MB", "90")]).ok(), Some(90));
        let bad = bytes(&[("MEDIA_MEMORY_MB", "lots")])
            .err()
            .map(|e| e.variable);
        assert_eq!(bad, Some("MEDIA_MEMORY_MB"));
    }

    #[test]
    fn provider_settings_default_to_the_providers_apis() {
        let s = Settings::from_env(
            &env(&[
                ("ADMIN_JWT_SECRET", SECRET),
                ("PUBLIC_API_URL", "https://hooks.example.com/"),
            ]),
            false,
        )
        .expect("valid");
        let p = &s.providers;
        assert_eq!(
            p.whatsapp_api_base_url.as_str(),
            "https://graph.facebook.com/"
        );
        assert_eq!(p.whatsapp_api_version, "v23.0");
        assert_eq!(
            p.telegram_api_base_url.as_str(),
            "https://api.telegram.org/"
        );
        assert_eq!(
            p.public_api_url.as_ref().map(|u| u.as_str()),
            Some("https://hooks.example.com/")
        );
        let unset =
            Settings::from_env(&env(&[("ADMIN_JWT_SECRET", SECRET)]), false).expect("valid");
        assert_eq!(unset.providers.public_api_url, None);
    }

    #[test]
    fn defaults_follow_the_deployment() {
        let s = Settings::from_env(&env(&[("ADMIN_JWT_SECRET", SECRET)]), true).expect("valid");
        assert!(s.allow_private_network_urls);
        assert!(s.admin_password.is_none());
        let s = Settings::from_env(
            &env(&[("ADMIN_JWT_SECRET", SECRET), ("AI_MODEL", "m")]),
            false,
        )
        .expect("valid");
        assert!(!s.allow_private_network_urls);
        assert_eq!(
            s.env_ai.settings.model_name.as_ref().map(|m| m.as_str()),
            Some("m")
        );
    }
}
