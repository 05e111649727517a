//! AI configuration as stored at the global and account levels (every field optional: unset
//! means "inherit"), the per-chat switch, and the built-in defaults at the bottom of resolution.

use super::chat::AiMode;
use super::patch::Change;
use super::secret::SealedSecret;
use super::validation::{
    DebounceSeconds, HttpUrl, HumanTakeoverMinutes, MaxRepliesPerHour, MaxTokens,
    ReplyDelaySeconds, Temperature, TimeoutSeconds,
};
use serde::{Deserialize, Serialize};

/// One level's settings. `None` inherits from the next level down.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AiSettings {
    pub enabled: Option<bool>,
    pub base_url: Option<HttpUrl>,
    pub api_key: Option<SealedSecret>,
    pub model_name: Option<String>,
    pub default_system_prompt: Option<String>,
    pub temperature: Option<Temperature>,
    pub max_tokens: Option<MaxTokens>,
    pub timeout_seconds: Option<TimeoutSeconds>,
    pub reply_delay_seconds: Option<ReplyDelaySeconds>,
    pub reply_to_private: Option<bool>,
    pub reply_to_groups: Option<bool>,
    pub reply_to_channels: Option<bool>,
    pub echo_mode: Option<bool>,
    pub human_takeover_minutes: Option<HumanTakeoverMinutes>,
    pub debounce_seconds: Option<DebounceSeconds>,
    pub groups_require_mention: Option<bool>,
    pub max_replies_per_chat_per_hour: Option<MaxRepliesPerHour>,
}

/// A checked PUT of one level. The API key is already sealed by the time it gets here.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AiSettingsPatch {
    pub enabled: Change<bool>,
    pub base_url: Change<HttpUrl>,
    pub api_key: Change<SealedSecret>,
    pub model_name: Change<String>,
    pub default_system_prompt: Change<String>,
    pub temperature: Change<Temperature>,
    pub max_tokens: Change<MaxTokens>,
    pub timeout_seconds: Change<TimeoutSeconds>,
    pub reply_delay_seconds: Change<ReplyDelaySeconds>,
    pub reply_to_private: Change<bool>,
    pub reply_to_groups: Change<bool>,
    pub reply_to_channels: Change<bool>,
    pub echo_mode: Change<bool>,
    pub human_takeover_minutes: Change<HumanTakeoverMinutes>,
    pub debounce_seconds: Change<DebounceSeconds>,
    pub groups_require_mention: Change<bool>,
    pub max_replies_per_chat_per_hour: Change<MaxRepliesPerHour>,
}

impl AiSettings {
    pub fn apply(&mut self, p: AiSettingsPatch) {
        p.enabled.apply_to(&mut self.enabled);
        p.base_url.apply_to(&mut self.base_url);
        p.api_key.apply_to(&mut self.api_key);
        p.model_name.apply_to(&mut self.model_name);
        p.default_system_prompt
            .apply_to(&mut self.default_system_prompt);
        p.temperature.apply_to(&mut self.temperature);
        p.max_tokens.apply_to(&mut self.max_tokens);
        p.timeout_seconds.apply_to(&mut self.timeout_seconds);
        p.reply_delay_seconds
            .apply_to(&mut self.reply_delay_seconds);
        p.reply_to_private.apply_to(&mut self.reply_to_private);
        p.reply_to_groups.apply_to(&mut self.reply_to_groups);
        p.reply_to_channels.apply_to(&mut self.reply_to_channels);
        p.echo_mode.apply_to(&mut self.echo_mode);
        p.human_takeover_minutes
            .apply_to(&mut self.human_takeover_minutes);
        p.debounce_seconds.apply_to(&mut self.debounce_seconds);
        p.groups_require_mention
            .apply_to(&mut self.groups_require_mention);
        p.max_replies_per_chat_per_hour
            .apply_to(&mut self.max_replies_per_chat_per_hour);
    }
}

/// The per-chat level: a switch and an optional prompt that replaces the system prompt.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatAiSettings {
    pub mode: AiMode,
    pub custom_system_prompt: Option<String>,
}

/// The bottom of resolution, used when no level and no environment variable sets a field.
pub mod defaults {
    pub const ENABLED: bool = false;
    pub const BASE_URL: &str = "https://api.openai.com/v1";
    pub const MODEL_NAME: &str = "gpt-4.1-mini";
    pub const SYSTEM_PROMPT: &str = "You are a helpful assistant answering chat messages on behalf of a business. Reply briefly, warmly and in the language of the customer.";
    pub const TEMPERATURE: f64 = 0.7;
    pub const MAX_TOKENS: i64 = 512;
    pub const TIMEOUT_SECONDS: i64 = 30;
    pub const REPLY_DELAY_SECONDS: i64 = 3;
    pub const REPLY_TO_PRIVATE: bool = true;
    pub const REPLY_TO_GROUPS: bool = false;
    pub const REPLY_TO_CHANNELS: bool = false;
    pub const ECHO_MODE: bool = false;
    pub const HUMAN_TAKEOVER_MINUTES: i64 = 30;
    pub const DEBOUNCE_SECONDS: i64 = 0;
    pub const GROUPS_REQUIRE_MENTION: bool = true;
    pub const MAX_REPLIES_PER_CHAT_PER_HOUR: i64 = 30;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_keeps_clears_and_sets() {
        let mut s = AiSettings {
            enabled: Some(true),
            model_name: Some("a".into()),
            api_key: Some(SealedSecret("k".into())),
            ..Default::default()
        };
        s.apply(AiSettingsPatch {
            model_name: Change::Set("b".into()),
            api_key: Change::Clear,
            ..Default::default()
        });
        assert_eq!(s.enabled, Some(true));
        assert_eq!(s.model_name.as_deref(), Some("b"));
        assert_eq!(s.api_key, None);
    }
}
