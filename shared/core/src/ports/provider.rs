//! Providers carry messages to and from a channel (WhatsApp Cloud, Telegram, a bridge ...).

use crate::domain::account::Account;
use crate::domain::chat::ChatJid;
use crate::domain::provider::ProviderKind;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderReceipt {
    pub provider_message_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// Worth retrying (timeouts, 5xx, throttling).
    #[error("temporary provider failure: {0}")]
    Temporary(String),
    /// Retrying will not help (bad credentials, unknown chat, unsupported provider).
    #[error("provider refused: {0}")]
    Permanent(String),
}

#[async_trait]
pub trait Provider: Send + Sync {
    /// Sends a text. `idempotency_key` is stable across retries of one send, for providers that
    /// can dedupe on it.
    async fn send_text(
        &self,
        account: &Account,
        chat: &ChatJid,
        text: &str,
        idempotency_key: &str,
    ) -> Result<ProviderReceipt, ProviderError>;

    /// Shows "typing…" in the chat where the channel supports it.
    async fn show_typing(&self, _account: &Account, _chat: &ChatJid) -> Result<(), ProviderError> {
        Ok(())
    }
}

/// The providers this deployment can send through, by kind.
#[derive(Clone, Default)]
pub struct Providers(HashMap<ProviderKind, Arc<dyn Provider>>);

impl Providers {
    pub fn with(mut self, kind: ProviderKind, provider: Arc<dyn Provider>) -> Self {
        self.0.insert(kind, provider);
        self
    }

    pub fn get(&self, kind: ProviderKind) -> Result<&Arc<dyn Provider>, ProviderError> {
        self.0.get(&kind).ok_or_else(|| {
            ProviderError::Permanent(format!(
                "sending through {} is not available",
                kind.as_str()
            ))
        })
    }
}
