//! `POST /api/v1/messages` and MCP's `send_message`: the checks in the contract's order, an
//! idempotency replay answered with the first answer, and an accepted send stored with its
//! audit row and its idempotency record in one write, then queued (or left for a person to
//! confirm).

use super::checks::{Checked, Order, allow, check, take_rate};
use crate::domain::api_key::ApiKey;
use crate::domain::audit::AuditAction;
use crate::domain::channel::Channel;
use crate::domain::idempotency::{self, Begun, IdempotencyKey, StoredAnswer};
use crate::domain::ids::{AccountId, MessageId};
use crate::domain::message::{ClientSend, Message, MessageOrigin, MessageStatus};
use crate::error::AppError;
use crate::jobs::{self, Job};
use crate::ports::Finished;
use crate::services::Services;
use crate::usecases::api_keys::Client;
use crate::usecases::audit::Audit;
use crate::usecases::reach::{self, Content, Outgoing};
use crate::usecases::send as sending;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::time::Duration;

/// A pending send lapses after this.
pub const CONFIRM_WITHIN: Duration = Duration::from_secs(15 * 60);

/// The answer to a send, as the client sees it (and as a replay repeats it).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Accepted {
    pub id: MessageId,
    pub status: MessageStatus,
    pub phone_id: AccountId,
    pub channel: Channel,
    pub to: String,
    pub created_at: DateTime<Utc>,
    /// Where a person confirms a pending send.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirm_url: Option<String>,
    /// `template` when a template goes out (asked for, or the fallback of a closed window).
    #[schema(example = "text")]
    pub sent_as: &'static str,
}

/// What `send` answers: the first answer again when it is a replay.
#[derive(Debug, Clone)]
pub struct Answer {
    pub replayed: bool,
    pub body: serde_json::Value,
}

/// A send from someone without a valid credential: refused, and audited with what little is
/// known.
pub async fn refuse_unknown(s: &Services) -> AppError {
    let audit = Audit::anonymous(s, AuditAction::Send);
    match audit.settle::<()>(s, Err(AppError::Unauthorized)).await {
        Err(e) => e,
        Ok(()) => AppError::Unauthorized,
    }
}

/// The dashboard's page for a pending send: absolute with `PUBLIC_API_URL`, else a path on
/// the API's own address.
pub fn confirm_url(s: &Services, id: &MessageId) -> String {
    let base = s
        .settings
        .providers
        .public_api_url
        .as_ref()
        .map_or("", |u| u.as_str());
    format!("{}/dashboard/confirm/{id}", base.trim_end_matches('/'))
}

/// The client's view of a send that was stored.
pub(super) fn accepted(s: &Services, m: &Message) -> Accepted {
    let client = m.client.as_ref();
    Accepted {
        id: m.id.clone(),
        status: m.status,
        phone_id: m.account_id.clone(),
        channel: client.map_or(Channel::Sms, |c| c.channel),
        to: client.map(|c| c.to.clone()).unwrap_or_default(),
        created_at: m.created_at,
        confirm_url: (m.status == MessageStatus::PendingConfirmation)
            .then(|| confirm_url(s, &m.id)),
        sent_as: if m.template.is_some() {
            "template"
        } else {
            "text"
        },
    }
}

/// The message a checked send stores, waiting for confirmation when `pending`.
pub(super) fn message_of(
    s: &Services,
    key: &ApiKey,
    checked: Checked,
    outgoing: Outgoing,
    pending: bool,
    now: DateTime<Utc>,
) -> Message {
    let mut m = Message::outbound(
        MessageId::from_ulid(s.ids.next_ulid()),
        &checked.phone,
        checked.recipient.chat,
        Some(outgoing.text),
        MessageOrigin::Api,
        now,
    );
    m.template = outgoing.template;
    if pending {
        m.status = MessageStatus::PendingConfirmation;
    }
    m.reached.insert(m.status, now);
    m.client = Some(ClientSend {
        key_id: Some(key.id.clone()),
        channel: checked.channel,
        to: checked.recipient.to,
        subject: checked.subject,
        source: checked.source,
        expires_at: pending
            .then(|| now + chrono::Duration::from_std(CONFIRM_WITHIN).unwrap_or_default()),
    });
    m
}

/// Queues what a stored send needs next: its send, or the end of its wait for confirmation.
pub(super) async fn start(s: &Services, m: &Message) -> Result<(), AppError> {
    match m.status {
        MessageStatus::Queued => sending::enqueue_send(s, m).await,
        MessageStatus::PendingConfirmation => {
            jobs::enqueue(s, [Job::expire(m).after(CONFIRM_WITHIN)]).await
        }
        _ => Ok(()),
    }
}

/// `order` is the parsed body, or why it could not be parsed.
pub async fn send(
    s: &Services,
    client: &Client,
    order: Result<Order, AppError>,
) -> Result<Answer, AppError> {
    let mut audit = Audit::new(s, client.actor(), client.key_id(), AuditAction::Send);
    let answer = match client {
        Client::Key(key) => send_as(s, key, order, &mut audit).await,
        Client::Admin { .. } => Err(AppError::Forbidden(
            "sending needs a client API key, whose policy it follows",
        )),
    };
    audit.settle(s, answer).await
}

async fn send_as(
    s: &Services,
    key: &ApiKey,
    order: Result<Order, AppError>,
    audit: &mut Audit,
) -> Result<Answer, AppError> {
    let order = order?;
    let (phone, channel, to) = order.about();
    audit.about(phone, channel, to);
    let checked = check(&order)?;
    let idempotency = match &order.idempotency_key {
        Some(k) => {
            let k = IdempotencyKey {
                api_key: key.id.clone(),
                key: k.clone(),
            };
            let fingerprint = idempotency::fingerprint(
                &serde_json::to_value(&order).map_err(|e| AppError::Internal(e.to_string()))?,
            );
            match s
                .store
                .begin_idempotent(&k, &fingerprint, s.clock.now())
                .await?
            {
                Begun::Taken => Some((k, fingerprint)),
                Begun::Finished {
                    fingerprint: first,
                    answer,
                } if first == fingerprint => return replay(s, answer, audit).await,
                Begun::Finished { .. } => {
                    return Err(AppError::conflict(
                        "idempotency_key_reused",
                        "this idempotency_key was used with a different request",
                    ));
                }
                Begun::InFlight { .. } => {
                    return Err(AppError::conflict(
                        "idempotency_in_progress",
                        "a request with this idempotency_key is still being processed",
                    ));
                }
            }
        }
        None => None,
    };
    let accepted = accept(s, key, checked, idempotency.as_ref(), audit).await;
    if accepted.is_err()
        && let Some((k, _)) = &idempotency
    {
        // A refusal is not kept under the key: a corrected retry may use it.
        s.store.release_idempotent(k).await?;
    }
    accepted
}

/// The policy, whether the contact can be reached (consent, the window, the template), the
/// rate, then the send stored with its audit row and queued.
async fn accept(
    s: &Services,
    key: &ApiKey,
    checked: Checked,
    idempotency: Option<&(IdempotencyKey, String)>,
    audit: &mut Audit,
) -> Result<Answer, AppError> {
    let phone = allow(s, key, &checked).await?;
    let content = Content {
        text: checked.text.as_deref(),
        template: checked.template.as_ref(),
        fallback_template: checked.fallback_template.as_ref(),
    };
    let outgoing = reach::check(s, &phone, &checked.recipient.chat, content).await?;
    take_rate(s, key).await?;
    let pending = key.policy.require_confirmation;
    let message = message_of(s, key, checked, outgoing, pending, s.clock.now());
    let body = serde_json::to_value(accepted(s, &message))
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let answer = StoredAnswer { status: 202, body };
    audit.message(&message);
    if pending {
        audit.reason("waiting for confirmation");
    }
    let finished = idempotency.map(|(k, fingerprint)| Finished {
        key: k,
        fingerprint,
        answer: &answer,
    });
    s.store
        .record_client_send(&message, audit.handed(), finished)
        .await?;
    start(s, &message).await?;
    Ok(Answer {
        replayed: false,
        body: answer.body,
    })
}

/// The first answer again, audited as a replay; a send the first request stored but did not
/// queue (it stopped in between) is queued now.
async fn replay(s: &Services, answer: StoredAnswer, audit: &mut Audit) -> Result<Answer, AppError> {
    let id = answer
        .body
        .get("id")
        .and_then(|v| v.as_str())
        .and_then(MessageId::parse);
    if let Some(id) = &id
        && let Some(m) = s.store.find_message(id).await?
    {
        start(s, &m).await?;
    }
    audit.action(AuditAction::Replay).message_id(id);
    Ok(Answer {
        replayed: true,
        body: answer.body,
    })
}
