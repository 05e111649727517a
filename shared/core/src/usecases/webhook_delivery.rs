//! Webhook delivery: an event's first attempt to every subscription that wants it is made by
//! the fan-out itself, all at once; a failed attempt schedules the next as a job along the retry
//! schedule (in hops when it is due later than a queue can delay a job); the last failure is
//! final. Every attempt is recorded.

use crate::domain::event::{Event, EventType, WebhookDisabled};
use crate::domain::ids::WebhookId;
use crate::domain::signature;
use crate::domain::webhook::{
    AttemptStatus, DeliveryAttempt, Subscription, WebhookDelivery, with_jitter,
};
use crate::error::AppError;
use crate::jobs::{self, Job, JobFailure};
use crate::ports::{MAX_QUEUE_DELAY, SecretContext, SendFailure, WebhookRequest, WebhookResponse};
use crate::services::Services;
use crate::usecases::events;
use chrono::{DateTime, Utc};
use std::time::{Duration, Instant};

pub const SECRET_FIELD: &str = "webhook.secret";

/// The longest a receiver's `Retry-After` may push the next attempt.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(6 * 3600);
/// How long a delivery waits for a slot at its endpoint before it is put back on the queue.
const SLOT_PATIENCE: Duration = Duration::from_millis(250);
/// How long a first attempt made by the fan-out waits for its answer (at most the configured
/// timeout): the invocation is billed while it waits, and waits for the slowest endpoint. One
/// slower than this is tried again on the retry schedule, with the whole timeout.
const FIRST_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// A delivery put back because its endpoint is busy waits this long at most before it looks
/// again.
const MAX_DEFER: Duration = Duration::from_secs(30);

/// Whether the event is about an account deleted since: nobody is told about it any more.
async fn about_a_deleted_account(s: &Services, event: &Event) -> Result<bool, JobFailure> {
    match &event.account_id {
        Some(account) => Ok(s.store.get_account(account).await?.is_none()),
        None => Ok(false),
    }
}

/// Makes the first attempt to every subscription that wants the event, together. A queued job
/// per delivery would cost a queue round trip and an invocation each, to do what this
/// invocation can while it is here; a delivery whose attempt could not be made or recorded
/// goes on the queue as its own job, so one failing store write cannot send the others twice.
pub async fn fan_out(s: &Services, event: &Event) -> Result<(), JobFailure> {
    let subscriptions = s.subscriptions.active(s.store.as_ref()).await?;
    let timeout = s.settings.webhooks.timeout.min(FIRST_ATTEMPT_TIMEOUT);
    let attempts = subscriptions
        .iter()
        .filter(|w| w.wants(event.event_type, event.account_id.as_ref()))
        .map(|w| async move {
            let delivery = WebhookDelivery::first(w.id.clone(), event.clone());
            match deliver(s, w.clone(), delivery.clone(), timeout).await {
                Ok(()) => None,
                Err(e) => {
                    tracing::warn!(webhook = %w.id, error = %e, "first attempt queued as a job");
                    Some(Job::DeliverWebhook(delivery).now())
                }
            }
        });
    let queued = futures_util::future::join_all(attempts).await;
    jobs::enqueue(s, queued.into_iter().flatten()).await?;
    Ok(())
}

/// Runs one attempt of a delivery (or waits on, when it is not due or its endpoint is busy).
pub async fn attempt(s: &Services, delivery: WebhookDelivery) -> Result<(), JobFailure> {
    let now = s.clock.now();
    if let Some(due) = delivery.not_before.filter(|due| *due > now) {
        let rest = (due - now).to_std().unwrap_or_default();
        let hop = Job::DeliverWebhook(delivery).after(rest.min(MAX_QUEUE_DELAY));
        jobs::enqueue(s, [hop]).await?;
        return Ok(());
    }
    // From the cached active subscriptions: one disabled or deleted since gets nothing more.
    let active = s.subscriptions.active(s.store.as_ref()).await?;
    let Some(webhook) = active.iter().find(|w| w.id == delivery.webhook_id).cloned() else {
        return Ok(());
    };
    // A delivery that waited (a retry may come a day later) may be about an account deleted
    // meanwhile; a first attempt follows its event within moments, and is spared the read.
    let waited = delivery.attempt > 1 || delivery.deferred > 0;
    if waited && about_a_deleted_account(s, &delivery.event).await? {
        return Ok(());
    }
    deliver(s, webhook, delivery, s.settings.webhooks.timeout).await
}

/// One attempt when its endpoint has a slot free (else the delivery waits on the queue),
/// recorded, with the next one scheduled if it failed.
async fn deliver(
    s: &Services,
    webhook: Subscription,
    mut delivery: WebhookDelivery,
    timeout: Duration,
) -> Result<(), JobFailure> {
    let Some(_slot) = s
        .endpoint_slots
        .take(webhook.id.as_str(), SLOT_PATIENCE)
        .await
    else {
        // Backing off: an endpoint that kept its slots this long is slow or hanging.
        let wait = Duration::from_millis(100 << delivery.deferred.min(9)).min(MAX_DEFER);
        delivery.deferred += 1;
        jobs::enqueue(s, [Job::DeliverWebhook(delivery).after(wait)]).await?;
        return Ok(());
    };
    let result = post(s, &webhook, &delivery.event, timeout).await?;
    record_attempt(s, webhook, delivery, result).await
}

/// The outcome of one POST, with its latency.
pub struct Posted {
    pub outcome: Result<WebhookResponse, SendFailure>,
    pub latency_ms: u64,
}

/// Signs and posts the event to the subscription's URL, waiting `timeout` for the answer.
pub async fn post(
    s: &Services,
    webhook: &Subscription,
    event: &Event,
    timeout: Duration,
) -> Result<Posted, AppError> {
    let secret = s
        .cipher
        .open(
            &webhook.secret,
            &SecretContext::new(webhook.id.as_str(), SECRET_FIELD),
        )
        .await?;
    let body = serde_json::to_vec(event).map_err(|e| AppError::Internal(e.to_string()))?;
    let timestamp = s.clock.now().timestamp();
    let signed = signature::sign(&secret, event.id.as_str(), timestamp, &body)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let request = WebhookRequest {
        url: webhook.url.as_url().clone(),
        headers: vec![
            ("webhook-id", event.id.to_string()),
            ("webhook-timestamp", timestamp.to_string()),
            ("webhook-signature", signed),
        ],
        body,
        timeout,
    };
    let started = Instant::now();
    let outcome = s.network.webhooks.post(request).await;
    Ok(Posted {
        outcome,
        latency_ms: started.elapsed().as_millis() as u64,
    })
}

/// What one attempt means for the delivery and for the endpoint.
pub enum Verdict {
    Delivered,
    /// The endpoint says it is gone for good (410): no retry, and it is disabled.
    Gone,
    Failed {
        retry_after: Option<Duration>,
    },
}

/// Judges one POST: its verdict, and its record (`succeeded` or `failed`; a failure that will be
/// retried is turned into `retrying` by the caller).
pub fn judge(
    webhook: &WebhookId,
    event: &Event,
    attempt: u32,
    posted: &Posted,
    now: DateTime<Utc>,
) -> (Verdict, DeliveryAttempt) {
    let (verdict, status_code, error) = match &posted.outcome {
        Ok(r) if (200..300).contains(&r.status) => (Verdict::Delivered, Some(r.status), None),
        Ok(r) if r.status == 410 => (
            Verdict::Gone,
            Some(r.status),
            Some("the endpoint answered 410 Gone".to_string()),
        ),
        Ok(r) if (300..400).contains(&r.status) => (
            Verdict::Failed { retry_after: None },
            Some(r.status),
            Some("redirects are not followed; point the subscription at the final URL".into()),
        ),
        Ok(r) => {
            // Throttled or overloaded: the receiver may say when to come back.
            let throttled = matches!(r.status, 429 | 502 | 503 | 504);
            let retry_after = if throttled { r.retry_after } else { None };
            (
                Verdict::Failed { retry_after },
                Some(r.status),
                Some(format!("the endpoint answered {}", r.status)),
            )
        }
        Err(e) => (
            Verdict::Failed { retry_after: None },
            None,
            Some(e.to_string()),
        ),
    };
    let status = match verdict {
        Verdict::Delivered => AttemptStatus::Succeeded,
        _ => AttemptStatus::Failed,
    };
    let record = DeliveryAttempt {
        webhook_id: webhook.clone(),
        event_id: event.id.clone(),
        event_type: event.event_type,
        attempt,
        status,
        status_code,
        latency_ms: posted.latency_ms,
        error,
        next_retry_at: None,
        created_at: now,
    };
    (verdict, record)
}

/// Records how an attempt went, schedules the next one if it failed and one is left, and
/// tracks the endpoint's health.
async fn record_attempt(
    s: &Services,
    mut webhook: Subscription,
    delivery: WebhookDelivery,
    posted: Posted,
) -> Result<(), JobFailure> {
    let now = s.clock.now();
    let (verdict, mut record) = judge(&webhook.id, &delivery.event, delivery.attempt, &posted, now);
    let mut retry = None;
    if let Verdict::Failed { retry_after } = &verdict {
        let next_attempt = delivery.attempt + 1;
        if let Some(planned) = s.settings.webhooks.schedule.delay_before(next_attempt) {
            let asked = retry_after
                .map(|r| r.min(MAX_RETRY_AFTER))
                .unwrap_or_default();
            let wait = with_jitter(planned.max(asked), rand::random::<f64>());
            let due = now + chrono::Duration::from_std(wait).unwrap_or_default();
            record.status = AttemptStatus::Retrying;
            record.next_retry_at = Some(due);
            let next = WebhookDelivery {
                attempt: next_attempt,
                not_before: Some(due),
                deferred: 0,
                ..delivery
            };
            retry = Some(Job::DeliverWebhook(next).after(wait.min(MAX_QUEUE_DELAY)));
        }
    }
    s.store.insert_attempt(&record).await?;
    jobs::enqueue(s, retry).await?;
    track_health(s, &mut webhook, &verdict, now).await
}

/// A success clears the failing streak; a 410, or a streak longer than `disable_after`,
/// disables the endpoint and tells its owner.
async fn track_health(
    s: &Services,
    webhook: &mut Subscription,
    verdict: &Verdict,
    now: DateTime<Utc>,
) -> Result<(), JobFailure> {
    let before = (webhook.failing_since, webhook.disabled);
    let disable = match verdict {
        Verdict::Delivered => {
            webhook.failing_since = None;
            None
        }
        Verdict::Gone => Some("the endpoint answered 410 Gone".to_string()),
        Verdict::Failed { .. } => {
            let since = *webhook.failing_since.get_or_insert(now);
            let limit = chrono::Duration::from_std(s.settings.webhooks.disable_after)
                .unwrap_or(chrono::Duration::MAX);
            (now - since >= limit).then(|| {
                format!(
                    "every delivery failed since {}",
                    since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                )
            })
        }
    };
    if let Some(reason) = &disable {
        webhook.disabled = true;
        webhook.disabled_reason = Some(reason.clone());
    }
    if (webhook.failing_since, webhook.disabled) == before {
        return Ok(());
    }
    s.store.update_webhook(webhook).await?;
    s.subscriptions.invalidate();
    if let Some(reason) = disable {
        tracing::warn!(webhook = %webhook.id, %reason, "webhook endpoint disabled");
        let data = WebhookDisabled {
            webhook_id: webhook.id.clone(),
            url: webhook.url.to_string(),
            reason,
        };
        let account = webhook.account_id.as_ref();
        events::emit(s, EventType::WebhookDisabled, account, data).await?;
    }
    Ok(())
}
