//! One module per provider: each verifies and reads its channel's inbound webhooks and sends
//! through its API. `all` is the registry a deployment uses.

mod sandbox;

use std::sync::Arc;
use switchboard_core::domain::provider::ProviderKind;
use switchboard_core::ports::Providers;

pub use sandbox::SandboxProvider;

/// Every provider this build can reach.
pub fn all() -> Providers {
    Providers::default().with(ProviderKind::Sandbox, Arc::new(SandboxProvider))
}
