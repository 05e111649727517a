//! The `sandbox` provider: sends nowhere. Its outbound messages are stored and shown like any
//! other, which makes it the way to try the whole flow without a real channel.

use crate::domain::account::Account;
use crate::domain::chat::ChatJid;
use crate::ports::{Provider, ProviderError, ProviderReceipt};
use async_trait::async_trait;

pub struct SandboxProvider;

#[async_trait]
impl Provider for SandboxProvider {
    async fn send_text(
        &self,
        _account: &Account,
        _chat: &ChatJid,
        _text: &str,
        idempotency_key: &str,
    ) -> Result<ProviderReceipt, ProviderError> {
        // Derived from the send's key, so a retried send yields the same provider id.
        Ok(ProviderReceipt {
            provider_message_id: format!("sandbox-{idempotency_key}"),
        })
    }
}
