//! Resolution of the AI configuration: chat → account → global → environment → built-in
//! defaults, keeping for every setting the level it came from. The generated `from_levels`
//! picks each setting with `pick`; the chat level, which has a shape of its own (a mode and a
//! prompt), is applied last by `resolve`.

use super::value::SettingValue;
use super::{AiSettings, ChatAiSettings, EffectiveAi};
use crate::domain::chat::AiMode;
use crate::domain::ids::AccountId;
use crate::domain::secret::SealedSecret;
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

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sourced<T> {
    pub value: T,
    pub source: Source,
}

/// The environment level: values from their variables (`OPENAI_BASE_URL`, `AI_MODEL`), and
/// secrets in the clear (`OPENAI_API_KEY`).
#[derive(Debug, Clone, Default)]
pub struct EnvAi {
    pub settings: AiSettings,
    pub secrets: BTreeMap<&'static str, SecretString>,
}

/// Where a secret in force lives; it is opened only when a request is about to be made.
#[derive(Debug, Clone)]
pub enum SecretRef {
    /// Sealed at a level: opened with `(owner, ai.<name>)` as its context.
    Sealed {
        owner: String,
        field: &'static str,
        sealed: SealedSecret,
    },
    Env(SecretString),
}

/// A secret in force (or none), with the level it came from.
#[derive(Debug, Clone)]
pub struct SecretSetting {
    pub value: Option<SecretRef>,
    pub source: Source,
}

impl Default for SecretSetting {
    fn default() -> Self {
        Self {
            value: None,
            source: Source::Default,
        }
    }
}

impl SecretSetting {
    pub fn is_set(&self) -> bool {
        self.value.is_some()
    }

    /// What reads show: whether there is one, and from where.
    pub fn shown(&self) -> Sourced<bool> {
        Sourced {
            value: self.is_set(),
            source: self.source,
        }
    }
}

/// The levels above the built-in defaults, most specific first; any but global may be absent.
pub struct Levels<'a> {
    pub chat: Option<&'a ChatAiSettings>,
    pub account: Option<(&'a AccountId, &'a AiSettings)>,
    pub global: &'a AiSettings,
    pub env: &'a EnvAi,
}

/// The value of the first level (account, global, environment) that sets a setting.
pub(super) fn pick<T: SettingValue>(
    levels: &Levels<'_>,
    field: impl Fn(&AiSettings) -> Option<&T>,
) -> Option<Sourced<T::Shown>> {
    let at = |settings: &AiSettings, source| {
        field(settings).map(|v| Sourced {
            value: v.shown(),
            source,
        })
    };
    levels
        .account
        .and_then(|(_, a)| at(a, Source::Account))
        .or_else(|| at(levels.global, Source::Global))
        .or_else(|| at(&levels.env.settings, Source::Env))
}

/// The first level that holds a secret, and where it is.
pub(super) fn pick_secret(
    levels: &Levels<'_>,
    name: &'static str,
    field: impl Fn(&AiSettings) -> Option<&SealedSecret>,
) -> Option<SecretSetting> {
    let sealed = |owner: &str, settings: &AiSettings, source| {
        field(settings).map(|sealed| SecretSetting {
            value: Some(SecretRef::Sealed {
                owner: owner.to_string(),
                field: name,
                sealed: sealed.clone(),
            }),
            source,
        })
    };
    levels
        .account
        .and_then(|(id, a)| sealed(id.as_str(), a, Source::Account))
        .or_else(|| sealed(GLOBAL_OWNER, levels.global, Source::Global))
        .or_else(|| {
            levels.env.secrets.get(name).map(|key| SecretSetting {
                value: Some(SecretRef::Env(key.clone())),
                source: Source::Env,
            })
        })
}

/// Who a global secret is sealed for.
pub const GLOBAL_OWNER: &str = "global";

/// The field a level's secret is sealed under, e.g. `ai.api_key`.
pub fn secret_field(name: &str) -> String {
    format!("ai.{name}")
}

/// A built-in default from the list. The list's defaults are constants that
/// `every_default_is_valid` parses, so a failure here is a mistake in the list itself.
pub(super) fn builtin<T: SettingValue>(name: &str, value: T::Builtin) -> T {
    T::builtin(value).unwrap_or_else(|e| panic!("the built-in default of {name} {e}"))
}

/// The configuration in force: the levels below the chat, then the chat's mode (which decides
/// `enabled` unless it inherits) and its prompt (which replaces the system prompt).
pub fn resolve(levels: &Levels<'_>) -> EffectiveAi {
    let mut effective = EffectiveAi::from_levels(levels);
    let Some(chat) = levels.chat else {
        return effective;
    };
    let at_chat = |value| Sourced {
        value,
        source: Source::Chat,
    };
    match chat.mode {
        AiMode::Enabled => effective.enabled = at_chat(true),
        AiMode::Disabled => effective.enabled = at_chat(false),
        AiMode::Inherit => {}
    }
    if let Some(prompt) = &chat.custom_system_prompt {
        effective.default_system_prompt = Sourced {
            value: prompt.clone(),
            source: Source::Chat,
        };
    }
    effective
}

impl EffectiveAi {
    /// The system prompt in force: the chat's `custom_system_prompt` when it has one (it is
    /// shown under the setting's name, `default_system_prompt`, with the level `chat`).
    pub fn system_prompt(&self) -> &str {
        &self.default_system_prompt.value
    }

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
}
