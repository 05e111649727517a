//! Inbound messages: persisted once per provider message id, then a reply job and the
//! `message.received` event are queued.

use crate::domain::chat::ChatChange;
use crate::domain::chat::ChatJid;
use crate::domain::event::EventType;
use crate::domain::ids::{AccountId, MessageId};
use crate::domain::message::{Message, MessageOrigin, MessageStatus, MessageView};
use crate::error::AppError;
use crate::jobs::{self, Job};
use crate::services::Services;
use crate::usecases::ai_config::{self, ensure_account};
use crate::usecases::events;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// A normalized inbound message, already checked.
#[derive(Debug, Clone)]
pub struct Inbound {
    pub message_id: String,
    pub chat_id: ChatJid,
    pub from: String,
    pub from_me: bool,
    pub text: Option<String>,
    pub timestamp: Option<DateTime<Utc>>,
    pub push_name: Option<String>,
    pub mentions_me: bool,
    pub reply_to_message_id: Option<String>,
}

#[derive(Debug)]
pub struct Ingested {
    pub message: Message,
    pub duplicate: bool,
}

/// `account_known`: the caller already showed the account exists (its own token was checked),
/// which saves reading it again.
pub async fn ingest(
    s: &Services,
    account: &AccountId,
    account_known: bool,
    inbound: Inbound,
) -> Result<Ingested, AppError> {
    if !account_known {
        ensure_account(s, account).await?;
    }
    let now = s.clock.now();
    let message = Message {
        id: MessageId::from_ulid(s.ids.next_ulid()),
        account_id: account.clone(),
        chat_id: inbound.chat_id,
        from: inbound.from,
        from_me: inbound.from_me,
        text: inbound.text,
        status: MessageStatus::Received,
        origin: if inbound.from_me {
            MessageOrigin::AccountHuman
        } else {
            MessageOrigin::Contact
        },
        provider_message_id: Some(inbound.message_id),
        push_name: inbound.push_name,
        mentions_me: inbound.mentions_me,
        reply_to_message_id: inbound.reply_to_message_id,
        idempotency_key: None,
        error: None,
        created_at: inbound.timestamp.unwrap_or(now),
        updated_at: now,
    };
    let recorded = s.store.record_inbound(&message).await?;
    let duplicate = !recorded.is_new();
    let message = recorded.into_inner();
    // A human of the account wrote in the chat (an echo of Switchboard's own send would have
    // matched its provider id above): the AI steps back for a while.
    if !duplicate && message.origin == MessageOrigin::AccountHuman {
        pause_ai(s, &message).await?;
    }
    // Dispatched again for a duplicate too: if the first attempt stored the message but died
    // before queueing, this is what recovers it. Both consumers are idempotent per message and
    // the event keeps its id, so a second dispatch changes nothing for anyone.
    dispatch(s, &message).await?;
    Ok(Ingested { message, duplicate })
}

async fn pause_ai(s: &Services, message: &Message) -> Result<(), AppError> {
    let chat = s
        .store
        .get_chat(&message.account_id, &message.chat_id)
        .await?;
    let effective = ai_config::effective(s, Some(&message.account_id), chat.as_ref()).await?;
    let minutes = effective.human_takeover_minutes.value;
    if minutes > 0 {
        let until = s.clock.now() + chrono::Duration::minutes(i64::from(minutes));
        ai_config::update_chat(
            s,
            &message.account_id,
            &message.chat_id,
            ChatChange::PauseAi { until },
        )
        .await?;
    }
    Ok(())
}

async fn dispatch(s: &Services, message: &Message) -> Result<(), AppError> {
    let mut event = events::new_event(
        s,
        EventType::MessageReceived,
        Some(&message.account_id),
        MessageView::from(message),
    );
    event.id = events::received_event_id(&message.id);
    let reply = Job::Reply {
        account_id: message.account_id.clone(),
        chat_id: message.chat_id.clone(),
        message_id: message.id.clone(),
    };
    jobs::enqueue(s, vec![(reply, Duration::ZERO), events::as_job(event)]).await
}
