//! E-mail through any SMTP server (Amazon SES's SMTP interface included), with the account's
//! sealed `smtp_url` (`smtp://` or `smtps://user:pass@host:port`) and `from`. The server's host
//! is checked by the URL guard before each connection.

use crate::guard::{HostError, UrlGuard};
use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::ExposeSecret;
use std::time::Duration;
use switchboard_core::ports::{
    ConnectError, Connected, OutgoingText, Provider, ProviderAccount, ProviderError,
    ProviderReceipt,
};

const TIMEOUT: Duration = Duration::from_secs(15);

pub struct Email {
    guard: UrlGuard,
}

impl Email {
    pub fn new(guard: UrlGuard) -> Self {
        Self { guard }
    }

    /// A transport to the account's server, once the guard has looked at where it is.
    async fn transport(
        &self,
        account: &ProviderAccount,
    ) -> Result<AsyncSmtpTransport<Tokio1Executor>, ProviderError> {
        let url = account
            .config
            .secret("smtp_url")
            .ok_or_else(|| ProviderError::give_up("the account has no smtp_url"))?;
        let parsed = url::Url::parse(url.expose_secret())
            .map_err(|_| ProviderError::give_up("smtp_url is not a URL"))?;
        let host = parsed.host_str().unwrap_or_default().to_string();
        let port = parsed
            .port()
            .unwrap_or(if parsed.scheme() == "smtps" { 465 } else { 25 });
        // A name that does not resolve now may resolve later; a refused address will not pass.
        self.guard
            .check_host(&host, port)
            .await
            .map_err(|e| match e {
                HostError::Unresolved(reason) => ProviderError::retry(reason),
                HostError::Refused(refused) => ProviderError::give_up(refused.to_string()),
            })?;
        let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
            .map_err(|e| ProviderError::give_up(format!("smtp_url: {e}")))?;
        Ok(builder.timeout(Some(TIMEOUT)).build())
    }
}

fn mailbox(field: &str, value: &str) -> Result<Mailbox, ProviderError> {
    value
        .parse()
        .map_err(|e| ProviderError::give_up(format!("{field} `{value}` is not an address: {e}")))
}

/// A refusal the server gave for good (5xx) is final; anything else (4xx, no answer) passes.
fn sorted(e: lettre::transport::smtp::Error) -> ProviderError {
    if e.is_permanent() {
        ProviderError::give_up(format!("the SMTP server refused: {e}"))
    } else {
        ProviderError::retry(format!("SMTP: {e}"))
    }
}

#[async_trait]
impl Provider for Email {
    async fn connect(
        &self,
        account: &ProviderAccount,
        _webhook_url: &str,
    ) -> Result<Connected, ConnectError> {
        let transport = self.transport(account).await.map_err(|e| match e {
            ProviderError::Retry { reason, .. } => ConnectError::Unreachable(reason),
            ProviderError::GiveUp { reason } => ConnectError::Refused(reason),
        })?;
        match transport.test_connection().await {
            Ok(true) => Ok(Connected {
                detail: "the SMTP server answers".into(),
                learned: Vec::new(),
            }),
            Ok(false) => Err(ConnectError::Unreachable(
                "the SMTP server did not answer".into(),
            )),
            Err(e) if e.is_permanent() => Err(ConnectError::Refused(e.to_string())),
            Err(e) => Err(ConnectError::Unreachable(e.to_string())),
        }
    }

    async fn send(
        &self,
        account: &ProviderAccount,
        text: OutgoingText<'_>,
    ) -> Result<ProviderReceipt, ProviderError> {
        let from = account
            .config
            .field("from")
            .ok_or_else(|| ProviderError::give_up("the account has no from address"))?;
        let to = text
            .to
            .ok_or_else(|| ProviderError::give_up("an e-mail needs a recipient address"))?;
        let domain = from.rsplit_once('@').map_or("switchboard", |(_, d)| d);
        let message_id = format!("<{}@{domain}>", text.id);
        let message = Message::builder()
            .from(mailbox("from", from)?)
            .to(mailbox("to", to)?)
            .subject(text.subject.unwrap_or_default())
            .message_id(Some(message_id.clone()))
            .header(ContentType::TEXT_PLAIN)
            .body(text.text.to_string())
            .map_err(|e| ProviderError::give_up(format!("cannot build the e-mail: {e}")))?;
        let transport = self.transport(account).await?;
        transport.send(message).await.map_err(sorted)?;
        Ok(ProviderReceipt {
            provider_message_id: message_id,
        })
    }
}
