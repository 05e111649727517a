//! Webhook delivery: one event becomes a job per subscription that wants it, and each job makes
//! one signed attempt. A failed attempt schedules the next along the retry schedule (in hops
//! when it is due later than a queue can delay a job); the last failure is final. Every attempt
//! is recorded.

use crate::domain::event::{Event, EventType};
use crate::domain::ids::{EventId, WebhookId};
use crate::domain::signature;
use crate::domain::webhook::{AttemptStatus, DeliveryAttempt, Subscription, with_jitter};
use crate::error::AppError;
use crate::jobs::{self, Job, JobFailure};
use crate::ports::{MAX_QUEUE_DELAY, SecretContext, SendFailure, WebhookRequest, WebhookResponse};
use crate::services::Services;
use chrono::{DateTime, Utc};
use std::time::{Duration, Instant};

pub const SECRET_FIELD: &str = "webhook.secret";

/// The longest a receiver's `Retry-After` may push the next attempt.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(6 * 3600);
/// How long a delivery waits for a place at its endpoint before it is put back on the queue.
const GATE_PATIENCE: Duration = Duration::from_millis(250);
/// A delivery put back because its endpoint is busy waits this long at most before it looks
/// again.
const MAX_DEFER: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct Delivery {
    pub webhook_id: WebhookId,
    pub event: Event,
    pub attempt: u32,
    pub not_before: Option<DateTime<Utc>>,
    pub deferred: u32,
}

impl Delivery {
    fn job(self) -> Job {
        Job::Deliver {
            webhook_id: self.webhook_id,
            event: self.event,
            attempt: self.attempt,
            not_before: self.not_before,
            deferred: self.deferred,
        }
    }
}

/// Queues one delivery per subscription that wants the event.
pub async fn fan_out(s: &Services, event: &Event) -> Result<(), JobFailure> {
    let subscriptions = s
        .subscriptions
        .active(s.store.as_ref())
        .await
        .map_err(AppError::from)?;
    let jobs: Vec<_> = subscriptions
        .iter()
        .filter(|w| w.wants(event.event_type, event.account_id.as_ref()))
        .map(|w| {
            let first = Delivery {
                webhook_id: w.id.clone(),
                event: event.clone(),
                attempt: 1,
                not_before: None,
                deferred: 0,
            };
            (first.job(), Duration::ZERO)
        })
        .collect();
    jobs::enqueue(s, jobs).await?;
    Ok(())
}

/// Runs one attempt of a delivery (or waits on, when it is not due or its endpoint is busy).
pub async fn attempt(s: &Services, mut delivery: Delivery) -> Result<(), JobFailure> {
    let now = s.clock.now();
    if let Some(due) = delivery.not_before.filter(|due| *due > now) {
        let rest = (due - now).to_std().unwrap_or_default();
        jobs::enqueue(s, vec![(delivery.job(), rest.min(MAX_QUEUE_DELAY))]).await?;
        return Ok(());
    }
    let Some(webhook) = s
        .store
        .get_webhook(&delivery.webhook_id)
        .await
        .map_err(AppError::from)?
    else {
        return Ok(());
    };
    if webhook.disabled {
        return Ok(());
    }
    let Some(_place) = s
        .endpoint_gate
        .enter(webhook.id.as_str(), GATE_PATIENCE)
        .await
    else {
        // Backing off: an endpoint that kept its places this long is slow or hanging.
        let wait = Duration::from_millis(100 << delivery.deferred.min(9)).min(MAX_DEFER);
        delivery.deferred += 1;
        jobs::enqueue(s, vec![(delivery.job(), wait)]).await?;
        return Ok(());
    };
    let result = post(s, &webhook, &delivery.event).await?;
    settle(s, webhook, delivery, result).await
}

/// The outcome of one POST, with its latency.
pub struct Posted {
    pub outcome: Result<WebhookResponse, SendFailure>,
    pub latency_ms: u64,
}

/// Signs and posts the event to the subscription's URL.
pub async fn post(s: &Services, webhook: &Subscription, event: &Event) -> Result<Posted, AppError> {
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
        timeout: s.settings.webhooks.timeout,
    };
    let started = Instant::now();
    let outcome = s.webhooks.post(request).await;
    Ok(Posted {
        outcome,
        latency_ms: started.elapsed().as_millis() as u64,
    })
}

/// What one attempt means for the delivery and for the endpoint.
enum Verdict {
    Delivered,
    /// The endpoint says it is gone for good (410): no retry, and it is disabled.
    Gone,
    Failed {
        retry_after: Option<Duration>,
    },
}

pub fn describe(posted: &Posted) -> (Option<u16>, Option<String>) {
    match &posted.outcome {
        Ok(r) if (200..300).contains(&r.status) => (Some(r.status), None),
        Ok(r) if (300..400).contains(&r.status) => (
            Some(r.status),
            Some("redirects are not followed; point the subscription at the final URL".into()),
        ),
        Ok(r) => (
            Some(r.status),
            Some(format!("the endpoint answered {}", r.status)),
        ),
        Err(e) => (None, Some(e.to_string())),
    }
}

fn verdict(posted: &Posted) -> Verdict {
    match &posted.outcome {
        Ok(r) if (200..300).contains(&r.status) => Verdict::Delivered,
        Ok(r) if r.status == 410 => Verdict::Gone,
        // Throttled or overloaded: the receiver may say when to come back.
        Ok(r) if matches!(r.status, 429 | 502 | 503 | 504) => Verdict::Failed {
            retry_after: r.retry_after,
        },
        _ => Verdict::Failed { retry_after: None },
    }
}

async fn settle(
    s: &Services,
    mut webhook: Subscription,
    delivery: Delivery,
    posted: Posted,
) -> Result<(), JobFailure> {
    let now = s.clock.now();
    let (status_code, error) = describe(&posted);
    let mut record = DeliveryAttempt {
        webhook_id: webhook.id.clone(),
        event_id: delivery.event.id.clone(),
        event_type: delivery.event.event_type,
        attempt: delivery.attempt,
        status: AttemptStatus::Failed,
        status_code,
        latency_ms: posted.latency_ms,
        error,
        next_retry_at: None,
        created_at: now,
    };
    let verdict = verdict(&posted);
    let mut next = None;
    match &verdict {
        Verdict::Delivered => record.status = AttemptStatus::Succeeded,
        Verdict::Gone => {}
        Verdict::Failed { retry_after } => {
            let next_attempt = delivery.attempt + 1;
            if let Some(planned) = s.settings.webhooks.schedule.delay_before(next_attempt) {
                let asked = retry_after
                    .map(|r| r.min(MAX_RETRY_AFTER))
                    .unwrap_or_default();
                let wait = with_jitter(planned.max(asked), rand::random::<f64>());
                let due = now + chrono::Duration::from_std(wait).unwrap_or_default();
                record.status = AttemptStatus::Retrying;
                record.next_retry_at = Some(due);
                next = Some((next_attempt, due, wait));
            }
        }
    }
    s.store
        .insert_attempt(&record)
        .await
        .map_err(AppError::from)?;
    if let Some((attempt, due, wait)) = next {
        let retry = Delivery {
            attempt,
            not_before: Some(due),
            deferred: 0,
            ..delivery
        };
        jobs::enqueue(s, vec![(retry.job(), wait.min(MAX_QUEUE_DELAY))]).await?;
    }
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
    let reason = match verdict {
        Verdict::Delivered => {
            if webhook.failing_since.take().is_some() {
                s.store
                    .update_webhook(webhook)
                    .await
                    .map_err(AppError::from)?;
            }
            return Ok(());
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
    let newly_failing = webhook.failing_since == Some(now);
    match reason {
        Some(reason) => {
            webhook.disabled = true;
            webhook.disabled_reason = Some(reason.clone());
            s.store
                .update_webhook(webhook)
                .await
                .map_err(AppError::from)?;
            s.subscriptions.invalidate();
            tracing::warn!(webhook = %webhook.id, %reason, "webhook endpoint disabled");
            let event = Event {
                id: EventId::from_ulid(s.ids.next_ulid()),
                event_type: EventType::WebhookDisabled,
                created_at: now,
                account_id: webhook.account_id.clone(),
                data: serde_json::json!({
                    "webhook_id": webhook.id,
                    "url": webhook.url.as_str(),
                    "reason": reason,
                }),
            };
            jobs::enqueue(s, vec![(Job::Event(event), Duration::ZERO)]).await?;
        }
        None if newly_failing => {
            s.store
                .update_webhook(webhook)
                .await
                .map_err(AppError::from)?;
        }
        None => {}
    }
    Ok(())
}
