//! Opt-out and opt-in: a contact's keyword (heard by `ingest`), a change by hand, the
//! provider's word. Each change is told once (`contact.opted_out`, `contact.opted_in`), by the
//! call that made it; and every send path asks `refuse_opted_out` before it sends.

use crate::domain::chat::{Chat, ChatChange, ChatJid};
use crate::domain::consent::{ConsentScope, OptOutSource};
use crate::domain::event::ConsentChanged;
use crate::domain::event::EventType;
use crate::domain::ids::AccountId;
use crate::domain::message::Message;
use crate::error::AppError;
use crate::services::Services;
use crate::usecases::{chats, events};
use chrono::{DateTime, Utc};

/// A change of consent, and whether this call made it (the state was otherwise).
pub struct Changed {
    pub chat: Chat,
    pub changed: bool,
}

/// Sets a chat's consent for `scope`, telling the change when there was one.
pub async fn set(
    s: &Services,
    account: &AccountId,
    chat_id: &ChatJid,
    scope: ConsentScope,
    opted_out: bool,
    source: OptOutSource,
    at: DateTime<Utc>,
) -> Result<Changed, AppError> {
    let before = s.store.get_chat(account, chat_id).await?;
    let was = before.as_ref().is_some_and(|c| held(c, scope));
    if was == opted_out {
        let chat = match before {
            Some(chat) => chat,
            None => chats::get_or_new(s, account, chat_id).await?,
        };
        return Ok(Changed {
            chat,
            changed: false,
        });
    }
    let change = ChatChange::Consent {
        scope,
        opted_out,
        source,
        at,
    };
    let chat = chats::update(s, account, chat_id, change).await?;
    let kind = if opted_out {
        EventType::ContactOptedOut
    } else {
        EventType::ContactOptedIn
    };
    let told = ConsentChanged {
        chat_id: chat_id.clone(),
        scope,
        source,
        at,
    };
    events::emit(s, kind, Some(account), told).await?;
    Ok(Changed {
        chat,
        changed: true,
    })
}

/// The state `scope` itself holds (not what an opt-out of everything implies for marketing).
fn held(chat: &Chat, scope: ConsentScope) -> bool {
    match scope {
        ConsentScope::All => chat.opted_out_at.is_some(),
        ConsentScope::Marketing => chat.marketing_opted_out,
    }
}

/// Meta said the contact stopped marketing messages (131050): the chat remembers, so the next
/// MARKETING template is refused before it is sent.
pub async fn marketing_stopped(s: &Services, message: &Message) -> Result<(), AppError> {
    let (scope, source) = (ConsentScope::Marketing, OptOutSource::Provider);
    let (account, chat) = (&message.account_id, &message.chat_id);
    set(s, account, chat, scope, true, source, s.clock.now())
        .await
        .map(|_| ())
}

/// Sends to an opted-out contact are refused (403), before anything is stored or paid for; a
/// marketing template also to a contact who stopped marketing.
pub fn refuse_opted_out(chat: Option<&Chat>, marketing: bool) -> Result<(), AppError> {
    let Some(chat) = chat else { return Ok(()) };
    if chat.opted_out(ConsentScope::All) {
        return Err(AppError::denied(
            "recipient_opted_out",
            "the contact opted out: nothing is sent to them until they opt back in",
        ));
    }
    if marketing && chat.opted_out(ConsentScope::Marketing) {
        return Err(AppError::denied(
            "marketing_opted_out",
            "the contact stopped marketing messages: a MARKETING template is not sent to them",
        ));
    }
    Ok(())
}
