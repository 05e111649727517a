//! Telegram bots through the Bot API: `connect` learns the bot and sets its webhook with a
//! secret token; sends texts and "typing…"; reads updates (`inbound`); and sorts the API's
//! errors (429 after its `retry_after`, 403 final).

mod inbound;

use crate::http::{header_text, operator_client, read_at_most, snippet, unanswered};
use crate::media;
use async_trait::async_trait;
use http::HeaderMap;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use std::time::Duration;
use switchboard_core::domain::chat::{ChatJid, ChatType};
use switchboard_core::domain::inbound::Received;
use switchboard_core::domain::media::{MediaError, MediaSource, TelegramFile};
use switchboard_core::ports::{
    ConnectError, Connected, Fetched, InboundError, MediaFailure, OutgoingText, Provider,
    ProviderAccount, ProviderError, ProviderReceipt, Rate,
};
use switchboard_core::settings::ProviderSettings;

/// Telegram's limits: about 30 messages a second per bot, one a second per chat, 20 a minute
/// per group.
const BOT_RATE: Rate = Rate::per_second(30);
const CHAT_RATE: Rate = Rate::per_second(1);
const GROUP_RATE: Rate = Rate::per_minute(20);
/// "The status is set for 5 seconds or less".
const TYPING_LASTS: Duration = Duration::from_secs(5);
const MAX_ANSWER: usize = 256 * 1024;
/// What the webhook asks Telegram for: what the gateway reads.
const UPDATES: [&str; 3] = ["message", "edited_message", "channel_post"];

pub struct TelegramBot {
    http: reqwest::Client,
    base_url: String,
}

/// A Bot API call that went wrong, before it is sorted.
struct Failure {
    status: u16,
    description: String,
    retry_after: Option<u64>,
}

impl TelegramBot {
    pub fn new(settings: &ProviderSettings) -> Result<Self, String> {
        Ok(Self {
            http: operator_client()?,
            base_url: settings
                .telegram_api_base_url
                .as_str()
                .trim_end_matches('/')
                .to_string(),
        })
    }

    /// Calls a Bot API method; the `result` of `{"ok": true, "result": ...}`.
    async fn call(
        &self,
        account: &ProviderAccount,
        method: &str,
        body: &Value,
    ) -> Result<Result<Value, Failure>, reqwest::Error> {
        let token = account
            .config
            .secret("bot_token")
            .map(|t| t.expose_secret().to_string())
            .unwrap_or_default();
        let url = format!("{}/bot{token}/{method}", self.base_url);
        let mut response = self.http.post(url).json(body).send().await?;
        let status = response.status().as_u16();
        let bytes = read_at_most(&mut response, MAX_ANSWER)
            .await?
            .unwrap_or_default();
        let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if answer["ok"] == Value::Bool(true) {
            return Ok(Ok(answer["result"].clone()));
        }
        Ok(Err(Failure {
            status: answer["error_code"].as_u64().map_or(status, |c| c as u16),
            description: answer["description"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("the Bot API answered {status}: {}", snippet(&bytes))),
            retry_after: answer["parameters"]["retry_after"].as_u64(),
        }))
    }

    async fn send_call(
        &self,
        account: &ProviderAccount,
        method: &str,
        body: &Value,
    ) -> Result<Value, ProviderError> {
        match self.call(account, method, body).await {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(failure)) => Err(classify(failure)),
            Err(e) => Err(unanswered(e)),
        }
    }
}

/// 429 waits as long as Telegram says; 5xx are retried; a 4xx is final, in Telegram's words
/// without its "Forbidden: " or "Bad Request: " prefix.
fn classify(f: Failure) -> ProviderError {
    match f.status {
        429 => ProviderError::Retry {
            reason: f.description,
            after: f.retry_after.map(Duration::from_secs),
        },
        500.. => ProviderError::retry(f.description),
        _ => {
            let reason = ["Forbidden: ", "Bad Request: "]
                .iter()
                .find_map(|p| f.description.strip_prefix(p))
                .unwrap_or(&f.description);
            ProviderError::give_up(reason)
        }
    }
}

fn chat_number(chat: &ChatJid) -> Result<i64, ProviderError> {
    chat.user()
        .parse()
        .map_err(|_| ProviderError::give_up(format!("{chat} is not a Telegram chat")))
}

/// Telegram's Bot API serves files up to this size.
const MAX_FILE: u64 = 20 * 1024 * 1024;

impl TelegramBot {
    /// `getFile`, then the file at `{base}/file/bot<token>/<file_path>`. The token is in the
    /// URL: no error keeps the URL.
    async fn file(
        &self,
        account: &ProviderAccount,
        file: &TelegramFile,
        limit: u64,
    ) -> Result<Fetched, MediaFailure> {
        let failed = |detail: String| {
            MediaFailure::final_(MediaError::DownloadFailed(String::new()), detail)
        };
        let result = match self
            .call(account, "getFile", &json!({"file_id": file.file_id}))
            .await
        {
            Ok(Ok(result)) => result,
            Ok(Err(f)) if f.status == 429 || f.status >= 500 => {
                return Err(MediaFailure::transient(
                    MediaError::DownloadFailed(String::new()),
                    f.description,
                ));
            }
            Ok(Err(f)) => return Err(failed(format!("getFile: {}", f.description))),
            Err(e) => return Err(media::unanswered(e)),
        };
        if result["file_size"].as_u64().is_some_and(|n| n > limit) {
            return Err(MediaFailure::final_(
                MediaError::TooLarge,
                "getFile told its size",
            ));
        }
        let path = result["file_path"]
            .as_str()
            .ok_or_else(|| failed("getFile answered no file_path (over 20 MB?)".into()))?;
        let token = account
            .config
            .secret("bot_token")
            .map(|t| t.expose_secret().to_string())
            .unwrap_or_default();
        let url = format!("{}/file/bot{token}/{path}", self.base_url);
        let response = self.http.get(url).send().await.map_err(media::unanswered)?;
        media::file(response, limit, "the Bot API's file URL").await
    }
}

#[async_trait]
impl Provider for TelegramBot {
    async fn fetch_media(
        &self,
        account: &ProviderAccount,
        source: &MediaSource,
        limit: u64,
    ) -> Result<Fetched, MediaFailure> {
        let MediaSource::Telegram { files } = source else {
            return Err(MediaFailure::final_(
                MediaError::UnsupportedType,
                "not a Telegram medium",
            ));
        };
        let limit = limit.min(MAX_FILE);
        // The largest size within the limit (a photo's sizes, smallest first); the first when
        // no size is told.
        let chosen = files
            .iter()
            .rev()
            .find(|f| f.size.is_some_and(|n| n <= limit))
            .or_else(|| files.iter().find(|f| f.size.is_none()));
        match chosen {
            Some(file) => self.file(account, file, limit).await,
            None => Err(MediaFailure::final_(
                MediaError::TooLarge,
                "every size is over the limit",
            )),
        }
    }

    fn receive(
        &self,
        account: &ProviderAccount,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Received, InboundError> {
        inbound::verify(account, header_text(headers, inbound::SECRET_HEADER))?;
        let bot = inbound::Bot {
            id: account.config.field("bot_id"),
            username: account.config.field("bot_username"),
        };
        inbound::parse(&bot, body)
    }

    async fn connect(
        &self,
        account: &ProviderAccount,
        webhook_url: &str,
    ) -> Result<Connected, ConnectError> {
        let answer = |r: Result<Result<Value, Failure>, reqwest::Error>| match r {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(f)) if (400..500).contains(&f.status) => {
                Err(ConnectError::Refused(f.description))
            }
            Ok(Err(f)) => Err(ConnectError::Unreachable(f.description)),
            Err(e) => Err(ConnectError::Unreachable(unanswered(e).to_string())),
        };
        let me = answer(self.call(account, "getMe", &json!({})).await)?;
        let (Some(id), Some(username)) = (me["id"].as_i64(), me["username"].as_str()) else {
            return Err(ConnectError::Unreachable(
                "getMe answered without the bot's id".into(),
            ));
        };
        let secret = account
            .config
            .secret("webhook_secret")
            .map(|s| s.expose_secret().to_string())
            .ok_or_else(|| ConnectError::Refused("the account has no webhook_secret".into()))?;
        let set = json!({
            "url": webhook_url,
            "secret_token": secret,
            "allowed_updates": UPDATES,
        });
        answer(self.call(account, "setWebhook", &set).await)?;
        Ok(Connected {
            detail: format!("@{username} delivers its updates to {webhook_url}"),
            learned: vec![
                ("bot_id", id.to_string()),
                ("bot_username", username.to_string()),
            ],
        })
    }

    fn pacing(&self, account: &ProviderAccount, chat: &ChatJid) -> Vec<(String, Rate)> {
        let bot = account.id.as_str();
        let chat_rate = match chat.chat_type() {
            ChatType::Private => CHAT_RATE,
            ChatType::Group | ChatType::Channel => GROUP_RATE,
        };
        vec![
            (format!("tg:{bot}"), BOT_RATE),
            (format!("tg:{bot}:{chat}"), chat_rate),
        ]
    }

    fn typing_lasts(&self) -> Option<Duration> {
        Some(TYPING_LASTS)
    }

    async fn send(
        &self,
        account: &ProviderAccount,
        text: OutgoingText<'_>,
    ) -> Result<ProviderReceipt, ProviderError> {
        let chat = chat_number(text.chat)?;
        let body = json!({"chat_id": chat, "text": text.text});
        let sent = self.send_call(account, "sendMessage", &body).await?;
        let id = sent["message_id"].as_i64().ok_or_else(|| {
            // Telegram took it: sending again could send twice.
            ProviderError::give_up("sendMessage answered without a message_id, not sent again")
        })?;
        Ok(ProviderReceipt {
            provider_message_id: format!("{chat}:{id}"),
        })
    }

    async fn typing(
        &self,
        account: &ProviderAccount,
        chat: &ChatJid,
        _replying_to: Option<&str>,
    ) -> Result<(), ProviderError> {
        // "Channel chats ... aren't supported."
        if chat.chat_type() == ChatType::Channel {
            return Ok(());
        }
        let body = json!({"chat_id": chat_number(chat)?, "action": "typing"});
        self.send_call(account, "sendChatAction", &body)
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(status: u16, description: &str, retry_after: Option<u64>) -> ProviderError {
        classify(Failure {
            status,
            description: description.into(),
            retry_after,
        })
    }

    #[test]
    fn errors_are_sorted_as_telegram_means_them() {
        assert_eq!(
            failure(429, "Too Many Requests: retry after 7", Some(7)),
            ProviderError::Retry {
                reason: "Too Many Requests: retry after 7".into(),
                after: Some(Duration::from_secs(7))
            }
        );
        assert_eq!(
            failure(403, "Forbidden: bot was blocked by the user", None),
            ProviderError::give_up("bot was blocked by the user")
        );
        assert_eq!(
            failure(400, "Bad Request: chat not found", None),
            ProviderError::give_up("chat not found")
        );
        assert!(matches!(
            failure(502, "Bad Gateway", None),
            ProviderError::Retry { .. }
        ));
    }
}
