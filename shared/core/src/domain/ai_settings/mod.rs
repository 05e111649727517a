//! The AI settings: the one list below declares each setting (its type, which carries its
//! limits; its built-in default or the setting it falls back to; its environment variable;
//! a label and a line of help), and `declare.rs` turns it into every shape a setting takes:
//! stored, changed, read, resolved with its level, read from the environment, and described
//! for the API document and the dashboard. A new setting is one entry here.
//!
//! Three levels carry the list (global, an account, and, below them, the environment and the
//! built-in defaults); the chat level has a shape of its own (`ChatAiSettings`).

mod declare;
mod field;
mod resolve;
mod schema;
mod value;

pub use field::{Fallback, Field};
pub use resolve::{
    EnvAi, GLOBAL_OWNER, Levels, SecretRef, SecretSetting, Source, Sourced, resolve, secret_field,
};
pub use schema::nullable_schema;
pub use value::{Kind, SECRET_MAX_CHARS, SettingValue, VisionMode};

use super::chat::AiMode;
use super::patch::Change;
use super::secret::SealedSecret;
use super::validation::{Bounded, HttpUrl, Temperature, Text, ValidationError, bounded_text};
use declare::ai_settings;
use resolve::{builtin, pick, pick_secret};
use secrecy::SecretString;
use std::collections::BTreeMap;

/// A system prompt: a level's default, or a chat's own.
pub type SystemPrompt = Text<20000>;

/// The system prompt when no level sets one.
pub const DEFAULT_SYSTEM_PROMPT: &str = "You are a helpful assistant answering chat messages on behalf of a business. Reply briefly, warmly and in the language of the customer.";

ai_settings! {
    values {
        enabled: bool {
            default: false,
            label: "AI replies on",
            help: "Answer customers' messages. A chat's mode (enabled or disabled) overrides it.",
        }
        base_url: HttpUrl {
            default: "https://api.openai.com/v1",
            env: "OPENAI_BASE_URL",
            label: "Base URL (OpenAI-compatible)",
            help: "Where the LLM is: replies are `POST {base_url}/chat/completions`.",
        }
        model_name: Text<200> {
            default: "gpt-4.1-mini",
            env: "AI_MODEL",
            label: "Model",
            help: "The model each reply asks for.",
        }
        default_system_prompt: SystemPrompt {
            default: DEFAULT_SYSTEM_PROMPT,
            label: "Default system prompt",
            help: "What the model is told before the conversation. A chat's custom prompt replaces it.",
        }
        temperature: Temperature {
            default: 0.7,
            label: "Temperature",
            help: "Sampling temperature: lower is more predictable.",
        }
        max_tokens: Bounded<1, 32768> {
            default: 512,
            label: "Max tokens",
            help: "The longest reply, in tokens.",
        }
        timeout_seconds: Bounded<1, 300> {
            default: 30,
            label: "LLM timeout (seconds)",
            help: "How long a reply may take to generate before it fails.",
        }
        // Up to SQS's longest delay: the wait is a delayed queue message, not a sleep.
        reply_delay_seconds: Bounded<0, 900> {
            default: 3,
            label: "Reply delay (seconds)",
            help: "A human-like pause before the reply is sent, with a typing indicator.",
        }
        reply_to_private: bool {
            default: true,
            label: "Answer private chats",
            help: "Reply in one-to-one chats.",
        }
        reply_to_groups: bool {
            default: false,
            label: "Answer groups",
            help: "Reply in group chats.",
        }
        reply_to_channels: bool {
            default: false,
            label: "Answer channels",
            help: "Reply in channels.",
        }
        echo_mode: bool {
            default: false,
            label: "Echo mode (answer with the customer's text; no LLM call)",
            help: "Answer with the customer's own text and call no LLM: the whole flow without an API key.",
        }
        human_takeover_minutes: Bounded<0, 10080> {
            default: 30,
            label: "Pause after a human writes (minutes)",
            help: "When the account's own person writes in a chat, the AI steps back there this long (0: never).",
        }
        debounce_seconds: Bounded<0, 120> {
            default: 0,
            label: "Debounce (seconds)",
            help: "Messages of one chat within this window are answered once, together.",
        }
        groups_require_mention: bool {
            default: true,
            label: "In groups, only when mentioned",
            help: "In groups, reply only when the account is mentioned or its message is replied to.",
        }
        max_replies_per_chat_per_hour: Bounded<1, 1000> {
            default: 30,
            label: "Max replies per chat per hour",
            help: "A guard against loops and cost.",
        }
        media_understanding: bool {
            default: true,
            label: "Hear voice notes and see images",
            help: "Transcribe voice notes and read images before replying; off, the AI only knows that one was sent.",
        }
        transcription_model: Text<200> {
            default: "whisper-1",
            env: "TRANSCRIPTION_MODEL",
            label: "Transcription model",
            help: "The speech-to-text model: `POST {transcription_base_url}/audio/transcriptions`.",
        }
        transcription_base_url: HttpUrl {
            same_as: base_url,
            env: "TRANSCRIPTION_BASE_URL",
            label: "Transcription base URL (OpenAI-compatible)",
            help: "Where speech-to-text is (Groq, a local Whisper server ...); empty: the LLM's base URL.",
        }
        vision_mode: VisionMode {
            default: "native",
            label: "Images",
            help: "native: the model sees the image; describe: the vision model describes it once, as text; off: only `[image]`.",
        }
        vision_model: Text<200> {
            same_as: model_name,
            label: "Vision model",
            help: "The model that describes images in describe mode; empty: the chat model.",
        }
        max_media_mb: Bounded<1, 25> {
            default: 16,
            label: "Largest media (MB)",
            help: "Larger voice notes and images are not downloaded; the AI is told it could not read them.",
        }
        max_audio_seconds: Bounded<1, 3600> {
            default: 600,
            label: "Longest voice note (seconds)",
            help: "Longer audio is not transcribed (where the channel tells its length).",
        }
        media_per_chat_per_day: Bounded<0, 1000> {
            default: 50,
            label: "Media understood per chat per day",
            help: "A cost guard: voice notes and images read in one chat in a day (0: none).",
        }
    }
    secrets {
        api_key {
            env: "OPENAI_API_KEY",
            label: "API key",
            help: "The LLM's key: sealed before it is stored, never shown again (reads say `has_api_key`).",
        }
        transcription_api_key {
            same_as: api_key,
            env: "TRANSCRIPTION_API_KEY",
            label: "Transcription API key",
            help: "The speech-to-text endpoint's key, sealed like the API key; empty: the API key.",
        }
    }
}

/// The per-chat level: a switch and an optional prompt that replaces the system prompt.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatAiSettings {
    pub mode: AiMode,
    pub custom_system_prompt: Option<String>,
}

/// Sealing one secret (a cipher call), as `AiSettingsPatch::seal` awaits it.
pub type Sealing<'a, E> =
    std::pin::Pin<Box<dyn Future<Output = Result<SealedSecret, E>> + Send + 'a>>;

/// A secret from a request: in the clear until the use-case seals it.
fn secret(field: &str, value: String) -> Result<SecretString, ValidationError> {
    bounded_text(field, &value, 1, SECRET_MAX_CHARS).map(|()| SecretString::from(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::AccountId;
    use secrecy::ExposeSecret;

    fn acc() -> AccountId {
        AccountId::from_trusted("acc_01JABCDEFGHJKMNPQRSTVWXYZ0")
    }

    #[test]
    fn every_default_is_valid_and_every_fallback_is_declared_before() {
        let fields = fields();
        for (i, f) in fields.iter().enumerate() {
            match &f.fallback {
                Fallback::Value(v) => assert!(!v.is_null(), "{}", f.name),
                Fallback::SameAs(other) => assert!(
                    fields[..i]
                        .iter()
                        .any(|o| o.name == *other && o.kind == f.kind),
                    "{} falls back to {other}, which must be declared before it with its kind",
                    f.name
                ),
                Fallback::Nothing => assert!(f.is_secret(), "{} has no default", f.name),
            }
        }
        // Resolving nothing reads every built-in default (each parses), and shows what the
        // list says of it.
        let e = EffectiveAi::of_global(&AiSettings::default());
        assert_eq!(e.sources().len(), fields.len());
        let shown = serde_json::to_value(&e).expect("serializes");
        for f in &fields {
            if let Fallback::Value(v) = &f.fallback {
                assert_eq!(&shown[f.name]["value"], v, "{}", f.name);
            }
        }
    }

    #[test]
    fn a_patch_keeps_clears_and_sets() {
        let mut s = AiSettings {
            enabled: Some(true),
            model_name: Text::parse("m", "a".into()).ok(),
            api_key: Some(SealedSecret("k".into())),
            ..Default::default()
        };
        s.apply(AiSettingsPatch {
            model_name: Change::Set(Text::parse("m", "b".into()).expect("valid")),
            api_key: Change::Clear,
            ..Default::default()
        });
        assert_eq!(s.enabled, Some(true));
        assert_eq!(s.model_name.as_ref().map(Text::as_str), Some("b"));
        assert_eq!(s.api_key, None);
    }

    #[test]
    fn nothing_set_means_defaults() {
        let e = EffectiveAi::of_global(&AiSettings::default());
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
            e.api_key.shown(),
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
        let vars = [
            ("OPENAI_API_KEY", "env-key"),
            ("OPENAI_BASE_URL", "http://env.example/v1"),
            ("AI_MODEL", "env-model"),
        ];
        let env = EnvAi::read(|k| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.to_string())
        })
        .expect("valid");
        let global = AiSettings {
            enabled: Some(true),
            model_name: Text::parse("m", "global-model".into()).ok(),
            temperature: Temperature::try_from(1.0).ok(),
            ..Default::default()
        };
        let account = AiSettings {
            model_name: Text::parse("m", "account-model".into()).ok(),
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
        assert_eq!(e.system_prompt(), "be a pirate");
        assert_eq!(e.default_system_prompt.source, Source::Chat);
        assert_eq!(e.api_key.source, Source::Account);
        assert!(
            matches!(e.api_key.value, Some(SecretRef::Sealed { ref owner, field: "api_key", .. }) if owner == id.as_str())
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
        match &e.api_key.value {
            Some(SecretRef::Env(k)) => assert_eq!(k.expose_secret(), "env-key"),
            other => panic!("expected the env key, got {other:?}"),
        }
        assert_eq!(e.sources().get("api_key"), Some(&Source::Env));
    }

    #[test]
    fn a_bad_environment_value_names_its_variable() {
        let bad = EnvAi::read(|k| (k == "OPENAI_BASE_URL").then(|| "ftp://x".to_string()));
        assert_eq!(bad.err().map(|(var, _)| var), Some("OPENAI_BASE_URL"));
    }

    #[test]
    fn a_put_is_checked_field_by_field_and_reads_hide_secrets() {
        let body: AiSettingsBody = serde_json::from_value(serde_json::json!({
            "api_key": "sk-1", "max_tokens": 100, "base_url": null
        }))
        .expect("shape");
        let patch = body.check().expect("valid");
        assert_eq!(patch.base_url, Change::Clear);
        assert_eq!(patch.temperature, Change::Keep);
        assert!(matches!(patch.api_key, Change::Set(ref k) if k.expose_secret() == "sk-1"));
        let bad: AiSettingsBody =
            serde_json::from_value(serde_json::json!({"max_tokens": 0})).expect("shape");
        assert_eq!(
            bad.check().err().map(|e| e.field),
            Some("max_tokens".into())
        );

        let view = serde_json::to_value(AiSettingsView(AiSettings {
            api_key: Some(SealedSecret("sealed".into())),
            max_tokens: Bounded::try_from(100).ok(),
            ..Default::default()
        }))
        .expect("serializes");
        assert_eq!(view["has_api_key"], true);
        assert_eq!(view["max_tokens"], 100);
        assert!(view.get("api_key").is_none());
    }
}
