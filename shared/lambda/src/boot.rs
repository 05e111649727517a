//! A function's init: logs, settings (parsed once; a bad one stops the start naming the
//! variable), clients built once and their connections opened.

use std::sync::Arc;
use switchboard_aws::{Adapters, AwsSettings};
use switchboard_core::Services;
use switchboard_core::services::AppState;
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
    let adapters = Adapters::new(&switchboard_aws::sdk::from_lambda_env(&env)?, &aws);
    adapters.warm_up().await;
    let network = switchboard_net::network(&settings).map_err(StartError::Client)?;
    Ok(Services::new(
        Arc::new(adapters.store),
        Arc::new(adapters.queue),
        Arc::new(adapters.cipher),
        network,
        settings,
    ))
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
