//! The `sandbox` provider: sends nowhere. Its outbound messages are stored and shown like any
//! other, which makes it the way to try the whole flow without a real channel.

use async_trait::async_trait;
use switchboard_core::ports::{
    OutgoingText, Provider, ProviderAccount, ProviderError, ProviderReceipt,
};

pub struct SandboxProvider;

#[async_trait]
impl Provider for SandboxProvider {
    async fn send(
        &self,
        _account: &ProviderAccount,
        text: OutgoingText<'_>,
    ) -> Result<ProviderReceipt, ProviderError> {
        // Derived from the message, so a retried send yields the same provider id.
        Ok(ProviderReceipt {
            provider_message_id: format!("sandbox-{}", text.id),
        })
    }
}
