//! Sends through the client API: the checks of the contract in their order (key, body,
//! idempotency replay, phone and channel in the policy, the phone's provider carries the
//! channel, recipient allowlist, rate), each refusal audited; an accepted send stored with its
//! audit row and its idempotency record in one write, then queued (or left for a person to
//! confirm); reads scoped to the key; confirm, cancel and expiry.

use crate::domain::account::Account;
use crate::domain::api_key::ApiKey;
use crate::domain::audit::{AuditAction, AuditEntry, AuditOutcome};
use crate::domain::channel::{self, Channel, Recipient};
use crate::domain::idempotency::{self, Begun, IdempotencyKey, StoredAnswer};
use crate::domain::ids::{AccountId, MessageId};
use crate::domain::message::{ClientSend, Message, MessageOrigin, MessageStatus};
use crate::domain::validation::{ValidationError, bounded_text};
use crate::error::AppError;
use crate::jobs::{self, Job, JobFailure};
use crate::ports::{Finished, Rate, StatusChange};
use crate::services::Services;
use crate::usecases::api_keys::{Client, audit_row};
use crate::usecases::send;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A pending send lapses after this.
pub const CONFIRM_WITHIN: Duration = Duration::from_secs(15 * 60);
pub const MAX_TEXT_CHARS: usize = 4096;
pub const MAX_SUBJECT_CHARS: usize = 998;
pub const MAX_SOURCE_CHARS: usize = 200;

/// A send as the client asks for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Order {
    /// The phone (account) to send from.
    #[schema(example = "acc_01JABCDEFGHJKMNPQRSTVWXYZ0")]
    pub phone_id: String,
    pub channel: Channel,
    /// Required except for `notify`: `wa`, `sms` E.164; `tg_bot` a chat id; `tg` `@username`
    /// or E.164; `email` an address; `pchat` the app's contact id.
    #[schema(example = "+15551234567")]
    pub to: Option<String>,
    #[schema(min_length = 1, max_length = 4096)]
    pub text: String,
    /// Only for `email`.
    #[schema(min_length = 1, max_length = 998)]
    pub subject: Option<String>,
    /// Which assistant or flow asked, for the audit.
    #[schema(min_length = 1, max_length = 200)]
    pub source: Option<String>,
    /// Up to 255 characters; the same key with the same body within 24 h answers with the
    /// first answer and sends nothing new.
    #[schema(min_length = 1, max_length = 255)]
    pub idempotency_key: Option<String>,
}

/// A send that passed the body's checks.
struct Checked {
    phone: AccountId,
    channel: Channel,
    recipient: Recipient,
    text: String,
    subject: Option<String>,
    source: Option<String>,
}

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
}

/// What `send` answers: the first answer again when it is a replay.
#[derive(Debug, Clone)]
pub struct Answer {
    pub replayed: bool,
    pub body: serde_json::Value,
}

/// What an audit row says about the send it concerns.
fn about(mut row: AuditEntry, order: Option<&Order>) -> AuditEntry {
    if let Some(o) = order {
        row.phone_id = AccountId::parse(&o.phone_id);
        row.channel = Some(o.channel);
        row.to = o.to.clone();
    }
    row
}

/// Records a refusal with its code and reason, and returns it.
async fn refuse(
    s: &Services,
    client: &Client,
    action: AuditAction,
    order: Option<&Order>,
    error: AppError,
) -> AppError {
    let mut row = about(
        audit_row(
            s,
            client.actor(),
            client.key_id(),
            action,
            AuditOutcome::Refused,
        ),
        order,
    );
    row.code = Some(error.code().to_string());
    row.reason = Some(error.to_string());
    match s.store.insert_audit(&row).await {
        Ok(()) => error,
        Err(e) => e.into(),
    }
}

/// An unauthenticated call: audited with what little is known.
pub async fn refuse_unknown(s: &Services) -> AppError {
    let mut row = audit_row(
        s,
        "anonymous".into(),
        None,
        AuditAction::Send,
        AuditOutcome::Refused,
    );
    row.code = Some(AppError::Unauthorized.code().into());
    row.reason = Some(AppError::Unauthorized.to_string());
    match s.store.insert_audit(&row).await {
        Ok(()) => AppError::Unauthorized,
        Err(e) => e.into(),
    }
}

/// The body's own checks: every field, `to` as its channel writes recipients.
fn check(order: &Order) -> Result<Checked, AppError> {
    let phone = AccountId::parse(&order.phone_id).ok_or_else(|| {
        ValidationError::new("phone_id", "is not a phone id (acc_...)").with_code("unknown_phone")
    })?;
    bounded_text("text", &order.text, 1, MAX_TEXT_CHARS)?;
    match (&order.subject, order.channel) {
        (Some(subject), Channel::Email) => bounded_text("subject", subject, 1, MAX_SUBJECT_CHARS)?,
        (Some(_), _) => {
            return Err(ValidationError::new("subject", "is only for the email channel").into());
        }
        (None, _) => {}
    }
    if let Some(source) = &order.source {
        bounded_text("source", source, 1, MAX_SOURCE_CHARS)?;
    }
    if let Some(key) = &order.idempotency_key {
        bounded_text("idempotency_key", key, 1, idempotency::MAX_KEY_CHARS)?;
    }
    let recipient = channel::recipient(order.channel, order.to.as_deref())?;
    Ok(Checked {
        phone,
        channel: order.channel,
        recipient,
        text: order.text.clone(),
        subject: order.subject.clone(),
        source: order.source.clone(),
    })
}

/// The policy's checks after the replay: phone and channel, the phone's provider, the
/// allowlist. Returns the phone.
async fn allow(s: &Services, key: &ApiKey, checked: &Checked) -> Result<Account, AppError> {
    let policy = &key.policy;
    if !policy.phones.allows(&checked.phone) {
        return Err(AppError::denied(
            "phone_not_allowed",
            "this key may not send from this phone",
        ));
    }
    if !policy.channels.allows(&checked.channel) {
        return Err(AppError::denied(
            "channel_not_allowed",
            "this key may not send on this channel",
        ));
    }
    let phone = s
        .store
        .get_account(&checked.phone)
        .await?
        .ok_or(AppError::NotFound("phone"))?;
    if !phone
        .provider
        .channels(&phone.provider_config)
        .contains(&checked.channel)
    {
        return Err(ValidationError::new(
            "channel",
            format!(
                "the phone's provider ({}) does not carry {}",
                phone.provider.as_str(),
                checked.channel.as_str()
            ),
        )
        .with_code("channel_not_supported")
        .into());
    }
    if !policy.allows_recipient(checked.channel, &checked.recipient.to) {
        return Err(AppError::denied(
            "recipient_not_allowed",
            "this recipient is not on the key's allowlist",
        ));
    }
    Ok(phone)
}

/// Takes one send from the key's rate, counted across every instance.
async fn take_rate(s: &Services, key: &ApiKey) -> Result<(), AppError> {
    let rate = Rate::per_minute(key.policy.rate_limit_per_minute);
    match s
        .store
        .take_rate(&format!("key:{}", key.id), rate, s.clock.now())
        .await?
    {
        None => Ok(()),
        Some(wait) => Err(AppError::RateLimited {
            // Whole seconds, rounded up: a retry at that time finds room.
            retry_after_secs: wait.as_millis().div_ceil(1000).max(1) as u64,
        }),
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

fn accepted(s: &Services, m: &Message) -> Accepted {
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
    }
}

/// The message a checked send stores.
fn message_of(
    s: &Services,
    key: &ApiKey,
    checked: Checked,
    pending: bool,
    now: DateTime<Utc>,
) -> Message {
    let mut m = Message::outbound(
        MessageId::from_ulid(s.ids.next_ulid()),
        &checked.phone,
        checked.recipient.chat,
        Some(checked.text),
        MessageOrigin::Api,
        now,
    );
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

/// `POST /api/v1/messages` and MCP's `send_message`. `order` is the parsed body, or why it
/// could not be parsed.
pub async fn send(
    s: &Services,
    client: &Client,
    order: Result<Order, AppError>,
) -> Result<Answer, AppError> {
    let Client::Key(key) = client else {
        return Err(AppError::Forbidden(
            "sending needs a client API key, whose policy it follows",
        ));
    };
    let order = match order {
        Ok(order) => order,
        Err(e) => return Err(refuse(s, client, AuditAction::Send, None, e).await),
    };
    let checked = match check(&order) {
        Ok(checked) => checked,
        Err(e) => return Err(refuse(s, client, AuditAction::Send, Some(&order), e).await),
    };
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
                } if first == fingerprint => return replay(s, client, &order, answer).await,
                Begun::Finished { .. } => {
                    let e = AppError::conflict(
                        "idempotency_key_reused",
                        "this idempotency_key was used with a different request",
                    );
                    return Err(refuse(s, client, AuditAction::Send, Some(&order), e).await);
                }
                Begun::InFlight { .. } => {
                    let e = AppError::conflict(
                        "idempotency_in_progress",
                        "a request with this idempotency_key is still being processed",
                    );
                    return Err(refuse(s, client, AuditAction::Send, Some(&order), e).await);
                }
            }
        }
        None => None,
    };
    match accept(s, client, key, &order, checked, idempotency.as_ref()).await {
        Ok(answer) => Ok(answer),
        Err(e) => {
            // A refusal is not kept under the key: a corrected retry may use it.
            if let Some((k, _)) = &idempotency {
                s.store.release_idempotent(k).await?;
            }
            Err(e)
        }
    }
}

/// The policy, the rate, then the send stored and queued.
async fn accept(
    s: &Services,
    client: &Client,
    key: &ApiKey,
    order: &Order,
    checked: Checked,
    idempotency: Option<&(IdempotencyKey, String)>,
) -> Result<Answer, AppError> {
    let checks = async {
        allow(s, key, &checked).await?;
        take_rate(s, key).await
    };
    if let Err(e) = checks.await {
        return Err(refuse(s, client, AuditAction::Send, Some(order), e).await);
    }
    let now = s.clock.now();
    let pending = key.policy.require_confirmation;
    let message = message_of(s, key, checked, pending, now);
    let body = serde_json::to_value(accepted(s, &message))
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let answer = StoredAnswer { status: 202, body };
    let mut row = about(
        audit_row(
            s,
            client.actor(),
            client.key_id(),
            AuditAction::Send,
            AuditOutcome::Accepted,
        ),
        Some(order),
    );
    row.to = message.client.as_ref().map(|c| c.to.clone());
    row.message_id = Some(message.id.clone());
    if pending {
        row.reason = Some("waiting for confirmation".into());
    }
    let finished = idempotency.map(|(k, fingerprint)| Finished {
        key: k,
        fingerprint,
        answer: &answer,
    });
    s.store.record_dispatch(&message, &row, finished).await?;
    start(s, &message).await?;
    Ok(Answer {
        replayed: false,
        body: answer.body,
    })
}

/// Queues what a stored send needs next: its send, or the end of its wait for confirmation.
async fn start(s: &Services, m: &Message) -> Result<(), AppError> {
    match m.status {
        MessageStatus::Queued => send::enqueue_send(s, m).await,
        MessageStatus::PendingConfirmation => {
            jobs::enqueue(s, [Job::expire(m).after(CONFIRM_WITHIN)]).await
        }
        _ => Ok(()),
    }
}

/// The first answer again, audited; a send the first request stored but did not queue (it
/// stopped in between) is queued now.
async fn replay(
    s: &Services,
    client: &Client,
    order: &Order,
    answer: StoredAnswer,
) -> Result<Answer, AppError> {
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
    let mut row = about(
        audit_row(
            s,
            client.actor(),
            client.key_id(),
            AuditAction::Replay,
            AuditOutcome::Accepted,
        ),
        Some(order),
    );
    row.message_id = id;
    s.store.insert_audit(&row).await?;
    Ok(Answer {
        replayed: true,
        body: answer.body,
    })
}

/// A client message as `GET /api/v1/messages/{id}` shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClientMessageView {
    pub id: MessageId,
    pub status: MessageStatus,
    pub phone_id: AccountId,
    pub channel: Channel,
    pub to: String,
    pub text: Option<String>,
    pub subject: Option<String>,
    pub source: Option<String>,
    pub error: Option<String>,
    /// The chat it is in, for channels with chats.
    pub chat_id: Option<String>,
    pub provider_message_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When it reached each status (`queued`, `sending`, `sent` ...).
    #[schema(value_type = std::collections::BTreeMap<String, DateTime<Utc>>)]
    pub status_times: std::collections::BTreeMap<MessageStatus, DateTime<Utc>>,
    /// Until when a pending send may be confirmed.
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirm_url: Option<String>,
}

pub fn view(s: &Services, m: &Message) -> ClientMessageView {
    let client = m.client.clone();
    ClientMessageView {
        id: m.id.clone(),
        status: m.status,
        phone_id: m.account_id.clone(),
        channel: client.as_ref().map_or(Channel::Sms, |c| c.channel),
        to: client.as_ref().map(|c| c.to.clone()).unwrap_or_default(),
        text: m.text.clone(),
        subject: client.as_ref().and_then(|c| c.subject.clone()),
        source: client.as_ref().and_then(|c| c.source.clone()),
        error: m.error.clone(),
        chat_id: m.chat_id.has_chat().then(|| m.chat_id.to_string()),
        provider_message_id: m.provider_message_id.clone(),
        created_at: m.created_at,
        updated_at: m.updated_at,
        status_times: m.reached.clone(),
        expires_at: client.as_ref().and_then(|c| c.expires_at),
        confirm_url: (m.status == MessageStatus::PendingConfirmation)
            .then(|| confirm_url(s, &m.id)),
    }
}

/// A client message the caller may see: its own key's, or any for an admin; 404 otherwise.
/// A pending one past its time is expired first.
pub async fn get(s: &Services, client: &Client, id: &MessageId) -> Result<Message, AppError> {
    let found = s
        .store
        .find_message(id)
        .await?
        .filter(|m| match (&m.client, client) {
            (None, _) => false,
            (Some(_), Client::Admin { .. }) => true,
            (Some(c), Client::Key(key)) => c.key_id.as_ref() == Some(&key.id),
        })
        .ok_or(AppError::NotFound("message"))?;
    expire_if_due(s, found).await
}

/// The messages waiting for confirmation (what a person confirms from), oldest first; one whose
/// time ran out is expired on the way and left out.
pub async fn pending(
    s: &Services,
    page: &crate::domain::page::PageRequest,
) -> Result<crate::domain::page::Page<Message>, AppError> {
    let mut found = s.store.list_pending(page).await?;
    let mut waiting = Vec::with_capacity(found.items.len());
    for m in std::mem::take(&mut found.items) {
        let m = expire_if_due(s, m).await?;
        if m.status == MessageStatus::PendingConfirmation {
            waiting.push(m);
        }
    }
    found.items = waiting;
    Ok(found)
}

/// Expires a pending message whose time ran out; returns it as it stands.
async fn expire_if_due(s: &Services, m: Message) -> Result<Message, AppError> {
    let due = m.status == MessageStatus::PendingConfirmation
        && m.client
            .as_ref()
            .and_then(|c| c.expires_at)
            .is_some_and(|at| at <= s.clock.now());
    if !due {
        return Ok(m);
    }
    let system = Client::Admin {
        subject: "system".into(),
    };
    decide(s, &system, &m, Decision::Expire).await?;
    reread(s, &m.id).await
}

async fn reread(s: &Services, id: &MessageId) -> Result<Message, AppError> {
    s.store
        .find_message(id)
        .await?
        .ok_or(AppError::NotFound("message"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Confirm,
    Cancel,
    Expire,
}

/// Writes a decision with its audit row; whether the message moved.
async fn decide(
    s: &Services,
    client: &Client,
    m: &Message,
    decision: Decision,
) -> Result<bool, AppError> {
    let (from, to, error, action): (&[MessageStatus], _, _, _) = match decision {
        Decision::Confirm => (
            &[MessageStatus::PendingConfirmation],
            MessageStatus::Queued,
            None,
            AuditAction::Confirm,
        ),
        Decision::Cancel => (
            &[MessageStatus::PendingConfirmation, MessageStatus::Queued],
            MessageStatus::Cancelled,
            Some("cancelled"),
            AuditAction::Cancel,
        ),
        Decision::Expire => (
            &[MessageStatus::PendingConfirmation],
            MessageStatus::Cancelled,
            Some("expired"),
            AuditAction::Expire,
        ),
    };
    let change = StatusChange {
        from,
        to,
        provider_message_id: None,
        error,
    };
    let actor = if decision == Decision::Expire {
        "system".to_string()
    } else {
        client.actor()
    };
    let mut row = audit_row(
        s,
        actor,
        m.client.as_ref().and_then(|c| c.key_id.as_ref()),
        action,
        AuditOutcome::Accepted,
    );
    row.phone_id = Some(m.account_id.clone());
    row.channel = m.client.as_ref().map(|c| c.channel);
    row.to = m.client.as_ref().map(|c| c.to.clone());
    row.message_id = Some(m.id.clone());
    Ok(s.store.decide(m, &change, &row).await?)
}

/// A person (or the key's backend) said yes: the send is queued. Confirming twice is harmless;
/// a cancelled or expired send is 409.
pub async fn confirm(s: &Services, client: &Client, id: &MessageId) -> Result<Message, AppError> {
    let m = get(s, client, id).await?;
    match m.status {
        MessageStatus::PendingConfirmation => {
            if decide(s, client, &m, Decision::Confirm).await? {
                let mut queued = m.clone();
                queued.status = MessageStatus::Queued;
                start(s, &queued).await?;
            }
            let m = reread(s, id).await?;
            if m.status == MessageStatus::Cancelled {
                return Err(cancelled(&m));
            }
            Ok(m)
        }
        MessageStatus::Cancelled => Err(cancelled(&m)),
        _ => Ok(m),
    }
}

fn cancelled(m: &Message) -> AppError {
    AppError::conflict(
        "message_cancelled",
        format!(
            "the message was cancelled ({}) and cannot be confirmed",
            m.error.as_deref().unwrap_or("cancelled")
        ),
    )
}

/// The send will not go out: a pending or still queued message is cancelled. Cancelling twice
/// is harmless; one already sent is 409.
pub async fn cancel(s: &Services, client: &Client, id: &MessageId) -> Result<Message, AppError> {
    let m = get(s, client, id).await?;
    match m.status {
        MessageStatus::PendingConfirmation | MessageStatus::Queued => {
            decide(s, client, &m, Decision::Cancel).await?;
            let m = reread(s, id).await?;
            if m.status == MessageStatus::Cancelled {
                Ok(m)
            } else {
                Err(too_late(&m))
            }
        }
        MessageStatus::Cancelled => Ok(m),
        _ => Err(too_late(&m)),
    }
}

fn too_late(m: &Message) -> AppError {
    AppError::conflict(
        "message_not_cancellable",
        format!("the message is already {}", m.status.as_str()),
    )
}

/// The expiry job: a send still pending when its time is up is cancelled as `expired`.
pub async fn expire(
    s: &Services,
    account: &AccountId,
    chat: &crate::domain::chat::ChatJid,
    id: &MessageId,
) -> Result<(), JobFailure> {
    let Some(m) = s.store.get_message(account, chat, id).await? else {
        return Ok(());
    };
    let Some(at) = m.client.as_ref().and_then(|c| c.expires_at) else {
        return Ok(());
    };
    if m.status != MessageStatus::PendingConfirmation {
        return Ok(());
    }
    let now = s.clock.now();
    if at > now {
        // Early (a queue's delay is capped): wait for the rest.
        let rest = (at - now).to_std().unwrap_or_default();
        jobs::enqueue(s, [Job::expire(&m).after(rest)]).await?;
        return Ok(());
    }
    let system = Client::Admin {
        subject: "system".into(),
    };
    decide(s, &system, &m, Decision::Expire).await?;
    Ok(())
}

/// What the model is asked to produce for a draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Draft {
    /// Always `send_message`.
    pub action: String,
    pub channel: String,
    pub to: Option<String>,
    pub text: String,
    pub subject: Option<String>,
}

/// Whether the policy lets a draft go out once confirmed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DraftDecision {
    pub allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The answer to a draft: what the model proposed, what the policy says, and the stored
/// message (pending confirmation when allowed, cancelled when refused).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Drafted {
    pub draft: Draft,
    pub decision: DraftDecision,
    /// The stored message; absent when the model's answer named no valid recipient.
    pub id: Option<MessageId>,
    pub status: Option<MessageStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirm_url: Option<String>,
}

pub const MAX_INSTRUCTION_CHARS: usize = 4000;

/// The JSON schema of a draft, for `response_format`.
fn draft_format(channels: &[Channel]) -> serde_json::Value {
    let names: Vec<&str> = channels.iter().map(|c| c.as_str()).collect();
    serde_json::json!({
        "type": "json_schema",
        "json_schema": {
            "name": "send_message",
            "strict": true,
            "schema": {
                "type": "object",
                "properties": {
                    "action": {"type": "string", "enum": ["send_message"]},
                    "channel": {"type": "string", "enum": names},
                    "to": {"type": ["string", "null"]},
                    "text": {"type": "string"},
                    "subject": {"type": ["string", "null"]}
                },
                "required": ["action", "channel", "to", "text", "subject"],
                "additionalProperties": false
            }
        }
    })
}

fn draft_prompt(channels: &[Channel]) -> String {
    let names: Vec<&str> = channels.iter().map(|c| c.as_str()).collect();
    format!(
        "You turn an instruction into one message to send. Answer with only a JSON object: \
         {{\"action\": \"send_message\", \"channel\": one of {names:?}, \"to\": the recipient \
         (E.164 like +15551234567 for sms and wa, a chat id for tg_bot, @username or E.164 for \
         tg, an address for email, null for notify), \"text\": the message, \"subject\": a \
         subject for email, else null}}."
    )
}

/// The model's answer as a draft: the JSON object in it (fences and prose around it are
/// dropped), of exactly the draft's shape.
pub fn read_draft(text: &str) -> Result<Draft, String> {
    let start = text.find('{').ok_or("the answer holds no JSON object")?;
    let end = text.rfind('}').ok_or("the answer holds no JSON object")?;
    let json = text
        .get(start..=end)
        .ok_or("the answer holds no JSON object")?;
    let draft: Draft =
        serde_json::from_str(json).map_err(|e| format!("the answer is not a draft: {e}"))?;
    if draft.action != "send_message" {
        return Err(format!("unknown action `{}`", draft.action));
    }
    Ok(draft)
}

/// Asks the model with a JSON schema, then for any JSON object, then for plain text, as far as
/// the endpoint refuses the format (an HTTP 4xx).
async fn ask_for_draft(
    s: &Services,
    effective: &crate::resolve::EffectiveAi,
    channels: &[Channel],
    instruction: &str,
) -> Result<String, AppError> {
    use crate::ports::{ChatMessage, LlmError, Role};
    use crate::usecases::generate::{self, GenerateError};
    let messages = vec![
        ChatMessage {
            role: Role::System,
            content: draft_prompt(channels),
        },
        ChatMessage {
            role: Role::User,
            content: instruction.to_string(),
        },
    ];
    let formats = [
        Some(draft_format(channels)),
        Some(serde_json::json!({"type": "json_object"})),
        None,
    ];
    let mut last = None;
    for format in formats {
        match generate::generate_as(s, effective, messages.clone(), format).await {
            Ok(generated) => return Ok(generated.completion.text),
            Err(GenerateError::Llm(LlmError::Client { status, detail }))
                if (400..500).contains(&status) && status != 401 && status != 429 =>
            {
                last = Some(LlmError::Client { status, detail });
            }
            Err(GenerateError::Llm(e)) => {
                return Err(AppError::Upstream {
                    code: "llm_error",
                    message: e.to_string(),
                });
            }
            Err(GenerateError::App(e)) => return Err(e),
        }
    }
    Err(AppError::Upstream {
        code: "llm_error",
        message: last.map_or_else(|| "no answer".into(), |e| e.to_string()),
    })
}

/// `POST /api/v1/assistant/draft` and MCP's `draft_message`: the phone's LLM turns an
/// instruction into a send, which is checked like a client's request and by the key's policy,
/// and stored pending confirmation whatever the key says (or cancelled, when refused).
pub async fn draft(
    s: &Services,
    client: &Client,
    phone_id: &str,
    instruction: &str,
) -> Result<Drafted, AppError> {
    let Client::Key(key) = client else {
        return Err(AppError::Forbidden(
            "drafting needs a client API key, whose policy it follows",
        ));
    };
    let refusal = |e: AppError| refuse(s, client, AuditAction::Draft, None, e);
    let phone = match AccountId::parse(phone_id) {
        Some(p) => p,
        None => {
            let e = ValidationError::new("phone_id", "is not a phone id (acc_...)")
                .with_code("unknown_phone");
            return Err(refusal(e.into()).await);
        }
    };
    if let Err(e) = bounded_text("instruction", instruction, 1, MAX_INSTRUCTION_CHARS) {
        return Err(refusal(e.into()).await);
    }
    if !key.policy.phones.allows(&phone) {
        let e = AppError::denied("phone_not_allowed", "this key may not send from this phone");
        return Err(refusal(e).await);
    }
    let Some(account) = s.store.get_account(&phone).await? else {
        return Err(refusal(AppError::NotFound("phone")).await);
    };
    if let Err(e) = take_rate(s, key).await {
        return Err(refusal(e).await);
    }
    let channels: Vec<Channel> = account
        .provider
        .channels(&account.provider_config)
        .into_iter()
        .filter(|c| key.policy.channels.allows(c))
        .collect();
    let effective = crate::usecases::ai_settings::effective(s, Some(&phone), None).await?;
    if !effective.has_api_key.value && !effective.echo_mode.value {
        let e = AppError::conflict("no_api_key", "the phone has no LLM configured (no API key)");
        return Err(refusal(e).await);
    }
    let text = ask_for_draft(s, &effective, &channels, instruction).await?;
    // The model's answer is untrusted: read and checked as a client's request would be.
    let draft = match read_draft(&text) {
        Ok(d) => d,
        Err(reason) => {
            let e = AppError::Upstream {
                code: "llm_invalid_output",
                message: format!("the model's answer is not a usable draft: {reason}"),
            };
            return Err(refusal(e).await);
        }
    };
    let decision_of = |e: &AppError| DraftDecision {
        allowed: false,
        code: Some(e.code().to_string()),
        message: Some(e.to_string()),
    };
    let order = Order {
        phone_id: phone.to_string(),
        channel: Channel::parse(&draft.channel).unwrap_or(Channel::Sms),
        to: draft.to.clone(),
        text: draft.text.clone(),
        subject: draft.subject.clone(),
        source: Some("draft".into()),
        idempotency_key: None,
    };
    let checked = match Channel::parse(&draft.channel)
        .ok_or_else(|| ValidationError::new("channel", "is not a channel").into())
        .and_then(|_| check(&order))
    {
        Ok(c) => c,
        Err(e) => {
            let decision = decision_of(&e);
            refuse(s, client, AuditAction::Draft, Some(&order), e).await;
            return Ok(Drafted {
                draft,
                decision,
                id: None,
                status: None,
                confirm_url: None,
            });
        }
    };
    let now = s.clock.now();
    let refused = allow(s, key, &checked).await.err();
    let mut message = message_of(s, key, checked, true, now);
    let mut row = about(
        audit_row(
            s,
            client.actor(),
            client.key_id(),
            AuditAction::Draft,
            AuditOutcome::Accepted,
        ),
        Some(&order),
    );
    row.to = message.client.as_ref().map(|c| c.to.clone());
    row.message_id = Some(message.id.clone());
    let decision = match &refused {
        Some(e) => {
            message.status = MessageStatus::Cancelled;
            message.error = Some(e.code().to_string());
            message.reached = [(MessageStatus::Cancelled, now)].into_iter().collect();
            if let Some(c) = message.client.as_mut() {
                c.expires_at = None;
            }
            row.outcome = AuditOutcome::Refused;
            row.code = Some(e.code().to_string());
            row.reason = Some(e.to_string());
            decision_of(e)
        }
        None => {
            row.reason = Some("drafted; waiting for confirmation".into());
            DraftDecision {
                allowed: true,
                code: None,
                message: None,
            }
        }
    };
    s.store.record_dispatch(&message, &row, None).await?;
    start(s, &message).await?;
    Ok(Drafted {
        draft,
        decision,
        id: Some(message.id.clone()),
        status: Some(message.status),
        confirm_url: (message.status == MessageStatus::PendingConfirmation)
            .then(|| confirm_url(s, &message.id)),
    })
}
