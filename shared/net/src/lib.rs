//! Adapters to the outside world over HTTP: the one guard of user-controlled URLs, the
//! OpenAI-compatible LLM client, the webhook sender, and one module per provider. Core holds
//! the ports these implement; this crate is the only one that builds an HTTP client.

pub mod guard;
mod http;
pub mod media;
pub mod openai;
pub mod providers;
pub mod webhooks;

use guard::UrlGuard;
use openai::OpenAiClient;
use std::sync::Arc;
use switchboard_core::services::Network;
use switchboard_core::settings::Settings;
use webhooks::WebhookClient;

/// What a deployment reaches over the network, every user-controlled address behind one guard.
pub fn network(settings: &Settings) -> Result<Network, String> {
    let guard = UrlGuard::new(settings.allow_private_network_urls);
    let llm = OpenAiClient::new(guard).map_err(|e| format!("building the LLM client: {e}"))?;
    let webhooks =
        WebhookClient::new(guard).map_err(|e| format!("building the webhook client: {e}"))?;
    let downloads = media::GuardedDownloads::new(guard)
        .map_err(|e| format!("building the media client: {e}"))?;
    Ok(Network {
        providers: providers::all(&settings.providers, guard)?,
        llm: Arc::new(llm),
        webhooks: Arc::new(webhooks),
        downloads: Arc::new(downloads),
    })
}
