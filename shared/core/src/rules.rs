//! The rules that decide whether a message gets an AI reply. Each "no" names its rule, because
//! the reason is written to the AI log and shown in `effective`.

use crate::domain::ai_settings::{EffectiveAi, Source};
use crate::domain::chat::{Chat, ChatType};
use chrono::{DateTime, Utc};
use std::fmt;

/// What the rules need to know about the message being answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageFacts {
    pub from_me: bool,
    pub from_bot: bool,
    pub has_text: bool,
    /// The account is mentioned, or the message replies to one of the account's messages.
    pub addresses_account: bool,
}

impl MessageFacts {
    /// A text from the other party that addresses the account: what `effective` reports on.
    pub const HYPOTHETICAL_TEXT: MessageFacts = MessageFacts {
        from_me: false,
        from_bot: false,
        has_text: true,
        addresses_account: true,
    };
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    FromMe,
    FromBot,
    Disabled(Source),
    Blocked,
    /// The contact opted out.
    OptedOut,
    /// WhatsApp takes only templates more than 24 hours after the contact's last message.
    OutsideWindow,
    ChatTypeOff(ChatType),
    NotText,
    NoApiKey,
    HumanTakeover {
        until: DateTime<Utc>,
    },
    NotMentioned,
    /// Debounce is on and a newer message of the chat came in: its own job answers the burst.
    NewerInBurst,
    /// The loop and cost guard: `recent` replies in the chat in the last hour.
    TooManyReplies {
        recent: u32,
        max: u32,
    },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::FromMe => f.write_str("message is from the account itself"),
            SkipReason::FromBot => f.write_str("message is from a bot"),
            SkipReason::Disabled(Source::Chat) => f.write_str("AI is disabled for this chat"),
            SkipReason::Disabled(Source::Account) => f.write_str("AI is disabled for this account"),
            SkipReason::Disabled(_) => f.write_str("AI is disabled globally"),
            SkipReason::Blocked => f.write_str("chat is blocked"),
            SkipReason::OptedOut => f.write_str("contact opted out"),
            SkipReason::OutsideWindow => f.write_str("outside 24-hour window"),
            SkipReason::ChatTypeOff(t) => {
                let setting = match t {
                    ChatType::Private => "reply_to_private",
                    ChatType::Group => "reply_to_groups",
                    ChatType::Channel => "reply_to_channels",
                };
                write!(f, "replies to {} chats are off ({setting})", t.as_str())
            }
            SkipReason::NotText => f.write_str("not a text message"),
            SkipReason::NoApiKey => f.write_str("no API key configured"),
            SkipReason::HumanTakeover { until } => write!(
                f,
                "a human of the account replied in this chat; AI paused until {} (human_takeover_minutes)",
                until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            SkipReason::NotMentioned => {
                f.write_str("group message does not mention the account (groups_require_mention)")
            }
            SkipReason::NewerInBurst => f.write_str(
                "a newer message arrived within debounce_seconds; the burst is answered once, from the newest",
            ),
            SkipReason::TooManyReplies { recent, max } => write!(
                f,
                "{recent} replies in this chat in the last hour (max_replies_per_chat_per_hour = {max})"
            ),
        }
    }
}

/// Applies the rules in the contract's order: sender (not the account, not a bot), enabled
/// levels, block, chat type, text, key; then the pause after a human reply and the group
/// mention rule.
pub fn decide(
    effective: &EffectiveAi,
    chat: &Chat,
    message: MessageFacts,
    now: DateTime<Utc>,
) -> Result<(), SkipReason> {
    if message.from_me {
        return Err(SkipReason::FromMe);
    }
    if message.from_bot {
        return Err(SkipReason::FromBot);
    }
    if !effective.enabled.value {
        return Err(SkipReason::Disabled(effective.enabled.source));
    }
    if chat.blocked {
        return Err(SkipReason::Blocked);
    }
    if chat.opted_out_at.is_some() {
        return Err(SkipReason::OptedOut);
    }
    let chat_type = chat.chat_type();
    let type_allowed = match chat_type {
        ChatType::Private => effective.reply_to_private.value,
        ChatType::Group => effective.reply_to_groups.value,
        ChatType::Channel => effective.reply_to_channels.value,
    };
    if !type_allowed {
        return Err(SkipReason::ChatTypeOff(chat_type));
    }
    if !message.has_text {
        return Err(SkipReason::NotText);
    }
    if !effective.api_key.is_set() && !effective.echo_mode.value {
        return Err(SkipReason::NoApiKey);
    }
    if let Some(until) = chat.ai_paused_until.filter(|until| *until > now) {
        return Err(SkipReason::HumanTakeover { until });
    }
    if chat_type == ChatType::Group
        && effective.groups_require_mention.value
        && !message.addresses_account
    {
        return Err(SkipReason::NotMentioned);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ai_settings::AiSettings;
    use crate::domain::chat::ChatJid;
    use crate::domain::ids::AccountId;

    fn effective(global: AiSettings) -> EffectiveAi {
        EffectiveAi::of_global(&global)
    }

    fn chat(jid: &str) -> Chat {
        let jid = ChatJid::parse(jid).expect("valid jid");
        Chat::new(
            AccountId::from_trusted("acc_01JABCDEFGHJKMNPQRSTVWXYZ0"),
            jid,
            Utc::now(),
        )
    }

    const TEXT: MessageFacts = MessageFacts {
        from_me: false,
        from_bot: false,
        has_text: true,
        addresses_account: false,
    };

    #[test]
    fn each_rule_says_no_with_its_reason() {
        let on = AiSettings {
            enabled: Some(true),
            echo_mode: Some(true),
            ..Default::default()
        };
        let private = chat("1@s.whatsapp.net");
        let now = Utc::now();
        assert_eq!(decide(&effective(on.clone()), &private, TEXT, now), Ok(()));

        let from_me = MessageFacts {
            from_me: true,
            ..TEXT
        };
        assert_eq!(
            decide(&effective(on.clone()), &private, from_me, now),
            Err(SkipReason::FromMe)
        );
        let bot = MessageFacts {
            from_bot: true,
            ..TEXT
        };
        assert_eq!(
            decide(&effective(on.clone()), &private, bot, now).map_err(|r| r.to_string()),
            Err("message is from a bot".to_string())
        );

        let off = AiSettings {
            enabled: Some(false),
            ..on.clone()
        };
        let r = decide(&effective(off), &private, TEXT, now);
        assert_eq!(
            r.map_err(|e| e.to_string()),
            Err("AI is disabled globally".into())
        );

        let mut blocked = private.clone();
        blocked.blocked = true;
        assert_eq!(
            decide(&effective(on.clone()), &blocked, TEXT, now),
            Err(SkipReason::Blocked)
        );

        let group = chat("1@g.us");
        assert_eq!(
            decide(&effective(on.clone()), &group, TEXT, now),
            Err(SkipReason::ChatTypeOff(ChatType::Group))
        );
        let groups_on = AiSettings {
            reply_to_groups: Some(true),
            ..on.clone()
        };
        assert_eq!(
            decide(&effective(groups_on.clone()), &group, TEXT, now),
            Err(SkipReason::NotMentioned)
        );
        let mentioned = MessageFacts {
            addresses_account: true,
            ..TEXT
        };
        assert_eq!(
            decide(&effective(groups_on), &group, mentioned, now),
            Ok(())
        );

        let media = MessageFacts {
            has_text: false,
            ..TEXT
        };
        assert_eq!(
            decide(&effective(on.clone()), &private, media, now),
            Err(SkipReason::NotText)
        );

        let no_key = AiSettings {
            echo_mode: Some(false),
            ..on.clone()
        };
        let r = decide(&effective(no_key), &private, TEXT, now);
        assert_eq!(
            r.map_err(|e| e.to_string()),
            Err("no API key configured".into())
        );

        let mut paused = private.clone();
        paused.ai_paused_until = Some(now + chrono::Duration::minutes(5));
        assert!(matches!(
            decide(&effective(on.clone()), &paused, TEXT, now),
            Err(SkipReason::HumanTakeover { .. })
        ));
        paused.ai_paused_until = Some(now - chrono::Duration::minutes(5));
        assert_eq!(decide(&effective(on), &paused, TEXT, now), Ok(()));
    }
}
