//! A function's init: logs, settings (parsed once; a bad one stops the start naming the
//! variable), clients built once and their connections opened.

use std::sync::Arc;
use switchboard_aws::{Adapters, AwsSettings};
use switchboard_core::Services;
use switchboard_core::ports::{SystemClock, UlidGen};
use switchboard_core::services::{AppState, Backends, NetworkClients};
use switchboard_core::settings::Settings;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Setting(#[from] switchboard_core::settings::SettingsError),
    #[error("{0}")]
    Client(String),
}

pub async fn start() -> Result<AppState, StartError> {
    init_logs();
    let env = |name: &str| std::env::var(name).ok();
    // Private addresses are refused unless the operator allows them.
    let settings = Settings::from_env(&env, false)?;
    let aws = AwsSettings::from_env(&env)?;
    let adapters = Adapters::connect(&aws).await;
    adapters.warm_up().await;
    let net = NetworkClients::new(&settings).map_err(StartError::Client)?;
    let backends = Backends {
        store: Arc::new(adapters.store),
        queue: Arc::new(adapters.queue),
        cipher: Arc::new(adapters.cipher),
        clock: Arc::new(SystemClock),
        ids: Arc::new(UlidGen::default()),
        providers: net.providers,
        llm: net.llm,
        webhooks: net.webhooks,
    };
    Ok(Services::new(backends, settings))
}

/// JSON lines for CloudWatch (its own timestamp is enough), at the level `RUST_LOG` names
/// (`error`, `warn`, `info`, `debug`, `trace`; `info` otherwise).
fn init_logs() {
    let level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.trim().parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::INFO);
    let _ = tracing_subscriber::fmt()
        .json()
        .with_max_level(level)
        .with_ansi(false)
        .without_time()
        .with_current_span(false)
        .try_init();
}
