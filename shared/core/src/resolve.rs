//! Resolution of the AI configuration: chat → account → global → environment → built-in
//! defaults, keeping for every field the level it came from.

use crate::domain::ai_settings::{AiSettings, ChatAiSettings, defaults};
use crate::domain::chat::AiMode;
use crate::domain::ids::AccountId;
use crate::domain::secret::SealedSecret;
use crate::domain::validation::{
    DebounceSeconds, HttpUrl, HumanTakeoverMinutes, MaxRepliesPerHour, MaxTokens,
    ReplyDelaySeconds, Temperature, TimeoutSeconds,
};
use secrecy::SecretString;
use serde::Serialize;
use std::collections::BTreeMap;

/// Where a resolved value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Chat,
    Account,
    Global,
    Env,
    Default,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Sourced<T> {
    pub value: T,
    pub source: Source,
}

/// The environment level (`OPENAI_API_KEY`, `OPENAI_BASE_URL`, `AI_MODEL`).
#[derive(Debug, Clone, Default)]
pub struct EnvAi {
    pub api_key: Option<SecretString>,
    pub base_url: Option<HttpUrl>,
    pub model_name: Option<String>,
}

/// Where the API key to use lives; it is opened only when a request is about to be made.
#[derive(Debug, Clone)]
pub enum ApiKeyRef {
    Sealed { owner: String, sealed: SealedSecret },
    Env(SecretString),
}

/// The configuration in force for one chat (or one account, or globally).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EffectiveAi {
    pub enabled: Sourced<bool>,
    #[schema(value_type = Sourced<String>)]
    pub base_url: Sourced<HttpUrl>,
    pub has_api_key: Sourced<bool>,
    #[serde(skip)]
    #[schema(ignore)]
    pub api_key: Option<ApiKeyRef>,
    pub model_name: Sourced<String>,
    /// The system prompt in force: the chat's `custom_system_prompt` when it has one.
    // Named in the API after the setting it usually comes from.
    #[serde(rename = "default_system_prompt")]
    pub system_prompt: Sourced<String>,
    pub temperature: Sourced<f64>,
    pub max_tokens: Sourced<u32>,
    pub timeout_seconds: Sourced<u32>,
    pub reply_delay_seconds: Sourced<u32>,
    pub reply_to_private: Sourced<bool>,
    pub reply_to_groups: Sourced<bool>,
    pub reply_to_channels: Sourced<bool>,
    pub echo_mode: Sourced<bool>,
    pub human_takeover_minutes: Sourced<u32>,
    pub debounce_seconds: Sourced<u32>,
    pub groups_require_mention: Sourced<bool>,
    pub max_replies_per_chat_per_hour: Sourced<u32>,
}

/// The levels above the environment, most specific first; any may be absent.
pub struct Levels<'a> {
    pub chat: Option<&'a ChatAiSettings>,
    pub account: Option<(&'a AccountId, &'a AiSettings)>,
    pub global: &'a AiSettings,
    pub env: &'a EnvAi,
}

/// First level that sets a field wins; `fallback` supplies env or default when none does.
fn pick<T: Clone, U>(
    levels: &Levels<'_>,
    field: impl Fn(&AiSettings) -> Option<&T>,
    convert: impl Fn(&T) -> U,
    fallback: impl FnOnce() -> Sourced<U>,
) -> Sourced<U> {
    if let Some(v) = levels.account.and_then(|(_, a)| field(a)) {
        return Sourced {
            value: convert(v),
            source: Source::Account,
        };
    }
    if let Some(v) = field(levels.global) {
        return Sourced {
            value: convert(v),
            source: Source::Global,
        };
    }
    fallback()
}

fn default<U>(value: U) -> impl FnOnce() -> Sourced<U> {
    move || Sourced {
        value,
        source: Source::Default,
    }
}

/// Bounded defaults are constants checked by tests; `try_from` cannot fail for them.
fn int_default<T: TryFrom<i64, Error = String> + Into<i64>>(v: i64) -> u32 {
    T::try_from(v).map(|t| t.into() as u32).unwrap_or(0)
}

pub fn resolve(levels: &Levels<'_>) -> EffectiveAi {
    let enabled = match levels.chat.map(|c| c.mode) {
        Some(AiMode::Enabled) => Sourced {
            value: true,
            source: Source::Chat,
        },
        Some(AiMode::Disabled) => Sourced {
            value: false,
            source: Source::Chat,
        },
        _ => pick(
            levels,
            |s| s.enabled.as_ref(),
            |v| *v,
            default(defaults::ENABLED),
        ),
    };

    let api_key_at = |level: Source| -> Option<ApiKeyRef> {
        match level {
            Source::Account => levels.account.and_then(|(id, a)| {
                a.api_key.clone().map(|sealed| ApiKeyRef::Sealed {
                    owner: id.to_string(),
                    sealed,
                })
            }),
            Source::Global => levels
                .global
                .api_key
                .clone()
                .map(|sealed| ApiKeyRef::Sealed {
                    owner: "global".into(),
                    sealed,
                }),
            Source::Env => levels.env.api_key.clone().map(ApiKeyRef::Env),
            _ => None,
        }
    };
    let (api_key, key_source) = [Source::Account, Source::Global, Source::Env]
        .into_iter()
        .find_map(|level| api_key_at(level).map(|k| (Some(k), level)))
        .unwrap_or((None, Source::Default));

    let system_prompt = match levels.chat.and_then(|c| c.custom_system_prompt.clone()) {
        Some(prompt) => Sourced {
            value: prompt,
            source: Source::Chat,
        },
        None => pick(
            levels,
            |s| s.default_system_prompt.as_ref(),
            Clone::clone,
            default(defaults::SYSTEM_PROMPT.to_string()),
        ),
    };

    let env = levels.env;
    EffectiveAi {
        enabled,
        base_url: pick(
            levels,
            |s| s.base_url.as_ref(),
            Clone::clone,
            || match &env.base_url {
                Some(url) => Sourced {
                    value: url.clone(),
                    source: Source::Env,
                },
                None => Sourced {
                    value: HttpUrl::parse("base_url", defaults::BASE_URL)
                        .unwrap_or_else(|_| unreachable_default_url()),
                    source: Source::Default,
                },
            },
        ),
        has_api_key: Sourced {
            value: api_key.is_some(),
            source: key_source,
        },
        api_key,
        model_name: pick(
            levels,
            |s| s.model_name.as_ref(),
            Clone::clone,
            || match &env.model_name {
                Some(m) => Sourced {
                    value: m.clone(),
                    source: Source::Env,
                },
                None => Sourced {
                    value: defaults::MODEL_NAME.to_string(),
                    source: Source::Default,
                },
            },
        ),
        system_prompt,
        temperature: pick(
            levels,
            |s| s.temperature.as_ref(),
            |t: &Temperature| t.get(),
            default(defaults::TEMPERATURE),
        ),
        max_tokens: pick(
            levels,
            |s| s.max_tokens.as_ref(),
            |v: &MaxTokens| v.get(),
            default(int_default::<MaxTokens>(defaults::MAX_TOKENS)),
        ),
        timeout_seconds: pick(
            levels,
            |s| s.timeout_seconds.as_ref(),
            |v: &TimeoutSeconds| v.get(),
            default(int_default::<TimeoutSeconds>(defaults::TIMEOUT_SECONDS)),
        ),
        reply_delay_seconds: pick(
            levels,
            |s| s.reply_delay_seconds.as_ref(),
            |v: &ReplyDelaySeconds| v.get(),
            default(int_default::<ReplyDelaySeconds>(
                defaults::REPLY_DELAY_SECONDS,
            )),
        ),
        reply_to_private: pick(
            levels,
            |s| s.reply_to_private.as_ref(),
            |v| *v,
            default(defaults::REPLY_TO_PRIVATE),
        ),
        reply_to_groups: pick(
            levels,
            |s| s.reply_to_groups.as_ref(),
            |v| *v,
            default(defaults::REPLY_TO_GROUPS),
        ),
        reply_to_channels: pick(
            levels,
            |s| s.reply_to_channels.as_ref(),
            |v| *v,
            default(defaults::REPLY_TO_CHANNELS),
        ),
        echo_mode: pick(
            levels,
            |s| s.echo_mode.as_ref(),
            |v| *v,
            default(defaults::ECHO_MODE),
        ),
        human_takeover_minutes: pick(
            levels,
            |s| s.human_takeover_minutes.as_ref(),
            |v: &HumanTakeoverMinutes| v.get(),
            default(int_default::<HumanTakeoverMinutes>(
                defaults::HUMAN_TAKEOVER_MINUTES,
            )),
        ),
        debounce_seconds: pick(
            levels,
            |s| s.debounce_seconds.as_ref(),
            |v: &DebounceSeconds| v.get(),
            default(int_default::<DebounceSeconds>(defaults::DEBOUNCE_SECONDS)),
        ),
        groups_require_mention: pick(
            levels,
            |s| s.groups_require_mention.as_ref(),
            |v| *v,
            default(defaults::GROUPS_REQUIRE_MENTION),
        ),
        max_replies_per_chat_per_hour: pick(
            levels,
            |s| s.max_replies_per_chat_per_hour.as_ref(),
            |v: &MaxRepliesPerHour| v.get(),
            default(int_default::<MaxRepliesPerHour>(
                defaults::MAX_REPLIES_PER_CHAT_PER_HOUR,
            )),
        ),
    }
}

#[cold]
fn unreachable_default_url() -> HttpUrl {
    // The default is a constant that the tests parse; reaching this is a programming error.
    panic!("built-in default base_url does not parse")
}

impl EffectiveAi {
    /// What a global level alone resolves to (no chat, no account, no environment).
    #[cfg(test)]
    pub(crate) fn of_global(global: &AiSettings) -> Self {
        resolve(&Levels {
            chat: None,
            account: None,
            global,
            env: &EnvAi::default(),
        })
    }

    /// Field → level, as `config_source` in the test endpoints.
    pub fn sources(&self) -> BTreeMap<&'static str, Source> {
        BTreeMap::from([
            ("enabled", self.enabled.source),
            ("base_url", self.base_url.source),
            ("api_key", self.has_api_key.source),
            ("model_name", self.model_name.source),
            ("default_system_prompt", self.system_prompt.source),
            ("temperature", self.temperature.source),
            ("max_tokens", self.max_tokens.source),
            ("timeout_seconds", self.timeout_seconds.source),
            ("reply_delay_seconds", self.reply_delay_seconds.source),
            ("reply_to_private", self.reply_to_private.source),
            ("reply_to_groups", self.reply_to_groups.source),
            ("reply_to_channels", self.reply_to_channels.source),
            ("echo_mode", self.echo_mode.source),
            ("human_takeover_minutes", self.human_takeover_minutes.source),
            ("debounce_seconds", self.debounce_seconds.source),
            ("groups_require_mention", self.groups_require_mention.source),
            (
                "max_replies_per_chat_per_hour",
                self.max_replies_per_chat_per_hour.source,
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn acc() -> AccountId {
        AccountId::from_trusted("acc_01JABCDEFGHJKMNPQRSTVWXYZ0")
    }

    #[test]
    fn built_in_defaults_are_valid() {
        assert!(HttpUrl::parse("base_url", defaults::BASE_URL).is_ok());
        assert!(MaxTokens::try_from(defaults::MAX_TOKENS).is_ok());
        assert!(TimeoutSeconds::try_from(defaults::TIMEOUT_SECONDS).is_ok());
        assert!(ReplyDelaySeconds::try_from(defaults::REPLY_DELAY_SECONDS).is_ok());
        assert!(HumanTakeoverMinutes::try_from(defaults::HUMAN_TAKEOVER_MINUTES).is_ok());
        assert!(DebounceSeconds::try_from(defaults::DEBOUNCE_SECONDS).is_ok());
        assert!(MaxRepliesPerHour::try_from(defaults::MAX_REPLIES_PER_CHAT_PER_HOUR).is_ok());
        assert!(Temperature::try_from(defaults::TEMPERATURE).is_ok());
    }

    #[test]
    fn nothing_set_means_defaults() {
        let global = AiSettings::default();
        let env = EnvAi::default();
        let e = resolve(&Levels {
            chat: None,
            account: None,
            global: &global,
            env: &env,
        });
        assert_eq!(
            e.enabled,
            Sourced {
                value: false,
                source: Source::Default
            }
        );
        assert_eq!(e.base_url.value.as_str(), "https://api.openai.com/v1");
        assert_eq!(e.model_name.value, "gpt-4.1-mini");
        assert_eq!(e.max_tokens.value, 512);
        assert_eq!(
            e.has_api_key,
            Sourced {
                value: false,
                source: Source::Default
            }
        );
        assert_eq!(e.human_takeover_minutes.value, 30);
        assert_eq!(e.max_replies_per_chat_per_hour.value, 30);
        assert!(e.groups_require_mention.value);
    }

    #[test]
    fn each_level_overrides_the_one_below() {
        let env = EnvAi {
            api_key: Some(SecretString::from("env-key")),
            base_url: HttpUrl::parse("u", "http://env.example/v1").ok(),
            model_name: Some("env-model".into()),
        };
        let global = AiSettings {
            enabled: Some(true),
            model_name: Some("global-model".into()),
            temperature: Temperature::try_from(1.0).ok(),
            ..Default::default()
        };
        let account = AiSettings {
            model_name: Some("account-model".into()),
            api_key: Some(SealedSecret("sealed".into())),
            ..Default::default()
        };
        let chat = ChatAiSettings {
            mode: AiMode::Disabled,
            custom_system_prompt: Some("be a pirate".into()),
        };
        let id = acc();
        let e = resolve(&Levels {
            chat: Some(&chat),
            account: Some((&id, &account)),
            global: &global,
            env: &env,
        });
        assert_eq!(
            e.enabled,
            Sourced {
                value: false,
                source: Source::Chat
            }
        );
        assert_eq!(
            e.model_name,
            Sourced {
                value: "account-model".into(),
                source: Source::Account
            }
        );
        assert_eq!(
            e.temperature,
            Sourced {
                value: 1.0,
                source: Source::Global
            }
        );
        assert_eq!(e.base_url.source, Source::Env);
        assert_eq!(
            e.system_prompt,
            Sourced {
                value: "be a pirate".into(),
                source: Source::Chat
            }
        );
        assert_eq!(e.has_api_key.source, Source::Account);
        assert!(
            matches!(e.api_key, Some(ApiKeyRef::Sealed { ref owner, .. }) if owner == id.as_str())
        );

        let inherit = ChatAiSettings::default();
        let e = resolve(&Levels {
            chat: Some(&inherit),
            account: None,
            global: &global,
            env: &env,
        });
        assert_eq!(
            e.enabled,
            Sourced {
                value: true,
                source: Source::Global
            }
        );
        assert_eq!(e.model_name.source, Source::Global);
        match &e.api_key {
            Some(ApiKeyRef::Env(k)) => assert_eq!(k.expose_secret(), "env-key"),
            other => panic!("expected the env key, got {other:?}"),
        }
        assert_eq!(e.sources().get("api_key"), Some(&Source::Env));
    }
}
