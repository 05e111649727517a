//! Webhook subscriptions: create (the secret is shown once and stored sealed), list, delete,
//! re-enable, send a test event, and read the attempts.

use crate::domain::event::{EventType, WebhookTest};
use crate::domain::ids::{AccountId, WebhookId};
use crate::domain::page::{Page, PageRequest};
use crate::domain::signature;
use crate::domain::validation::HttpUrl;
use crate::domain::webhook::{DeliveryAttempt, EventFilter, Subscription};
use crate::error::AppError;
use crate::ports::SecretContext;
use crate::services::Services;
use crate::usecases::webhook_delivery::{self, SECRET_FIELD};
use crate::usecases::{accounts, events};
use secrecy::SecretString;

pub struct NewWebhook {
    pub url: HttpUrl,
    pub events: EventFilter,
    pub account_id: Option<AccountId>,
}

pub struct CreatedWebhook {
    pub webhook: Subscription,
    pub secret: SecretString,
}

pub async fn create(s: &Services, input: NewWebhook) -> Result<CreatedWebhook, AppError> {
    if let Some(account) = &input.account_id {
        accounts::require(s, account).await?;
    }
    let id = WebhookId::from_ulid(s.ids.next_ulid());
    let secret = signature::new_secret();
    let sealed = s
        .cipher
        .seal(&secret, &SecretContext::new(id.as_str(), SECRET_FIELD))
        .await?;
    let webhook = Subscription {
        id,
        url: input.url,
        events: input.events,
        account_id: input.account_id,
        disabled: false,
        disabled_reason: None,
        failing_since: None,
        secret: sealed,
        created_at: s.clock.now(),
    };
    s.store.insert_webhook(&webhook).await?;
    s.subscriptions.invalidate();
    Ok(CreatedWebhook { webhook, secret })
}

pub async fn get(s: &Services, id: &WebhookId) -> Result<Subscription, AppError> {
    s.store
        .get_webhook(id)
        .await?
        .ok_or(AppError::NotFound("webhook"))
}

pub async fn list(s: &Services, page: &PageRequest) -> Result<Page<Subscription>, AppError> {
    Ok(s.store.list_webhooks(page).await?)
}

pub async fn delete(s: &Services, id: &WebhookId) -> Result<(), AppError> {
    if s.store.delete_webhook(id).await? {
        s.subscriptions.invalidate();
        Ok(())
    } else {
        Err(AppError::NotFound("webhook"))
    }
}

/// Turns a disabled endpoint back on, with a clean failing streak.
pub async fn enable(s: &Services, id: &WebhookId) -> Result<Subscription, AppError> {
    let mut webhook = get(s, id).await?;
    webhook.disabled = false;
    webhook.disabled_reason = None;
    webhook.failing_since = None;
    s.store.update_webhook(&webhook).await?;
    s.subscriptions.invalidate();
    Ok(webhook)
}

/// Sends a `webhook.test` event to this endpoint now, once, and records the attempt.
pub async fn test(s: &Services, id: &WebhookId) -> Result<DeliveryAttempt, AppError> {
    let webhook = get(s, id).await?;
    let data = WebhookTest {
        webhook_id: webhook.id.clone(),
        message: "a test event from Switchboard".into(),
    };
    let event = events::new_event(s, EventType::WebhookTest, webhook.account_id.as_ref(), data);
    let posted = webhook_delivery::post(s, &webhook, &event, s.settings.webhooks.timeout).await?;
    let (_, attempt) = webhook_delivery::judge(&webhook.id, &event, 1, &posted, s.clock.now());
    s.store.insert_attempt(&attempt).await?;
    Ok(attempt)
}

pub async fn attempts(
    s: &Services,
    id: &WebhookId,
    page: &PageRequest,
) -> Result<Page<DeliveryAttempt>, AppError> {
    get(s, id).await?;
    Ok(s.store.list_attempts(id, page).await?)
}
