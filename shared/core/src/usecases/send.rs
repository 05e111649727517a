//! Outbound messages: accepted and queued by the API, then sent by the outbound consumer through
//! the account's provider.

use crate::domain::chat::ChatJid;
use crate::domain::event::EventType;
use crate::domain::ids::{AccountId, MessageId};
use crate::domain::message::{Message, MessageOrigin, MessageStatus, MessageView};
use crate::error::AppError;
use crate::jobs::{self, Job, JobFailure};
use crate::ports::{ProviderError, Recorded};
use crate::services::Services;
use crate::usecases::ai_config::ensure_account;
use crate::usecases::events;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SendRequest {
    pub chat_id: ChatJid,
    pub text: String,
    pub idempotency_key: Option<String>,
}

#[derive(Debug)]
pub struct Accepted {
    pub message: Message,
    /// The idempotency key was seen before with the same request: this is the first answer.
    pub replayed: bool,
}

pub async fn queue_send(
    s: &Services,
    account: &AccountId,
    req: SendRequest,
) -> Result<Accepted, AppError> {
    ensure_account(s, account).await?;
    let now = s.clock.now();
    let message = Message {
        id: MessageId::from_ulid(s.ids.next_ulid()),
        account_id: account.clone(),
        chat_id: req.chat_id,
        from: account.to_string(),
        from_me: true,
        text: Some(req.text),
        status: MessageStatus::Queued,
        origin: MessageOrigin::Api,
        provider_message_id: None,
        push_name: None,
        mentions_me: false,
        reply_to_message_id: None,
        idempotency_key: req.idempotency_key,
        error: None,
        created_at: now,
        updated_at: now,
    };
    match s.store.record_outbound(&message).await? {
        Recorded::New(stored) => {
            enqueue_send(s, &stored).await?;
            Ok(Accepted {
                message: stored,
                replayed: false,
            })
        }
        Recorded::Existing(first) => {
            if first.chat_id != message.chat_id || first.text != message.text {
                return Err(AppError::conflict(
                    "idempotency_conflict",
                    "this idempotency_key was used with a different request",
                ));
            }
            // A first attempt that stored the message but failed to queue it is finished here.
            if first.status == MessageStatus::Queued {
                enqueue_send(s, &first).await?;
            }
            Ok(Accepted {
                message: first,
                replayed: true,
            })
        }
    }
}

async fn enqueue_send(s: &Services, message: &Message) -> Result<(), AppError> {
    let job = Job::Send {
        account_id: message.account_id.clone(),
        message_id: message.id.clone(),
    };
    jobs::enqueue(s, vec![(job, Duration::ZERO)]).await
}

/// Sends a queued message. Safe to run twice: a message that left `queued`/`sending` is done.
pub async fn deliver(
    s: &Services,
    account_id: &AccountId,
    message_id: &MessageId,
) -> Result<(), JobFailure> {
    let Some(message) = s
        .store
        .get_message(account_id, message_id)
        .await
        .map_err(AppError::from)?
    else {
        // The account was deleted with its messages: nothing to send.
        return Ok(());
    };
    if !matches!(
        message.status,
        MessageStatus::Queued | MessageStatus::Sending
    ) {
        return Ok(());
    }
    let Some(account) = s
        .store
        .get_account(account_id)
        .await
        .map_err(AppError::from)?
    else {
        return Ok(());
    };
    s.store
        .transition_message(
            account_id,
            message_id,
            &[MessageStatus::Queued],
            MessageStatus::Sending,
            None,
            None,
        )
        .await
        .map_err(AppError::from)?;
    let text = message.text.clone().unwrap_or_default();
    let sent = match s.providers.get(account.provider) {
        Ok(provider) => {
            provider
                .send_text(&account, &message.chat_id, &text, message_id.as_str())
                .await
        }
        Err(e) => Err(e),
    };
    match sent {
        Ok(receipt) => {
            let moved = s
                .store
                .transition_message(
                    account_id,
                    message_id,
                    &[MessageStatus::Queued, MessageStatus::Sending],
                    MessageStatus::Sent,
                    Some(&receipt.provider_message_id),
                    None,
                )
                .await
                .map_err(AppError::from)?;
            if moved {
                let mut sent = message.clone();
                sent.status = MessageStatus::Sent;
                sent.provider_message_id = Some(receipt.provider_message_id);
                let event = events::new_event(
                    s,
                    EventType::MessageSent,
                    account_id,
                    MessageView::from(&sent),
                );
                jobs::enqueue(s, vec![events::as_job(event)]).await?;
            }
            Ok(())
        }
        Err(ProviderError::Temporary(e)) => Err(JobFailure::Retry(e)),
        Err(ProviderError::Permanent(e)) => {
            let moved = s
                .store
                .transition_message(
                    account_id,
                    message_id,
                    &[MessageStatus::Queued, MessageStatus::Sending],
                    MessageStatus::Failed,
                    None,
                    Some(&e),
                )
                .await
                .map_err(AppError::from)?;
            if moved {
                let mut failed = message.clone();
                failed.status = MessageStatus::Failed;
                failed.error = Some(e);
                let event = events::new_event(
                    s,
                    EventType::MessageStatus,
                    account_id,
                    MessageView::from(&failed),
                );
                jobs::enqueue(s, vec![events::as_job(event)]).await?;
            }
            Ok(())
        }
    }
}
