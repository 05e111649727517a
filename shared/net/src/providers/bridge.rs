//! Bridges: adapters a user runs (for WhatsApp Web, say). Switchboard POSTs `{url}/messages`
//! and `{url}/typing`, signed like its webhooks (Standard Webhooks headers, with the bridge's
//! secret), through the URL guard; messages come in through `POST /v1/ingest/{account_id}`.

use crate::guard::UrlGuard;
use crate::http::{PROVIDER_TIMEOUT, error_chain, read_at_most, retry_after, snippet};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use std::time::Duration;
use switchboard_core::domain::chat::ChatJid;
use switchboard_core::domain::signature::{SECRET_PREFIX, sign_with_key};
use switchboard_core::ports::{
    OutgoingText, Provider, ProviderAccount, ProviderError, ProviderReceipt,
};

const MAX_ANSWER: usize = 64 * 1024;
/// What a bridge's indicator lasts is its own business; a few seconds is the shortest known.
const TYPING_LASTS: Duration = Duration::from_secs(5);

pub struct Bridge {
    http: reqwest::Client,
    guard: UrlGuard,
}

impl Bridge {
    pub fn new(guard: UrlGuard) -> Result<Self, String> {
        let http = guard
            .client_builder()
            .user_agent(concat!("switchboard-bridge/", env!("CARGO_PKG_VERSION")))
            .timeout(PROVIDER_TIMEOUT)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { http, guard })
    }

    /// POSTs a signed body to `{url}{path}`; the answer's JSON (`null` when empty).
    async fn post(
        &self,
        account: &ProviderAccount,
        path: &str,
        id: &str,
        body: &Value,
    ) -> Result<Value, ProviderError> {
        let base = account
            .config
            .field("url")
            .ok_or_else(|| ProviderError::give_up("the bridge has no url"))?;
        let url = url::Url::parse(&format!("{}{path}", base.trim_end_matches('/')))
            .map_err(|e| ProviderError::give_up(format!("the bridge url: {e}")))?;
        self.guard
            .check_url(&url)
            .map_err(|r| ProviderError::give_up(r.to_string()))?;
        let bytes = serde_json::to_vec(body).map_err(|e| ProviderError::give_up(e.to_string()))?;
        let timestamp = chrono::Utc::now().timestamp();
        let mut request = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string());
        if let Some(secret) = account.config.secret("secret") {
            let secret = secret.expose_secret();
            // A `whsec_` secret is base64 of its key, as Standard Webhooks has it; any other
            // is its own bytes.
            let key = secret
                .strip_prefix(SECRET_PREFIX)
                .and_then(|k| STANDARD.decode(k).ok())
                .unwrap_or_else(|| secret.as_bytes().to_vec());
            let signature = sign_with_key(&key, id, timestamp, &bytes)
                .map_err(|e| ProviderError::give_up(e.to_string()))?;
            request = request.header("webhook-signature", signature);
        }
        let mut response =
            request
                .body(bytes)
                .send()
                .await
                .map_err(|e| match UrlGuard::refusal(&e) {
                    Some(refused) => ProviderError::give_up(refused.to_string()),
                    None if e.is_timeout() => {
                        ProviderError::retry("the bridge did not answer in time")
                    }
                    None => {
                        ProviderError::retry(format!("cannot reach the bridge: {}", error_chain(e)))
                    }
                })?;
        let status = response.status().as_u16();
        let after = retry_after(&response);
        let answer = read_at_most(&mut response, MAX_ANSWER)
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        match status {
            200..=299 => Ok(serde_json::from_slice(&answer).unwrap_or(Value::Null)),
            429 | 500.. => Err(ProviderError::Retry {
                reason: format!("the bridge answered {status}"),
                after,
            }),
            _ => Err(ProviderError::give_up(format!(
                "the bridge answered {status}: {}",
                snippet(&answer)
            ))),
        }
    }
}

#[async_trait]
impl Provider for Bridge {
    async fn send(
        &self,
        account: &ProviderAccount,
        text: OutgoingText<'_>,
    ) -> Result<ProviderReceipt, ProviderError> {
        let body = json!({
            "id": text.id,
            "account_id": account.id,
            "chat_id": text.chat,
            "text": text.text,
            "reply_to_message_id": text.reply_to,
        });
        let answer = self
            .post(account, "/messages", text.id.as_str(), &body)
            .await?;
        let id = answer["provider_message_id"]
            .as_str()
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                ProviderError::give_up("the bridge answered without a provider_message_id")
            })?;
        Ok(ProviderReceipt {
            provider_message_id: id.to_string(),
        })
    }

    fn typing_lasts(&self) -> Option<Duration> {
        Some(TYPING_LASTS)
    }

    async fn typing(
        &self,
        account: &ProviderAccount,
        chat: &ChatJid,
        _replying_to: Option<&str>,
    ) -> Result<(), ProviderError> {
        let id = format!("typing-{}", ulid_like(chat));
        self.post(account, "/typing", &id, &json!({"chat_id": chat}))
            .await
            .map(|_| ())
    }
}

/// An id for a typing call: the chat and the time, unique enough for a receiver's dedupe.
fn ulid_like(chat: &ChatJid) -> String {
    format!("{}-{}", chat.user(), chrono::Utc::now().timestamp_millis())
}
