//! Turning a conversation into a reply with the configuration in force: echo mode, or the LLM
//! with the API key opened just for the call.

use crate::domain::ai_settings::{EffectiveAi, SecretRef, secret_field};
use crate::domain::message::Message;
use crate::error::AppError;
use crate::ports::{ChatMessage, Completion, CompletionRequest, LlmError, Role, SecretContext};
use crate::services::Services;
use std::time::{Duration, Instant};

/// The system prompt, then the messages oldest first: the other party as `user`, the account
/// (its humans, the API and the AI) as `assistant`. Messages without text are left out.
pub fn conversation(effective: &EffectiveAi, newest_first: &[Message]) -> Vec<ChatMessage> {
    let mut out = vec![ChatMessage {
        role: Role::System,
        content: effective.system_prompt().to_string(),
    }];
    out.extend(newest_first.iter().rev().filter_map(|m| {
        let text = m.text.as_deref().filter(|t| !t.trim().is_empty())?;
        Some(ChatMessage {
            role: if m.from_me {
                Role::Assistant
            } else {
                Role::User
            },
            content: text.to_string(),
        })
    }));
    out
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
    let api_key = match &effective.api_key.value {
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
                .await
                .map_err(AppError::from)?,
        ),
        None => None,
    };
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
