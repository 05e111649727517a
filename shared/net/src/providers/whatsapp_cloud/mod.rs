//! The WhatsApp Cloud API (Meta's Graph API): sends texts and the typing indicator from a
//! business number, reads its signed notifications (`inbound`), and sorts its errors into those
//! worth retrying and those that are final.

mod inbound;
mod templates;

use crate::http::{header_text, operator_client, read_at_most, retry_after, snippet, unanswered};
use crate::media;
use async_trait::async_trait;
use http::HeaderMap;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use std::time::Duration;
use switchboard_core::domain::chat::ChatJid;
use switchboard_core::domain::inbound::Received;
use switchboard_core::domain::media::{MediaError, MediaSource};
use switchboard_core::domain::message::FailureCode;
use switchboard_core::domain::template::Template;
use switchboard_core::ports::{
    ConnectError, Connected, Fetched, InboundError, MediaFailure, OutgoingText, Provider,
    ProviderAccount, ProviderError, ProviderReceipt, Rate,
};
use switchboard_core::settings::ProviderSettings;

/// Meta's default throughput per business number.
const NUMBER_RATE: Rate = Rate::per_second(80);
/// The indicator is dismissed by the reply or after this.
const TYPING_LASTS: Duration = Duration::from_secs(25);
/// Answers are small JSON; anything larger is not one.
const MAX_ANSWER: usize = 256 * 1024;
/// A page of 100 templates with their components.
const MAX_LIST_ANSWER: usize = 4 * 1024 * 1024;
/// Meta's pair limit (one recipient, one number) recovers in seconds, not at once.
const PAIR_LIMIT_WAIT: Duration = Duration::from_secs(6);

pub struct WhatsappCloud {
    http: reqwest::Client,
    base_url: String,
    version: String,
}

impl WhatsappCloud {
    pub fn new(settings: &ProviderSettings) -> Result<Self, String> {
        Ok(Self {
            http: operator_client()?,
            base_url: settings
                .whatsapp_api_base_url
                .as_str()
                .trim_end_matches('/')
                .to_string(),
            version: settings.whatsapp_api_version.clone(),
        })
    }

    /// `{base}/{version}/{phone_number_id}{path}`, with the account's own version if it names one.
    fn url(&self, account: &ProviderAccount, path: &str) -> Result<String, ProviderError> {
        let number = account
            .config
            .field("phone_number_id")
            .ok_or_else(|| ProviderError::give_up("the account has no phone_number_id"))?;
        let version = account.config.field("api_version").unwrap_or(&self.version);
        Ok(format!("{}/{version}/{number}{path}", self.base_url))
    }

    fn token<'a>(&self, account: &'a ProviderAccount) -> Result<&'a str, ProviderError> {
        account
            .config
            .secret("access_token")
            .map(|t| t.expose_secret())
            .ok_or_else(|| ProviderError::give_up("the account has no access_token"))
    }

    /// POSTs to the number's `/messages` and reads the answer.
    async fn post(&self, account: &ProviderAccount, body: &Value) -> Result<Value, ProviderError> {
        let request = self
            .http
            .post(self.url(account, "/messages")?)
            .bearer_auth(self.token(account)?)
            .json(body);
        let mut response = request.send().await.map_err(unanswered)?;
        let status = response.status().as_u16();
        let after = retry_after(&response);
        let bytes = read_at_most(&mut response, MAX_ANSWER)
            .await
            .map_err(unanswered)?
            .unwrap_or_default();
        if (200..300).contains(&status) {
            // Accepted: whatever the answer says, sending again could send twice.
            return serde_json::from_slice(&bytes).map_err(|_| {
                ProviderError::give_up(format!(
                    "accepted with an answer that is not JSON, not sent again: {}",
                    snippet(&bytes)
                ))
            });
        }
        Err(classify(status, &bytes, after))
    }
}

/// What a Cloud API error code means to a person, for the final ones this gateway words itself.
pub(crate) fn reason(code: i64) -> Option<&'static str> {
    Some(match code {
        131047 => "outside the 24-hour customer service window",
        190 => "access token invalid or expired",
        _ => return None,
    })
}

/// The contract's name for a final Cloud API error, where it has one.
pub(crate) fn named(code: i64) -> Option<FailureCode> {
    Some(match code {
        131047 => FailureCode::OutsideServiceWindow,
        132000 | 132012 => FailureCode::TemplateParamsMismatch,
        132001 => FailureCode::TemplateNotFound,
        132015 | 132016 => FailureCode::TemplatePausedOrDisabled,
        131049 => FailureCode::MarketingLimit,
        131026 => FailureCode::Undeliverable,
        131050 => FailureCode::MarketingOptedOut,
        _ => return None,
    })
}

/// Sorts a Graph API error by its code (Meta asks integrators to rely on codes, not HTTP
/// statuses): throttling and Meta's own trouble are retried, everything else is final with
/// Meta's words.
fn classify(status: u16, body: &[u8], after: Option<Duration>) -> ProviderError {
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let error = &parsed["error"];
    let code = error["code"].as_i64();
    let message = error["message"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("the Graph API answered {status}: {}", snippet(body)));
    let message = match error["error_data"]["details"].as_str() {
        Some(details) if !message.contains(details) => format!("{message}: {details}"),
        _ => message,
    };
    if let Some(name) = code.and_then(named) {
        let words = code.and_then(reason).map_or(message, str::to_string);
        return ProviderError::named(name, words);
    }
    if let Some(known) = code.and_then(reason) {
        return ProviderError::give_up(known);
    }
    match code {
        // Throughput or pair rate limit, business account upgrading, an unknown error on
        // Meta's side, app or account call limits: all pass with time.
        Some(130429 | 131056 | 131057 | 131000 | 4 | 80007) => ProviderError::Retry {
            reason: message,
            after: after.or((code == Some(131056)).then_some(PAIR_LIMIT_WAIT)),
        },
        _ if status == 429 || status >= 500 => ProviderError::Retry {
            reason: message,
            after,
        },
        _ => ProviderError::give_up(message),
    }
}

/// The Cloud API's recipient: a group by its id, anyone else by their number.
fn recipient(chat: &ChatJid) -> (&'static str, &str) {
    match chat.server() {
        "g.us" => ("group", chat.user()),
        _ => ("individual", chat.user()),
    }
}

impl WhatsappCloud {
    /// Step one: the media id → a URL valid for five minutes (and the size, to refuse a file
    /// too large before a byte of it is read).
    async fn media_url(
        &self,
        account: &ProviderAccount,
        media_id: &str,
        limit: u64,
    ) -> Result<String, MediaFailure> {
        let version = account.config.field("api_version").unwrap_or(&self.version);
        let url = format!("{}/{version}/{media_id}", self.base_url);
        let token = self.token(account).map_err(|e| {
            MediaFailure::final_(MediaError::DownloadFailed(String::new()), e.to_string())
        })?;
        let mut request = self.http.get(url).bearer_auth(token);
        if let Some(number) = account.config.field("phone_number_id") {
            request = request.query(&[("phone_number_id", number)]);
        }
        let mut response = request.send().await.map_err(media::unanswered)?;
        let status = response.status().as_u16();
        let bytes = read_at_most(&mut response, MAX_ANSWER)
            .await
            .map_err(media::unanswered)?
            .unwrap_or_default();
        let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if !(200..300).contains(&status) {
            // Media ids expire after 7 days: Meta then says the object does not exist (100).
            if answer["error"]["code"].as_i64() == Some(100) {
                return Err(MediaFailure::final_(MediaError::Expired, snippet(&bytes)));
            }
            return Err(media::refused(status, "the Graph API"));
        }
        // `file_size` is a number in some answers and a string in others.
        let size = answer["file_size"]
            .as_u64()
            .or_else(|| answer["file_size"].as_str().and_then(|s| s.parse().ok()));
        if size.is_some_and(|n| n > limit) {
            return Err(MediaFailure::final_(
                MediaError::TooLarge,
                format!("{size:?} bytes"),
            ));
        }
        answer["url"].as_str().map(str::to_string).ok_or_else(|| {
            MediaFailure::final_(
                MediaError::DownloadFailed(String::new()),
                format!("the Graph API answered no url: {}", snippet(&bytes)),
            )
        })
    }

    /// Step two: the bytes, with the same bearer token.
    async fn media_bytes(
        &self,
        account: &ProviderAccount,
        url: &str,
        limit: u64,
    ) -> Result<Fetched, MediaFailure> {
        let token = self.token(account).map_err(|e| {
            MediaFailure::final_(MediaError::DownloadFailed(String::new()), e.to_string())
        })?;
        let response = self
            .http
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .map_err(media::unanswered)?;
        media::file(response, limit, "the media URL").await
    }
}

#[async_trait]
impl Provider for WhatsappCloud {
    async fn fetch_media(
        &self,
        account: &ProviderAccount,
        source: &MediaSource,
        limit: u64,
    ) -> Result<Fetched, MediaFailure> {
        let MediaSource::Whatsapp { media_id } = source else {
            return Err(MediaFailure::final_(
                MediaError::UnsupportedType,
                "not a WhatsApp medium",
            ));
        };
        let url = self.media_url(account, media_id, limit).await?;
        match self.media_bytes(account, &url, limit).await {
            // The URL lived five minutes, or was refused: ask once more for a fresh one.
            Err(failure)
                if matches!(failure.error, MediaError::Expired)
                    || failure.detail.ends_with("HTTP 401") =>
            {
                let url = self.media_url(account, media_id, limit).await?;
                self.media_bytes(account, &url, limit).await
            }
            other => other,
        }
    }

    async fn templates(&self, account: &ProviderAccount) -> Result<Vec<Template>, ProviderError> {
        let business = account
            .config
            .field("business_account_id")
            .ok_or_else(|| ProviderError::give_up("the account has no business_account_id"))?;
        let version = account.config.field("api_version").unwrap_or(&self.version);
        let url = format!("{}/{version}/{business}/message_templates", self.base_url);
        let token = self.token(account)?;
        let mut list = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..templates::MAX_PAGES {
            let mut request = self
                .http
                .get(&url)
                .bearer_auth(token)
                .query(&[("fields", templates::FIELDS)])
                .query(&[("limit", templates::PAGE_SIZE)]);
            if let Some(cursor) = &after {
                request = request.query(&[("after", cursor)]);
            }
            let mut response = request.send().await.map_err(unanswered)?;
            let status = response.status().as_u16();
            let retry = retry_after(&response);
            let bytes = read_at_most(&mut response, MAX_LIST_ANSWER)
                .await
                .map_err(unanswered)?
                .unwrap_or_default();
            if !(200..300).contains(&status) {
                return Err(classify(status, &bytes, retry));
            }
            let page: Value = serde_json::from_slice(&bytes).map_err(|_| {
                ProviderError::give_up(format!(
                    "the template list is not JSON: {}",
                    snippet(&bytes)
                ))
            })?;
            let items = page["data"].as_array().map_or(&[][..], Vec::as_slice);
            list.extend(items.iter().filter_map(templates::template));
            // Meta leaves `next` out on the last page.
            after = page["paging"]["cursors"]["after"]
                .as_str()
                .filter(|_| page["paging"]["next"].is_string())
                .map(str::to_string);
            if after.is_none() {
                return Ok(list);
            }
        }
        Ok(list)
    }

    fn receive(
        &self,
        account: &ProviderAccount,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Received, InboundError> {
        let signature = header_text(headers, inbound::SIGNATURE_HEADER);
        inbound::verify(account, signature, body)?;
        inbound::parse(account.config.field("phone_number_id"), body)
    }

    fn verify_subscription(
        &self,
        account: &ProviderAccount,
        query: &[(String, String)],
    ) -> Result<String, InboundError> {
        inbound::handshake(account, query)
    }

    async fn connect(
        &self,
        account: &ProviderAccount,
        _webhook_url: &str,
    ) -> Result<Connected, ConnectError> {
        let url = self
            .url(account, "")
            .map_err(|e| ConnectError::Refused(e.to_string()))?;
        let token = self
            .token(account)
            .map_err(|e| ConnectError::Refused(e.to_string()))?;
        let response = self
            .http
            .get(url)
            .query(&[("fields", "display_phone_number,verified_name")])
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| ConnectError::Unreachable(unanswered(e).to_string()))?;
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap_or_default();
        let answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        match status {
            200..=299 => Ok(Connected {
                detail: format!(
                    "{} ({}) answers: paste the webhook URL and the verify token into your Meta app (WhatsApp > Configuration), and subscribe to the messages field",
                    answer["display_phone_number"]
                        .as_str()
                        .unwrap_or("the number"),
                    answer["verified_name"]
                        .as_str()
                        .unwrap_or("no verified name"),
                ),
                learned: Vec::new(),
            }),
            400..=499 => Err(ConnectError::Refused(
                answer["error"]["message"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("the Graph API answered {status}")),
            )),
            _ => Err(ConnectError::Unreachable(format!(
                "the Graph API answered {status}: {}",
                snippet(&body)
            ))),
        }
    }

    fn pacing(&self, account: &ProviderAccount, _chat: &ChatJid) -> Vec<(String, Rate)> {
        let number = account
            .config
            .field("phone_number_id")
            .unwrap_or(account.id.as_str());
        vec![(format!("wa:{number}"), NUMBER_RATE)]
    }

    fn typing_lasts(&self) -> Option<Duration> {
        Some(TYPING_LASTS)
    }

    async fn send(
        &self,
        account: &ProviderAccount,
        text: OutgoingText<'_>,
    ) -> Result<ProviderReceipt, ProviderError> {
        let (recipient_type, to) = recipient(text.chat);
        let body = match text.template {
            Some(template) => json!({
                "messaging_product": "whatsapp",
                "recipient_type": recipient_type,
                "to": to,
                "type": "template",
                "template": templates::outgoing(template),
            }),
            None => json!({
                "messaging_product": "whatsapp",
                "recipient_type": recipient_type,
                "to": to,
                "type": "text",
                "text": {"body": text.text},
            }),
        };
        let answer = self.post(account, &body).await?;
        let id = answer["messages"][0]["id"].as_str().ok_or_else(|| {
            ProviderError::give_up("accepted without messages[0].id, not sent again")
        })?;
        Ok(ProviderReceipt {
            provider_message_id: id.to_string(),
        })
    }

    /// Marks the message being answered as read and shows "typing…" (one call); nothing to
    /// show without that message.
    async fn typing(
        &self,
        account: &ProviderAccount,
        _chat: &ChatJid,
        replying_to: Option<&str>,
    ) -> Result<(), ProviderError> {
        let Some(message_id) = replying_to else {
            return Ok(());
        };
        let body = json!({
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": message_id,
            "typing_indicator": {"type": "text"},
        });
        self.post(account, &body).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(code: i64, status: u16) -> ProviderError {
        let body = json!({"error": {"message": format!("(#{code}) Something"), "type": "OAuthException",
            "code": code, "error_data": {"messaging_product": "whatsapp", "details": "what happened"},
            "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam"}});
        classify(status, body.to_string().as_bytes(), None)
    }

    #[test]
    fn errors_are_sorted_by_their_code() {
        assert_eq!(
            error(131047, 400),
            ProviderError::named(
                FailureCode::OutsideServiceWindow,
                "outside the 24-hour customer service window"
            )
        );
        assert_eq!(
            error(132000, 400),
            ProviderError::named(
                FailureCode::TemplateParamsMismatch,
                "(#132000) Something: what happened"
            )
        );
        assert_eq!(
            error(131050, 400),
            ProviderError::named(
                FailureCode::MarketingOptedOut,
                "(#131050) Something: what happened"
            )
        );
        assert_eq!(
            error(190, 401),
            ProviderError::give_up("access token invalid or expired")
        );
        assert!(matches!(
            error(130429, 400),
            ProviderError::Retry { after: None, .. }
        ));
        assert!(matches!(
            error(131056, 400),
            ProviderError::Retry {
                after: Some(PAIR_LIMIT_WAIT),
                ..
            }
        ));
        assert!(matches!(error(1, 500), ProviderError::Retry { .. }));
        assert_eq!(
            error(100, 400),
            ProviderError::give_up("(#100) Something: what happened")
        );
        assert!(matches!(
            classify(
                502,
                b"<html>bad gateway</html>",
                Some(Duration::from_secs(3))
            ),
            ProviderError::Retry { after: Some(_), .. }
        ));
    }
}
