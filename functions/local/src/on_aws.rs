//! `switchboard serve` on the AWS backends, when their variables are set (`TABLE_NAME`,
//! `KMS_KEY_ID` and the three queue URLs; `AWS_ENDPOINT_URL` for an emulator): the API, and a
//! consumer per SQS queue running the same jobs the Lambda functions run. One process against a
//! real or emulated deployment, to look at its data or run it without Lambda.

use crate::local_settings::LocalSettings;
use crate::wiring;
use anyhow::{Context, Result};
use std::sync::Arc;
use std::time::Duration;
use switchboard_aws::consumer::{self, Polling};
use switchboard_aws::{Adapters, AwsSettings, sdk};
use switchboard_core::Services;
use switchboard_core::dispatch;
use switchboard_core::ports::QueueName;
use switchboard_core::services::AppState;
use tokio::sync::watch;

/// Whether the environment names a deployment: any of its variables set.
pub fn configured(env: &dyn Fn(&str) -> Option<String>) -> bool {
    [
        "TABLE_NAME",
        "KMS_KEY_ID",
        "AI_REPLY_QUEUE_URL",
        "OUTBOUND_QUEUE_URL",
        "WEBHOOK_QUEUE_URL",
    ]
    .iter()
    .any(|name| env(name).is_some_and(|v| !v.trim().is_empty()))
}

/// How long a received job stays hidden, per queue (as the template's queues have it).
fn visibility(queue: QueueName) -> Duration {
    match queue {
        QueueName::AiReply => Duration::from_secs(3960),
        QueueName::Outbound => Duration::from_secs(180),
        QueueName::Webhook => Duration::from_secs(370),
    }
}

/// Starts the API and the consumers; returns the state, the address and what stops them.
pub async fn start(
    local: &LocalSettings,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(AppState, std::net::SocketAddr, Served)> {
    let aws = AwsSettings::from_env(&|name: &str| env(name))?;
    // The admin secret and the like, from the environment (or the data dir, generated).
    let (settings, _) = wiring::settings(local, env)?;
    // The SDK's whole provider chain: a profile, SSO or instance role, where a function has
    // only Lambda's environment.
    let sdk = aws_config::defaults(sdk::behavior_version())
        .http_client(sdk::https())
        .timeout_config(sdk::timeouts())
        .load()
        .await;
    let adapters = Adapters::new(&sdk, &aws);
    let network = switchboard_net::network(&settings).map_err(|e| anyhow::anyhow!(e))?;
    let sqs = adapters.queue.client().clone();
    let state = Services::new(
        Arc::new(adapters.store),
        Arc::new(adapters.queue),
        Arc::new(adapters.cipher),
        network,
        settings,
    );
    // An emulator (moto) answers one request at a time: a long poll would hold it.
    let polling = match env("AWS_ENDPOINT_URL") {
        Some(_) => Polling::Short(Duration::from_millis(200)),
        None => Polling::LONG,
    };
    let (stop, stopped) = watch::channel(false);
    let mut consumers = Vec::new();
    for queue in QueueName::ALL {
        let state = state.clone();
        let handler = move |body: String| {
            let state = state.clone();
            async move { dispatch::run(&state, &body).await }
        };
        consumers.push(tokio::spawn(consumer::consume(
            sqs.clone(),
            aws.clone(),
            queue,
            visibility(queue),
            polling,
            handler,
            stopped.clone(),
        )));
    }
    let listener = tokio::net::TcpListener::bind(local.addr)
        .await
        .with_context(|| format!("cannot listen on {} (SWITCHBOARD_ADDR)", local.addr))?;
    let addr = listener.local_addr()?;
    let app = switchboard_core::http::router(
        state.clone(),
        switchboard_mcp::routes(&state, switchboard_mcp::Reach::Direct)
            .merge(switchboard_dashboard::routes()),
    );
    let server =
        tokio::spawn(
            async move { crate::listen::serve(listener, app, std::future::pending()).await },
        );
    Ok((
        state,
        addr,
        Served {
            stop,
            consumers,
            server,
        },
    ))
}

pub struct Served {
    stop: watch::Sender<bool>,
    consumers: Vec<tokio::task::JoinHandle<()>>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Served {
    /// Serves until `shutdown`, then lets the consumers finish the jobs in hand.
    pub async fn until(self, shutdown: impl std::future::Future<Output = ()>) -> Result<()> {
        shutdown.await;
        self.server.abort();
        let _ = self.stop.send(true);
        for c in self.consumers {
            let _ = c.await;
        }
        Ok(())
    }
}
