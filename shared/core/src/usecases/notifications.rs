//! A provider's webhooks (WhatsApp Cloud, Telegram): verified by the provider's own signature
//! over the raw bytes before anything in them is read, then every message ingested and every
//! status report applied. Meta's subscription handshake lives here too.

use crate::domain::account::Account;
use crate::domain::consent::{ConsentScope, OptOutSource};
use crate::domain::ids::AccountId;
use crate::domain::provider::ProviderKind;
use crate::error::AppError;
use crate::ports::{InboundError, Provider, ProviderAccount};
use crate::services::Services;
use crate::usecases::{accounts, consent, ingest, statuses};
use http::HeaderMap;
use std::sync::Arc;

/// What one notification carried.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Taken {
    pub messages: usize,
    pub duplicates: usize,
    pub statuses: usize,
}

/// The account a provider's webhook names, if it is one of that provider's (anything else
/// reads as not found), with that provider and the account's opened secrets.
async fn addressed<'s>(
    s: &'s Services,
    id: &str,
    kind: ProviderKind,
) -> Result<(Account, &'s Arc<dyn Provider>, ProviderAccount), AppError> {
    let id = AccountId::parse(id).ok_or(AppError::NotFound("account"))?;
    // Seconds old at most: a change made in another instance (a rotated app secret, a
    // deletion) is seen here within the cache's freshness; Meta retries what was refused.
    let account = s
        .store
        .recent_account(&id)
        .await?
        .ok_or(AppError::NotFound("account"))?;
    if account.provider != kind {
        return Err(AppError::NotFound("account"));
    }
    let provider = s
        .network
        .providers
        .get(kind)
        .map_err(|_| AppError::NotFound("route"))?;
    let opened = accounts::open(s, &account).await?;
    Ok((account, provider, opened))
}

fn refused(e: InboundError) -> AppError {
    match e {
        InboundError::Unauthorized(reason) => {
            tracing::info!(%reason, "a provider webhook was refused");
            AppError::Unauthorized
        }
        InboundError::Malformed(reason) => AppError::bad_request("malformed_notification", reason),
        InboundError::Unsupported => AppError::NotFound("route"),
    }
}

/// Meta's handshake: the challenge, when the query carries the account's verify token.
pub async fn verify_subscription(
    s: &Services,
    account_id: &str,
    kind: ProviderKind,
    query: &[(String, String)],
) -> Result<String, AppError> {
    let (_, provider, opened) = addressed(s, account_id, kind).await?;
    provider
        .verify_subscription(&opened, query)
        .map_err(|e| match e {
            InboundError::Unsupported => AppError::NotFound("route"),
            _ => AppError::Forbidden("the verify token does not match"),
        })
}

/// Verifies a notification and takes in what it carries.
pub async fn receive(
    s: &Services,
    account_id: &str,
    kind: ProviderKind,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Taken, AppError> {
    let (account, provider, opened) = addressed(s, account_id, kind).await?;
    let received = provider.receive(&opened, headers, body).map_err(refused)?;
    let mut taken = Taken::default();
    for inbound in received.messages {
        let ingested = ingest::ingest(s, &account, inbound).await?;
        taken.messages += 1;
        taken.duplicates += usize::from(ingested.duplicate);
    }
    for report in received.statuses {
        statuses::apply(s, &account.id, report, 0).await?;
        taken.statuses += 1;
    }
    let now = s.clock.now();
    for preference in received.preferences {
        let scope = ConsentScope::Marketing;
        let source = OptOutSource::Provider;
        consent::set(
            s,
            &account.id,
            &preference.chat_id,
            scope,
            preference.stopped,
            source,
            now,
        )
        .await?;
    }
    Ok(taken)
}
