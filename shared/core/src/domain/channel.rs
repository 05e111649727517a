//! Channels: what a message travels on. A provider carries some of them (a WhatsApp number
//! carries `wa`; a relay phone `sms`, `wa`, `tg`, `pchat` and `notify`).

use serde::{Deserialize, Serialize};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// SMS.
    Sms,
    /// WhatsApp.
    Wa,
    /// Telegram as a user (through a relay phone or a bridge).
    Tg,
    Email,
    /// A notification on the relay phone itself.
    Notify,
    /// Telegram as a bot.
    TgBot,
    /// The relay phone's own chat app.
    Pchat,
}

impl Channel {
    pub const ALL: [Channel; 7] = [
        Channel::Sms,
        Channel::Wa,
        Channel::Tg,
        Channel::Email,
        Channel::Notify,
        Channel::TgBot,
        Channel::Pchat,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Wa => "wa",
            Channel::Tg => "tg",
            Channel::Email => "email",
            Channel::Notify => "notify",
            Channel::TgBot => "tg_bot",
            Channel::Pchat => "pchat",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The channel a chat id is on, from its server part.
    pub fn of_chat_server(server: &str) -> Option<Self> {
        Some(match server {
            "s.whatsapp.net" | "lid" | "g.us" | "newsletter" => Channel::Wa,
            "telegram" | "telegram.group" | "telegram.channel" => Channel::Tg,
            "sms" => Channel::Sms,
            "pchat" => Channel::Pchat,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
            assert_eq!(
                serde_json::to_value(c).ok(),
                Some(serde_json::json!(c.as_str()))
            );
        }
        assert_eq!(Channel::parse("fax"), None);
    }
}
