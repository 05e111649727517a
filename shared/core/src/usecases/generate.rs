//! Turning a conversation into a reply with the configuration in force: echo mode, or the LLM
//! with the API key opened just for the call.

use crate::domain::ai_settings::{EffectiveAi, SecretRef, secret_field};
use crate::domain::ids::MessageId;
use crate::domain::media::{MediaKind, MediaStatus};
use crate::domain::message::Message;
use crate::error::AppError;
use crate::ports::{
    ChatMessage, Completion, CompletionRequest, Image, LlmError, Role, SecretContext,
};
use crate::services::Services;
use secrecy::SecretString;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The system prompt, then the messages oldest first: the other party as `user`, the account
/// (its humans, the API and the AI) as `assistant`. A medium is a line naming it, with what was
/// heard or seen of it; an image of the burst being answered goes with its message as an image
/// (`images`). Messages with neither text nor media are left out.
pub fn conversation(
    effective: &EffectiveAi,
    newest_first: &[Message],
    mut images: HashMap<MessageId, Vec<Image>>,
) -> Vec<ChatMessage> {
    let mut out = vec![ChatMessage::text(Role::System, effective.system_prompt())];
    out.extend(newest_first.iter().rev().filter_map(|m| {
        let mut message = ChatMessage::text(
            if m.from_me {
                Role::Assistant
            } else {
                Role::User
            },
            line(m)?,
        );
        message.images = images.remove(&m.id).unwrap_or_default();
        Some(message)
    }));
    out
}

/// What the conversation says of a message: its text, after a line naming its medium.
fn line(m: &Message) -> Option<String> {
    let text = m.text.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let Some(media) = &m.media else {
        return text.map(str::to_string);
    };
    let named = match (media.kind, &media.transcript, &media.description) {
        (MediaKind::Audio, Some(heard), _) => format!("[{}] {heard}", media.label()),
        (MediaKind::Image, _, Some(seen)) => format!("[image: {seen}]"),
        // Tried and failed: said so, so the model can ask the customer to write instead.
        (MediaKind::Audio, None, None)
            if media.status == MediaStatus::Failed || media.error.is_some() =>
        {
            format!("[{}: could not be transcribed]", media.label())
        }
        (MediaKind::Image, None, None)
            if media.status == MediaStatus::Failed || media.error.is_some() =>
        {
            "[image: could not be seen]".to_string()
        }
        _ => format!("[{}]", media.label()),
    };
    Some(match text {
        Some(caption) => format!("{named} {caption}"),
        None => named,
    })
}

/// The model a reply is credited to: `echo` in echo mode, which calls none.
pub fn model_label(effective: &EffectiveAi) -> String {
    if effective.echo_mode.value {
        "echo".into()
    } else {
        effective.model_name.value.clone()
    }
}

#[derive(Debug)]
pub struct Generated {
    pub completion: Completion,
    pub latency_ms: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error(transparent)]
    Llm(#[from] LlmError),
    #[error(transparent)]
    App(#[from] AppError),
}

/// Generates a reply to the last message of `messages`. In echo mode the reply is that
/// message's text and nothing is called.
pub async fn generate(
    s: &Services,
    effective: &EffectiveAi,
    messages: Vec<ChatMessage>,
) -> Result<Generated, GenerateError> {
    generate_as(s, effective, messages, None).await
}

/// `generate`, asking for the answer in `response_format` (OpenAI's field).
pub async fn generate_as(
    s: &Services,
    effective: &EffectiveAi,
    messages: Vec<ChatMessage>,
    response_format: Option<serde_json::Value>,
) -> Result<Generated, GenerateError> {
    let started = Instant::now();
    if effective.echo_mode.value {
        let text = messages
            .last()
            .filter(|m| m.role == Role::User)
            .map(|m| m.content.clone())
            .unwrap_or_default();
        return Ok(Generated {
            completion: Completion {
                text,
                prompt_tokens: None,
                completion_tokens: None,
            },
            latency_ms: started.elapsed().as_millis() as u64,
        });
    }
    let api_key = open_secret(s, &effective.api_key.value).await?;
    let completion = s
        .network
        .llm
        .complete(CompletionRequest {
            base_url: effective.base_url.value.clone(),
            api_key,
            model: effective.model_name.value.clone(),
            messages,
            temperature: effective.temperature.value,
            max_tokens: effective.max_tokens.value,
            response_format,
            timeout: Duration::from_secs(u64::from(effective.timeout_seconds.value)),
        })
        .await?;
    Ok(Generated {
        completion,
        latency_ms: started.elapsed().as_millis() as u64,
    })
}

/// A secret setting opened for one request: from the environment, or unsealed.
pub async fn open_secret(
    s: &Services,
    secret: &Option<SecretRef>,
) -> Result<Option<SecretString>, AppError> {
    Ok(match secret {
        Some(SecretRef::Env(key)) => Some(key.clone()),
        Some(SecretRef::Sealed {
            owner,
            field,
            sealed,
        }) => Some(
            s.cipher
                .open(
                    sealed,
                    &SecretContext::new(owner.as_str(), secret_field(field)),
                )
                .await?,
        ),
        None => None,
    })
}
