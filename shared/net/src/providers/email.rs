//! E-mail through any SMTP server (Amazon SES's SMTP interface included), with the account's
//! sealed `smtp_url` (`smtp://` or `smtps://user:pass@host:port`) and `from`. The server's host
//! is checked by the URL guard before each connection.

use crate::guard::{HostError, UrlGuard};
use async_trait::async_trait;
use lettre::Address;
use lettre::message::{Mailbox, Message, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::ExposeSecret;
use std::time::Duration;
use switchboard_core::domain::provider::sender as mailbox_parts;
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

fn address(field: &str, value: &str) -> Result<Address, ProviderError> {
    value
        .parse()
        .map_err(|e| ProviderError::give_up(format!("{field} `{value}` is not an address: {e}")))
}

/// The account's sender, as the account's check read it: a display name (quoted or not; lettre
/// writes it back quoted or encoded as the header needs) and an address.
fn sender(from: &str) -> Result<Mailbox, ProviderError> {
    let (name, mail) = mailbox_parts(from)
        .ok_or_else(|| ProviderError::give_up(format!("from `{from}` is not a mailbox")))?;
    let name = name.map(|n| n.trim_matches('"').to_string());
    Ok(Mailbox::new(name, address("from", mail)?))
}

/// Whether an SMTP failure is worth another try: the server busy or unreachable (a 4xx reply,
/// 421 included, a refused or cut connection, a timeout). A 5xx reply (a wrong password is 535,
/// a refused sender 550/553) and a failure on this side (no authentication mechanism both ends
/// speak, a TLS handshake refused) are configuration errors: final, in the server's words.
fn sorted(e: lettre::transport::smtp::Error) -> ProviderError {
    if e.is_permanent() {
        ProviderError::give_up(format!("the SMTP server refused: {e}"))
    } else if e.is_client() || e.is_tls() {
        ProviderError::give_up(format!("SMTP: {e}"))
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
        let refused = |e: ProviderError| match e {
            ProviderError::Retry { reason, .. } => ConnectError::Unreachable(reason),
            ProviderError::GiveUp { reason, .. } => ConnectError::Refused(reason),
        };
        let transport = self.transport(account).await.map_err(refused)?;
        // A connection as a send makes one: EHLO, STARTTLS where the URL asks for it, and AUTH
        // with the URL's user and password when it has them.
        let with_credentials = account
            .config
            .secret("smtp_url")
            .and_then(|u| url::Url::parse(u.expose_secret()).ok())
            .is_some_and(|u| !u.username().is_empty());
        match transport.test_connection().await {
            Ok(true) => Ok(Connected {
                detail: if with_credentials {
                    "the SMTP server answers and takes the credentials".into()
                } else {
                    "the SMTP server answers (no credentials to check)".into()
                },
                learned: Vec::new(),
            }),
            Ok(false) => Err(ConnectError::Unreachable(
                "the SMTP server did not answer".into(),
            )),
            Err(e) => Err(refused(sorted(e))),
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
        let from = sender(from)?;
        let message_id = format!("<{}@{}>", text.id, from.email.domain());
        // A single text part: lettre writes `MIME-Version: 1.0` with its `Content-Type` and
        // `Content-Transfer-Encoding`, as RFC 2045 asks.
        let message = Message::builder()
            .from(from)
            .to(Mailbox::new(None, address("to", to)?))
            .subject(text.subject.unwrap_or_default())
            .message_id(Some(message_id.clone()))
            .singlepart(SinglePart::plain(text.text.to_string()))
            .map_err(|e| ProviderError::give_up(format!("cannot build the e-mail: {e}")))?;
        let transport = self.transport(account).await?;
        transport.send(message).await.map_err(sorted)?;
        Ok(ProviderReceipt {
            provider_message_id: message_id,
        })
    }
}
