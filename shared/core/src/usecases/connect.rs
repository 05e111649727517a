//! Connecting an account to its provider: a Telegram bot is told where to deliver (and what it
//! is called is learned); a WhatsApp number's credentials are checked, and what to paste into
//! Meta's app settings is answered.

use crate::domain::account::Account;
use crate::domain::provider::ProviderKind;
use crate::domain::validation::ValidationError;
use crate::error::AppError;
use crate::ports::ConnectError;
use crate::services::Services;
use crate::usecases::accounts;
use secrecy::ExposeSecret;

#[derive(Debug)]
pub struct Connection {
    pub provider: ProviderKind,
    /// Where the provider delivers this account's messages.
    pub webhook_url: Option<String>,
    pub connected: bool,
    pub detail: String,
    /// For WhatsApp: the verify token to paste into Meta's app settings beside the URL.
    pub verify_token: Option<String>,
}

/// The path a provider delivers to, under `/v1/ingest/`.
fn ingest_path(kind: ProviderKind) -> Option<&'static str> {
    match kind {
        ProviderKind::WhatsappCloud => Some("whatsapp"),
        ProviderKind::TelegramBot => Some("telegram"),
        _ => None,
    }
}

/// Connects an account. Deliveries go to `INGEST_URL`, else `PUBLIC_API_URL`, else
/// `reached_at`, the base URL the request came to (behind API Gateway: the HTTP API's own).
pub async fn connect(
    s: &Services,
    mut account: Account,
    reached_at: Option<String>,
) -> Result<Connection, AppError> {
    let kind = account.provider;
    let providers = &s.settings.providers;
    let base = (providers.ingest_url.as_ref())
        .or(providers.public_api_url.as_ref())
        .map(|u| u.as_str().to_string())
        .or(reached_at);
    let webhook_url = base.map(|base| {
        let base = base.trim_end_matches('/');
        match ingest_path(kind) {
            Some(path) => format!("{base}/v1/ingest/{path}/{}", account.id),
            None => format!("{base}/v1/ingest/{}", account.id),
        }
    });
    let provider = s.network.providers.get(kind).ok();
    let Some(provider) = provider else {
        return Ok(Connection {
            provider: kind,
            webhook_url,
            connected: true,
            detail: "nothing to connect: the phone pulls its outbox and posts what it receives"
                .into(),
            verify_token: None,
        });
    };
    if kind == ProviderKind::TelegramBot && webhook_url.is_none() {
        return Err(AppError::conflict(
            "public_url_missing",
            "PUBLIC_API_URL is not set: Telegram needs the public URL to deliver to",
        ));
    }
    let opened = accounts::open(s, &account).await?;
    let connected = provider
        .connect(&opened, webhook_url.as_deref().unwrap_or_default())
        .await
        .map_err(|e| match e {
            ConnectError::Refused(message) => ValidationError::new("provider_config", message)
                .with_code("provider_refused")
                .into(),
            ConnectError::Unreachable(message) => AppError::Upstream {
                code: "provider_unreachable",
                message,
            },
        })?;
    if !connected.learned.is_empty() {
        for (field, value) in connected.learned {
            account
                .provider_config
                .fields
                .insert(field.to_string(), value);
        }
        account.updated_at = s.clock.now();
        if !s.store.update_account(&account).await? {
            return Err(AppError::NotFound("account"));
        }
    }
    let verify_token = (kind == ProviderKind::WhatsappCloud)
        .then(|| opened.config.secret("verify_token"))
        .flatten()
        .map(|t| t.expose_secret().to_string());
    Ok(Connection {
        provider: kind,
        webhook_url,
        connected: true,
        detail: connected.detail,
        verify_token,
    })
}
