//! Chats: their own settings (AI mode, block, consent) and their activity, kept by the store
//! per account and chat id.

use super::consent::{ConsentScope, OptOutSource};
use super::ids::AccountId;
pub use super::jid::{
    CHAT_JID_PATTERN, ChatJid, ChatType, EMAIL_SERVER, NOTIFY_SERVER, is_email_address,
    is_telegram_username,
};
use super::patch::Change;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
/// The per-chat AI switch: `inherit` leaves the decision to the account and global levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AiMode {
    #[default]
    Inherit,
    Enabled,
    Disabled,
}

/// A change to a chat's own settings.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatChange {
    Blocked(bool),
    /// The chat level of AI configuration. Any such change also resumes AI that a human reply
    /// had paused.
    Ai {
        mode: Option<AiMode>,
        custom_system_prompt: Change<String>,
    },
    /// A human of the account wrote: AI replies pause until then.
    PauseAi {
        until: DateTime<Utc>,
    },
    /// An AI reply failed here (the overview lists the chat for a day).
    AiFailed {
        at: DateTime<Utc>,
    },
    /// The contact opted out (or back in), of everything or of marketing templates.
    Consent {
        scope: ConsentScope,
        opted_out: bool,
        source: OptOutSource,
        at: DateTime<Utc>,
    },
}

/// WhatsApp takes free-form messages this long after the customer's last message.
pub const SERVICE_WINDOW: chrono::TimeDelta = chrono::TimeDelta::hours(24);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chat {
    pub account_id: AccountId,
    pub chat_id: ChatJid,
    pub name: Option<String>,
    pub blocked: bool,
    pub ai_mode: AiMode,
    pub custom_system_prompt: Option<String>,
    /// AI replies pause until then because the account's human wrote in this chat.
    pub ai_paused_until: Option<DateTime<Utc>>,
    /// The last message received or sent by a person or the API: an AI reply, seconds after
    /// the message it answers, leaves the chat where that one put it (no second chat write).
    pub last_message_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The time (the provider's) of the contact's latest message: WhatsApp's service window
    /// runs 24 hours from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_inbound_at: Option<DateTime<Utc>>,
    /// The contact asked not to be written to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opted_out_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt_out_source: Option<OptOutSource>,
    /// The contact stopped marketing templates (Meta's preference, or error 131050).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub marketing_opted_out: bool,
    /// The last time an AI reply failed in this chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_failed_at: Option<DateTime<Utc>>,
}

impl Chat {
    pub fn new(account_id: AccountId, chat_id: ChatJid, now: DateTime<Utc>) -> Self {
        Self {
            account_id,
            chat_id,
            name: None,
            blocked: false,
            ai_mode: AiMode::Inherit,
            custom_system_prompt: None,
            ai_paused_until: None,
            last_message_at: None,
            created_at: now,
            last_inbound_at: None,
            opted_out_at: None,
            opt_out_source: None,
            marketing_opted_out: false,
            ai_failed_at: None,
        }
    }

    pub fn chat_type(&self) -> ChatType {
        self.chat_id.chat_type()
    }

    pub fn apply(&mut self, change: ChatChange) {
        match change {
            ChatChange::Blocked(blocked) => self.blocked = blocked,
            ChatChange::Ai {
                mode,
                custom_system_prompt,
            } => {
                if let Some(mode) = mode {
                    self.ai_mode = mode;
                }
                custom_system_prompt.apply_to(&mut self.custom_system_prompt);
                self.ai_paused_until = None;
            }
            ChatChange::PauseAi { until } => {
                if self.ai_paused_until.is_none_or(|current| until > current) {
                    self.ai_paused_until = Some(until);
                }
            }
            ChatChange::AiFailed { at } => {
                if self.ai_failed_at.is_none_or(|last| at > last) {
                    self.ai_failed_at = Some(at);
                }
            }
            ChatChange::Consent {
                scope: ConsentScope::Marketing,
                opted_out,
                ..
            } => self.marketing_opted_out = opted_out,
            ChatChange::Consent {
                scope: ConsentScope::All,
                opted_out: true,
                source,
                at,
            } => {
                // The first opt-out stands: a repeated STOP changes nothing.
                if self.opted_out_at.is_none() {
                    self.opted_out_at = Some(at);
                    self.opt_out_source = Some(source);
                }
            }
            ChatChange::Consent {
                scope: ConsentScope::All,
                opted_out: false,
                ..
            } => {
                self.opted_out_at = None;
                self.opt_out_source = None;
            }
        }
    }

    /// Whether the contact is opted out of `scope` (an opt-out of everything covers marketing).
    pub fn opted_out(&self, scope: ConsentScope) -> bool {
        self.opted_out_at.is_some()
            || (scope == ConsentScope::Marketing && self.marketing_opted_out)
    }

    /// When WhatsApp's window for free-form messages closes (or closed); `None` before the
    /// contact ever wrote.
    pub fn service_window_expires_at(&self) -> Option<DateTime<Utc>> {
        self.last_inbound_at.map(|at| at + SERVICE_WINDOW)
    }

    pub fn service_window_open(&self, now: DateTime<Utc>) -> bool {
        self.service_window_expires_at()
            .is_some_and(|end| now < end)
    }

    /// A message was recorded in the chat: move its activity time (and, for the contact's own,
    /// the service window) forward, and let a private chat take the sender's current display
    /// name.
    pub fn record_activity(&mut self, at: DateTime<Utc>, sender_name: Option<&str>, inbound: bool) {
        if self.last_message_at.is_none_or(|last| at > last) {
            self.last_message_at = Some(at);
        }
        if inbound && self.last_inbound_at.is_none_or(|last| at > last) {
            self.last_inbound_at = Some(at);
        }
        if let Some(name) = sender_name.filter(|_| self.chat_type() == ChatType::Private) {
            self.name = Some(name.to_string());
        }
    }
}
