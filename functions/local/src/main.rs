//! The `switchboard` binary: wires the embedded adapters and runs a command.

mod cli;

use anyhow::{Context, Result, bail};
use clap::Parser;
use cli::{Cli, Command};
use std::time::Duration;
use switchboard::local_settings::{self, LocalSettings};
use switchboard::{serve, wiring};
use switchboard_core::auth::AdminTokens;
use switchboard_core::ports::QueueName;

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if local_settings::env_var("LOG_FORMAT").as_deref() == Some("json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Tokio's blocking pool runs DNS lookups and file I/O (the store's reads and writes have
/// threads of their own). Its default of 512 threads lets a burst start a thread each, and each
/// thread keeps memory after the burst; a few dozen keep the cores busy.
const BLOCKING_THREADS: usize = 16;

fn main() {
    let _ = dotenvy::dotenv();
    init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build();
    let outcome = match runtime {
        Ok(rt) => rt.block_on(run(Cli::parse())),
        Err(e) => Err(e.into()),
    };
    if let Err(e) = outcome {
        eprintln!("switchboard: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<()> {
    let env = |name: &str| std::env::var(name).ok();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve::run().await,
        Command::AdminToken { ttl_hours, subject } => {
            let local = LocalSettings::from_env(&env)?;
            let (settings, _) = wiring::settings(&local, &env)?;
            let (token, _) = AdminTokens::new(&settings)
                .mint(
                    &subject,
                    chrono::Utc::now(),
                    Duration::from_secs(ttl_hours * 3600),
                )
                .map_err(|e| anyhow::anyhow!("minting an admin token: {e}"))?;
            println!("{token}");
            Ok(())
        }
        Command::Redrive { queue } => {
            let Some(name) = QueueName::parse(&queue) else {
                bail!("unknown queue `{queue}`: expected ai-reply, outbound or webhook");
            };
            let local = LocalSettings::from_env(&env)?;
            let built = wiring::build(&local, &env)?;
            let moved = built.queue.redrive(name).await.context("redrive failed")?;
            println!("{moved} job(s) moved from the {queue} dead letters back to the queue");
            Ok(())
        }
    }
}
