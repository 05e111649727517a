//! Builds the application on the embedded adapters from the settings.

use crate::local_settings::{LocalSecrets, LocalSettings};
use anyhow::{Context, Result};
use std::sync::Arc;
use switchboard_core::Services;
use switchboard_core::services::AppState;
use switchboard_core::settings::Settings;
use switchboard_embedded::{EmbeddedQueue, EmbeddedStore, Keyring};

pub struct Local {
    pub state: AppState,
    pub queue: Arc<EmbeddedQueue>,
    /// The same store as `state`'s, for what only the embedded one does (housekeeping).
    pub store: Arc<EmbeddedStore>,
    /// The data dir's database was created by this start.
    pub created: bool,
}

/// The shared settings and the keyring, with local secrets generated where missing.
/// `env` reads settings (the process environment in the binary; a map in tests).
pub fn settings(
    local: &LocalSettings,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Settings, Keyring)> {
    let secrets = LocalSecrets::load_or_generate(&local.data_dir, env)?;
    let source = secrets.source();
    // Providers are told to call back where this process listens, unless the operator says
    // where it is reached from outside.
    let listening = format!("http://{}", local.addr);
    let source =
        |name: &str| source(name).or_else(|| (name == "PUBLIC_API_URL").then(|| listening.clone()));
    let settings = Settings::from_env(&source, true)?;
    let keyring = Keyring::from_base64(
        &secrets
            .var("ENCRYPTION_KEY")
            .context("setting ENCRYPTION_KEY is missing")?,
        secrets.var("ENCRYPTION_KEYS_OLD").as_deref(),
    )
    .map_err(|e| anyhow::anyhow!("setting {e}"))?;
    Ok((settings, keyring))
}

pub fn build(local: &LocalSettings, env: &dyn Fn(&str) -> Option<String>) -> Result<Local> {
    let (settings, keyring) = self::settings(local, env)?;
    let embedded = switchboard_embedded::open(&local.data_dir)?;
    let network = switchboard_net::network(&settings).map_err(|e| anyhow::anyhow!(e))?;
    let state = Services::new(
        embedded.store.clone(),
        embedded.queue.clone(),
        Arc::new(keyring),
        network,
        settings,
    );
    Ok(Local {
        state,
        queue: embedded.queue,
        store: embedded.store,
        created: embedded.created,
    })
}
