//! `switchboard serve`: the API, and a worker per queue, in one process.

use crate::local_settings::LocalSettings;
use crate::wiring::{self, Local};
use anyhow::{Context, Result};
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Duration;
use switchboard_core::domain::provider::{ProviderConfigPatch, ProviderKind};
use switchboard_core::jobs;
use switchboard_core::ports::QueueName;
use switchboard_core::usecases::accounts::{self, NewAccount};
use switchboard_embedded::worker::{self, JobHandler, WorkerConfig};
use tokio::sync::watch;

/// Workers per queue, and how long a received job stays hidden (longer than the slowest run:
/// an LLM call may take up to 300 s).
const QUEUES: [(QueueName, usize, Duration); 3] = [
    (QueueName::AiReply, 2, Duration::from_secs(360)),
    (QueueName::Outbound, 2, Duration::from_secs(60)),
    (QueueName::Webhook, 2, Duration::from_secs(60)),
];

pub async fn run() -> Result<()> {
    let local = LocalSettings::from_env()?;
    let Local {
        state,
        queue,
        first_start,
    } = wiring::build(&local)?;

    let listener = tokio::net::TcpListener::bind(local.addr)
        .await
        .with_context(|| format!("cannot listen on {} (SWITCHBOARD_ADDR)", local.addr))?;
    let addr = listener.local_addr()?;

    let (stop, stopped) = watch::channel(false);
    let mut workers = Vec::new();
    for (name, count, visibility) in QUEUES {
        for _ in 0..count {
            let state = state.clone();
            let handler: JobHandler = Arc::new(move |body: String| {
                let state = state.clone();
                Box::pin(async move { jobs::run(&state, &body).await })
            });
            let config = WorkerConfig {
                queue: name,
                batch: 10,
                visibility,
            };
            workers.push(tokio::spawn(worker::run(queue.clone(), config, handler, stopped.clone())));
        }
    }

    let sandbox_token = if first_start {
        let created = accounts::create(
            &state,
            NewAccount {
                name: "sandbox".into(),
                provider: ProviderKind::Sandbox,
                provider_config: ProviderConfigPatch::default(),
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("creating the sandbox account: {e}"))?;
        Some((created.account.id, created.token))
    } else {
        None
    };
    let (admin_token, expires) = state
        .admin_tokens
        .mint("admin", state.clock.now(), Duration::from_secs(12 * 3600))
        .map_err(|e| anyhow::anyhow!("minting an admin token: {e}"))?;

    println!("Switchboard is listening on http://{addr}");
    println!("  dashboard:    http://{addr}/dashboard/");
    println!("  API document: http://{addr}/openapi.json");
    println!("  data dir:     {}", local.data_dir.display());
    println!("  admin token (expires {}):\n    {admin_token}", expires.to_rfc3339());
    match &sandbox_token {
        Some((id, token)) => println!(
            "  sandbox account {id} token (shown once; rotate with POST /v1/accounts/{id}/token):\n    {}",
            token.expose_secret()
        ),
        None => println!("  (the sandbox account's token was shown at first start; rotate it with POST /v1/accounts/{{id}}/token)"),
    }

    let app = switchboard_core::http::router(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("server failed")?;
    let _ = stop.send(true);
    for w in workers {
        let _ = w.await;
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutting down: finishing requests and jobs in progress");
}
