//! The test endpoints: one generation with the configuration in force for an account and chat
//! (or globally), reporting where each setting came from; optionally sent to the chat.

use crate::domain::ai_settings::Source;
use crate::domain::chat::ChatJid;
use crate::domain::ids::{AccountId, MessageId};
use crate::domain::message::{Message, MessageOrigin};
use crate::error::AppError;
use crate::ports::{ChatMessage, Role};
use crate::services::Services;
use crate::usecases::generate::{self, GenerateError};
use crate::usecases::{ai_settings, chats, send};
use std::collections::BTreeMap;

pub struct TestRequest {
    /// A known account (its route checked it), or none for the global level.
    pub account: Option<AccountId>,
    pub chat: Option<ChatJid>,
    pub message: String,
    pub send_to_chat: bool,
}

pub struct TestResult {
    pub reply: String,
    pub model: String,
    pub latency_ms: u64,
    pub sent: bool,
    pub config_source: BTreeMap<&'static str, Source>,
}

pub async fn run(s: &Services, req: TestRequest) -> Result<TestResult, AppError> {
    let chat = match (&req.account, &req.chat) {
        (Some(account), Some(chat)) => Some(chats::get_or_new(s, account, chat).await?),
        _ => None,
    };
    let effective = ai_settings::effective(s, req.account.as_ref(), chat.as_ref()).await?;
    if !effective.api_key.is_set() && !effective.echo_mode.value {
        // The request is fine; the configuration is not ready for it.
        return Err(AppError::conflict(
            "no_api_key",
            "no API key configured: set one in the AI settings (or turn on echo mode)",
        ));
    }
    let mut messages = generate::conversation(&effective, &[], Default::default());
    messages.push(ChatMessage::text(Role::User, req.message));
    let generated = generate::generate(s, &effective, messages)
        .await
        .map_err(|e| match e {
            GenerateError::Llm(e) => AppError::Upstream {
                code: "llm_error",
                message: e.to_string(),
            },
            GenerateError::App(e) => e,
        })?;
    let reply = generated.completion.text;
    let sent = match (req.send_to_chat, &req.account, &req.chat) {
        (true, Some(account), Some(chat)) => {
            send_now(s, account, chat, &reply).await?;
            true
        }
        _ => false,
    };
    Ok(TestResult {
        reply,
        model: generate::model_label(&effective),
        latency_ms: generated.latency_ms,
        sent,
        config_source: effective.sources(),
    })
}

async fn send_now(
    s: &Services,
    account: &AccountId,
    chat: &ChatJid,
    text: &str,
) -> Result<(), AppError> {
    let message = Message::outbound(
        MessageId::from_ulid(s.ids.next_ulid()),
        account,
        chat.clone(),
        Some(text.to_string()),
        MessageOrigin::Ai,
        s.clock.now(),
    );
    let stored = s.store.record_outbound(&message).await?.into_inner();
    send::enqueue_send(s, &stored).await
}
