//! One module per provider: each verifies and reads its channel's inbound webhooks and sends
//! through its API. `all` is the registry a deployment uses. (A relay phone has no provider
//! here: nothing is pushed to it; it pulls its outbox.)

mod bridge;
mod email;
mod sandbox;
mod telegram_bot;
mod whatsapp_cloud;

use crate::guard::UrlGuard;
use std::sync::Arc;
use switchboard_core::domain::provider::ProviderKind;
use switchboard_core::ports::Providers;
use switchboard_core::settings::ProviderSettings;

pub use bridge::Bridge;
pub use email::Email;
pub use sandbox::SandboxProvider;
pub use telegram_bot::TelegramBot;
pub use whatsapp_cloud::WhatsappCloud;

/// Every provider this build can reach; user-controlled addresses (a bridge, an SMTP server)
/// go through `guard`, the providers' own APIs do not.
pub fn all(settings: &ProviderSettings, guard: UrlGuard) -> Result<Providers, String> {
    Ok(Providers::default()
        .with(ProviderKind::Sandbox, Arc::new(SandboxProvider))
        .with(
            ProviderKind::WhatsappCloud,
            Arc::new(WhatsappCloud::new(settings)?),
        )
        .with(
            ProviderKind::TelegramBot,
            Arc::new(TelegramBot::new(settings)?),
        )
        .with(ProviderKind::Bridge, Arc::new(Bridge::new(guard)?))
        .with(ProviderKind::Email, Arc::new(Email::new(guard))))
}
