//! Inbound messages: persisted once per provider message id, then a reply job and the
//! `message.received` event are queued.

use crate::domain::account::Account;
use crate::domain::consent::{ConsentScope, OptOutSource, Said};
use crate::domain::event::EventType;
use crate::domain::ids::MessageId;
use crate::domain::inbound::Inbound;
use crate::domain::media::MediaStatus;
use crate::domain::message::{Message, MessageOrigin, MessageStatus, MessageView};
use crate::error::AppError;
use crate::jobs::{self, Job};
use crate::services::Services;
use crate::usecases::send::{SendRequest, queue_send};
use crate::usecases::{ai_settings, consent, events, media};

#[derive(Debug)]
pub struct Ingested {
    pub message: Message,
    pub duplicate: bool,
}

pub async fn ingest(
    s: &Services,
    account: &Account,
    inbound: Inbound,
) -> Result<Ingested, AppError> {
    let now = s.clock.now();
    let message = Message {
        id: MessageId::from_ulid(s.ids.next_ulid()),
        account_id: account.id.clone(),
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
        from_bot: inbound.from_bot,
        reply_to_message_id: inbound.reply_to_message_id,
        idempotency_key: None,
        error: None,
        created_at: inbound.timestamp.unwrap_or(now),
        updated_at: now,
        client: None,
        reached: Default::default(),
        ai_log_id: None,
        lease_released: false,
        media: inbound.media,
        template: None,
        error_code: None,
    };
    let recorded = s.store.record_inbound(&message).await?;
    let duplicate = !recorded.is_new();
    let message = recorded.into_inner();
    // Kept before the reply job is queued, for as long as the medium waits to be read: a
    // duplicate delivery keeps them again only when the first stored the message and died
    // before keeping them (the medium is still pending).
    let waiting = message
        .media
        .as_ref()
        .is_some_and(|m| m.status == MediaStatus::Pending);
    if let (Some(bytes), true) = (&inbound.inline_media, waiting) {
        let until = now + chrono::Duration::hours(media::INLINE_HOURS);
        s.store
            .keep_inline_media(&media::inline_key(&message), bytes, until)
            .await?;
    }
    // A human of the account wrote in the chat (an echo of Switchboard's own send would have
    // matched its provider id above): the AI steps back for a while.
    if !duplicate && message.origin == MessageOrigin::AccountHuman {
        ai_settings::take_over(s, &message.account_id, &message.chat_id).await?;
    }
    // Before the reply job is queued, so that the AI does not answer a STOP. Again for a
    // duplicate: a first attempt may have stored the message and stopped before this.
    keyword(s, account, &message).await?;
    // Followed up again for a duplicate too: if the first attempt stored the message but died
    // before queueing, this is what recovers it. Both consumers are idempotent per message and
    // the event keeps its id, so a second follow-up changes nothing for anyone.
    follow_up(s, &message, duplicate).await?;
    Ok(Ingested { message, duplicate })
}

/// A contact's message that is one of the account's keywords opts them out (answered once
/// with the account's `opt_out_reply`) or back in. Anything else is left alone; nothing is
/// read for a message that is not a keyword.
async fn keyword(s: &Services, account: &Account, message: &Message) -> Result<(), AppError> {
    if !message.is_inbound() || !message.chat_id.has_chat() {
        return Ok(());
    }
    let Some(said) = message
        .text
        .as_deref()
        .and_then(|t| account.consent.said(t))
    else {
        return Ok(());
    };
    let opted_out = said == Said::OptOut;
    let changed = consent::set(
        s,
        &account.id,
        &message.chat_id,
        ConsentScope::All,
        opted_out,
        OptOutSource::Keyword,
        message.created_at,
    )
    .await?;
    if let (true, true, Some(reply)) = (opted_out, changed.changed, &account.consent.opt_out_reply)
    {
        // Keyed by the STOP it answers: stored once however often this runs for it.
        let request = SendRequest {
            chat_id: message.chat_id.clone(),
            text: reply.clone(),
            template: None,
            idempotency_key: Some(format!("opt-out:{}", message.id)),
            origin: MessageOrigin::Api,
        };
        queue_send(s, &account.id, request).await?;
    }
    Ok(())
}

/// What a stored inbound message leads to: its reply job and `message.received`.
async fn follow_up(s: &Services, message: &Message, duplicate: bool) -> Result<(), AppError> {
    let mut event = events::new_event(
        s,
        EventType::MessageReceived,
        Some(&message.account_id),
        MessageView::from(message),
    );
    event.id = events::received_event_id(&message.id);
    let jobs = [Job::reply(message).now(), Job::Event(event).now()];
    // A provider's redelivery is routine: the message was counted the first time. (A first
    // attempt that died between storing and queueing goes uncounted: a statistic, not a loss.)
    match duplicate {
        true => jobs::enqueue_again(s, jobs).await,
        false => jobs::enqueue(s, jobs).await,
    }
}
