//! The three levels of AI settings (global, account, chat), and what is in force for a chat.

use crate::domain::ai_settings::{
    AiSettings, AiSettingsPatch, ChatAiSettings, EffectiveAi, GLOBAL_OWNER, Levels, resolve,
    secret_field,
};
use crate::domain::chat::{AiMode, Chat, ChatChange, ChatJid};
use crate::domain::ids::AccountId;
use crate::domain::patch::Change;
use crate::error::AppError;
use crate::ports::SecretContext;
use crate::rules::{self, MessageFacts, SkipReason};
use crate::services::Services;
use crate::usecases::chats;
use chrono::{DateTime, TimeDelta, Utc};
use secrecy::SecretString;

/// Seals the secrets a change sets, for `owner` (`global` or an account id).
async fn sealed(
    s: &Services,
    owner: &str,
    patch: AiSettingsPatch<SecretString>,
) -> Result<AiSettingsPatch, AppError> {
    patch
        .seal(|name, plain| {
            let context = SecretContext::new(owner, secret_field(name));
            Box::pin(async move { s.cipher.seal(&plain, &context).await })
        })
        .await
        .map_err(AppError::from)
}

pub async fn put_global(
    s: &Services,
    patch: AiSettingsPatch<SecretString>,
) -> Result<AiSettings, AppError> {
    let patch = sealed(s, GLOBAL_OWNER, patch).await?;
    Ok(s.store.update_global_ai(patch).await?)
}

/// The account level of a known account.
pub async fn get_account(s: &Services, account: &AccountId) -> Result<AiSettings, AppError> {
    Ok(s.store.account_ai(account).await?)
}

/// Changes the account level of a known account.
pub async fn put_account(
    s: &Services,
    account: &AccountId,
    patch: AiSettingsPatch<SecretString>,
) -> Result<AiSettings, AppError> {
    let patch = sealed(s, account.as_str(), patch).await?;
    Ok(s.store.update_account_ai(account, patch).await?)
}

/// Sets the chat level of a known account's chat. Any PUT here also resumes AI that a human
/// reply had paused.
pub async fn put_chat(
    s: &Services,
    account: &AccountId,
    chat_id: &ChatJid,
    mode: Option<AiMode>,
    custom_system_prompt: Change<String>,
) -> Result<Chat, AppError> {
    let change = ChatChange::Ai {
        mode,
        custom_system_prompt,
    };
    chats::update(s, account, chat_id, change).await
}

/// The configuration in force for an account's chat (either may be absent: then the levels
/// above apply), with the chat when it exists.
pub async fn effective(
    s: &Services,
    account: Option<&AccountId>,
    chat: Option<&Chat>,
) -> Result<EffectiveAi, AppError> {
    let global = s.store.global_ai().await?;
    let account_settings = match account {
        Some(id) => Some((id, s.store.account_ai(id).await?)),
        None => None,
    };
    Ok(effective_from(
        s,
        &global,
        account_settings.as_ref().map(|(id, a)| (*id, a)),
        chat,
    ))
}

/// `effective` from levels already read.
pub fn effective_from(
    s: &Services,
    global: &AiSettings,
    account: Option<(&AccountId, &AiSettings)>,
    chat: Option<&Chat>,
) -> EffectiveAi {
    let chat_settings = chat.map(|c| ChatAiSettings {
        mode: c.ai_mode,
        custom_system_prompt: c.custom_system_prompt.clone(),
    });
    resolve(&Levels {
        chat: chat_settings.as_ref(),
        account,
        global,
        env: &s.settings.env_ai,
    })
}

/// `effective` for a known account's chat, plus whether a text message from the other party
/// would be answered now.
pub async fn effective_for_chat(
    s: &Services,
    account: &AccountId,
    chat_id: &ChatJid,
) -> Result<(EffectiveAi, Result<(), SkipReason>), AppError> {
    let chat = chats::get_or_new(s, account, chat_id).await?;
    let effective = effective(s, Some(account), Some(&chat)).await?;
    let decision = rules::decide(
        &effective,
        &chat,
        MessageFacts::HYPOTHETICAL_TEXT,
        s.clock.now(),
    );
    Ok((effective, decision))
}

/// A human of the account is answering: the AI steps back for `human_takeover_minutes` (none
/// when it is 0). The end of the pause, if there is one.
pub async fn take_over(
    s: &Services,
    account: &AccountId,
    chat: &ChatJid,
) -> Result<Option<DateTime<Utc>>, AppError> {
    let found = s.store.get_chat(account, chat).await?;
    let effective = effective(s, Some(account), found.as_ref()).await?;
    let minutes = effective.human_takeover_minutes.value;
    if minutes == 0 {
        return Ok(None);
    }
    let until = s.clock.now() + TimeDelta::minutes(i64::from(minutes));
    let paused = chats::update(s, account, chat, ChatChange::PauseAi { until }).await?;
    Ok(paused.ai_paused_until)
}
