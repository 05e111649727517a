//! Reading client messages: one by id (its key's own, or any for an admin) and the list
//! waiting for confirmation (a pending send past its time is expired on the way); and the
//! templates a key may send.

use super::checks;
use super::decision::expire_if_due;
use super::send::confirm_url;
use crate::domain::channel::Channel;
use crate::domain::ids::{AccountId, MessageId};
use crate::domain::message::{Message, MessageStatus};
use crate::domain::page::{Page, PageRequest};
use crate::domain::template::Template;
use crate::error::AppError;
use crate::services::Services;
use crate::usecases::api_keys::Client;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

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
    /// For a failed send: `provider_error`.
    pub error_code: Option<&'static str>,
    /// The chat it is in, for channels with chats.
    pub chat_id: Option<String>,
    pub provider_message_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When it reached each status (`queued`, `sending`, `sent` ...).
    #[schema(value_type = BTreeMap<String, DateTime<Utc>>)]
    pub status_times: BTreeMap<MessageStatus, DateTime<Utc>>,
    /// Until when a pending send may be confirmed.
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirm_url: Option<String>,
}

pub fn view(s: &Services, m: &Message) -> ClientMessageView {
    let client = m.client.as_ref();
    ClientMessageView {
        id: m.id.clone(),
        status: m.status,
        phone_id: m.account_id.clone(),
        channel: client.map_or(Channel::Sms, |c| c.channel),
        to: client.map(|c| c.to.clone()).unwrap_or_default(),
        text: m.text.clone(),
        subject: client.and_then(|c| c.subject.clone()),
        source: client.and_then(|c| c.source.clone()),
        error: m.error.clone(),
        error_code: m.error_code(),
        chat_id: m.chat_id.has_chat().then(|| m.chat_id.to_string()),
        provider_message_id: m.provider_message_id.clone(),
        created_at: m.created_at,
        updated_at: m.updated_at,
        status_times: m.reached.clone(),
        expires_at: client.and_then(|c| c.expires_at),
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
pub async fn pending(s: &Services, page: &PageRequest) -> Result<Page<Message>, AppError> {
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

/// The templates a key may send from a phone (MCP's `list_templates`): the phone in the key's
/// policy, with `wa` among its channels; Meta's status as an optional filter.
pub async fn templates(
    s: &Services,
    client: &Client,
    phone_id: &str,
    status: Option<&str>,
) -> Result<Vec<Template>, AppError> {
    let Client::Key(key) = client else {
        return Err(AppError::Forbidden("a client API key is required"));
    };
    let phone = checks::phone_id(phone_id)?;
    checks::phone_allowed(key, &phone)?;
    if !key.policy.channels.allows(&Channel::Wa) {
        return Err(AppError::denied(
            "channel_not_allowed",
            "this key may not send on the wa channel",
        ));
    }
    let account = checks::phone_account(s, &phone).await?;
    let all = crate::usecases::templates::all(s, &account).await?;
    Ok(all
        .into_iter()
        .filter(|t| status.is_none_or(|st| t.status.eq_ignore_ascii_case(st)))
        .collect())
}
