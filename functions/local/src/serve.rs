//! `switchboard serve`: the API, and a worker per queue, in one process.

use crate::local_settings::LocalSettings;
use crate::wiring::{self, Local};
use anyhow::{Context, Result, bail};
use secrecy::{ExposeSecret, SecretString};
use std::fs::{File, TryLockError};
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use switchboard_core::dispatch;
use switchboard_core::domain::ids::AccountId;
use switchboard_core::domain::provider::{ProviderConfigPatch, ProviderKind};
use switchboard_core::ports::Clock;
use switchboard_core::ports::QueueName;
use switchboard_core::services::AppState;
use switchboard_core::usecases::accounts::{self, NewAccount};
use switchboard_embedded::worker::{self, JobHandler, WorkerConfig};
use switchboard_embedded::{EmbeddedQueue, EmbeddedStore};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Per queue: jobs in flight at once, and how long a received job stays hidden (longer than the
/// slowest run: an LLM call may take up to 300 s, a webhook attempt 15 s). One worker per queue
/// runs its jobs side by side: that keeps the queues drained without taking the cores from the
/// API under a burst of inbound messages (two workers per queue cut ingest throughput by half).
/// The webhook queue runs more at once: a hanging endpoint holds a few of its places (see
/// `EndpointGate`) while the others keep being served.
const QUEUES: [(QueueName, usize, Duration); 3] = [
    (QueueName::AiReply, 10, Duration::from_secs(360)),
    (QueueName::Outbound, 10, Duration::from_secs(60)),
    (QueueName::Webhook, 64, Duration::from_secs(60)),
];

/// A started server: the API is listening and the workers are running.
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    pub queue: Arc<EmbeddedQueue>,
    /// On first start: the ready `sandbox` account and its token.
    pub sandbox: Option<(AccountId, SecretString)>,
    stop: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    workers: Vec<JoinHandle<()>>,
    _data_dir_lock: File,
}

pub fn spawn_workers(
    state: &AppState,
    queue: &Arc<EmbeddedQueue>,
    stopped: &watch::Receiver<bool>,
    queues: &[QueueName],
) -> Vec<JoinHandle<()>> {
    let mut workers = Vec::new();
    for (name, batch, visibility) in QUEUES.into_iter().filter(|(q, _, _)| queues.contains(q)) {
        let state = state.clone();
        let handler: JobHandler = Arc::new(move |body: String| {
            let state = state.clone();
            Box::pin(async move { dispatch::run(&state, &body).await })
        });
        let config = WorkerConfig {
            queue: name,
            batch,
            visibility,
        };
        workers.push(tokio::spawn(worker::run(
            queue.clone(),
            config,
            handler,
            stopped.clone(),
        )));
    }
    workers
}

/// Opens the data dir, starts the workers and the listener, and (on first start) creates the
/// sandbox account. `shutdown` resolving stops the server gracefully.
pub async fn start(
    local: &LocalSettings,
    env: &dyn Fn(&str) -> Option<String>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Running> {
    start_with_workers(local, env, shutdown, &QueueName::ALL).await
}

/// `start`, with workers on the given queues only (tests read the others' jobs directly).
pub async fn start_with_workers(
    local: &LocalSettings,
    env: &dyn Fn(&str) -> Option<String>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    queues: &[QueueName],
) -> Result<Running> {
    // One server per data dir, locked before anything in it is touched: its workers then hold
    // every job received in it, so the jobs a server that died held are taken back at once
    // instead of after their visibility timeout.
    let data_dir_lock = lock_data_dir(&local.data_dir)?;
    let Local {
        state,
        queue,
        store,
        created,
    } = wiring::build(local, env)?;
    let taken = queue
        .take_back_received()
        .await
        .context("taking back the jobs of the previous server")?;
    // What those jobs had claimed (a reply being generated) is theirs to take again now.
    let released = store
        .release_claims_of_earlier_runs()
        .await
        .context("releasing the claims of the previous server")?;
    if taken > 0 || released > 0 {
        tracing::info!(
            jobs = taken,
            claims = released,
            "work in progress when the previous server stopped runs again"
        );
    }

    let listener = tokio::net::TcpListener::bind(local.addr)
        .await
        .with_context(|| format!("cannot listen on {} (SWITCHBOARD_ADDR)", local.addr))?;
    let addr = listener.local_addr()?;

    let (stop, stopped) = watch::channel(false);
    let mut workers = spawn_workers(&state, &queue, &stopped, queues);
    workers.push(tokio::spawn(keep_counts(store.clone(), stopped.clone())));
    workers.push(tokio::spawn(housekeeping(
        store,
        state.clock.clone(),
        stopped.clone(),
    )));

    let sandbox = if created {
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

    let app = switchboard_core::http::router(
        state.clone(),
        switchboard_mcp::routes(&state, switchboard_mcp::Reach::Direct)
            .merge(switchboard_dashboard::routes()),
    );
    let server = tokio::spawn(async move { crate::listen::serve(listener, app, shutdown).await });
    Ok(Running {
        addr,
        state,
        queue,
        sandbox,
        stop,
        server,
        workers,
        _data_dir_lock: data_dir_lock,
    })
}

/// How often the activity counts gathered in memory are written.
const COUNTS_EVERY: Duration = Duration::from_secs(1);

/// Writes the activity counts every second, and once more when the server stops.
async fn keep_counts(store: Arc<EmbeddedStore>, mut stopped: watch::Receiver<bool>) {
    loop {
        let stopping = tokio::select! {
            _ = stopped.changed() => true,
            () = tokio::time::sleep(COUNTS_EVERY) => false,
        };
        if let Err(error) = store.flush_activity().await {
            tracing::warn!(%error, "activity counts not written");
        }
        if stopping {
            return;
        }
    }
}

/// How often the embedded store drops what no request can use any more.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(3600);

/// Purges expired claims and idempotency records every hour, until the server stops.
async fn housekeeping(
    store: Arc<EmbeddedStore>,
    clock: Arc<dyn Clock>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        match store.purge_expired(clock.now()).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "expired claims and idempotency records purged"),
            Err(error) => tracing::warn!(%error, "purging expired records failed"),
        }
        tokio::select! {
            _ = stopped.changed() => return,
            () = tokio::time::sleep(HOUSEKEEPING_EVERY) => {}
        }
    }
}

/// Locks the data dir for this server until the returned file is dropped (or the process ends).
fn lock_data_dir(dir: &Path) -> Result<File> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the data dir {}", dir.display()))?;
    let path = dir.join("serve.lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => bail!(
            "another `switchboard serve` is running on the data dir {} (SWITCHBOARD_DATA_DIR)",
            dir.display()
        ),
        Err(TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

impl Running {
    /// Waits for the server to stop, then lets the workers finish the job in hand.
    pub async fn wait(self) -> Result<()> {
        let served = self.server.await.context("server task failed")?;
        let _ = self.stop.send(true);
        for w in self.workers {
            let _ = w.await;
        }
        served.context("server failed")
    }
}

pub async fn run() -> Result<()> {
    let env = |name: &str| std::env::var(name).ok();
    let local = LocalSettings::from_env(&env)?;
    if crate::on_aws::configured(&env) {
        return run_on_aws(&local, &env).await;
    }
    let running = start(&local, &env, shutdown_signal()).await?;
    let (admin_token, expires) = running
        .state
        .admin_tokens
        .mint(
            "admin",
            running.state.clock.now(),
            Duration::from_secs(12 * 3600),
        )
        .map_err(|e| anyhow::anyhow!("minting an admin token: {e}"))?;
    let addr = running.addr;
    println!("Switchboard is listening on http://{addr}");
    println!("  dashboard:    http://{addr}/dashboard/");
    println!("  API document: http://{addr}/openapi.json");
    println!("  data dir:     {}", local.data_dir.display());
    println!(
        "  admin token (expires {}):\n    {admin_token}",
        expires.to_rfc3339()
    );
    match &running.sandbox {
        Some((id, token)) => println!(
            "  sandbox account {id} token (shown once; rotate with POST /v1/accounts/{id}/token):\n    {}",
            token.expose_secret()
        ),
        None => println!(
            "  the sandbox account's token was shown at first start; rotate it with POST /v1/accounts/{{id}}/token"
        ),
    }
    running.wait().await
}

/// `serve` against a deployment's table, queues and key.
async fn run_on_aws(local: &LocalSettings, env: &dyn Fn(&str) -> Option<String>) -> Result<()> {
    let (state, addr, served) = crate::on_aws::start(local, env).await?;
    let (admin_token, expires) = state
        .admin_tokens
        .mint("admin", state.clock.now(), Duration::from_secs(12 * 3600))
        .map_err(|e| anyhow::anyhow!("minting an admin token: {e}"))?;
    println!("Switchboard is listening on http://{addr}, on the AWS backends");
    println!("  dashboard:    http://{addr}/dashboard/");
    println!("  API document: http://{addr}/openapi.json");
    println!("  table:        {}", env("TABLE_NAME").unwrap_or_default());
    println!(
        "  admin token (expires {}):\n    {admin_token}",
        expires.to_rfc3339()
    );
    served.until(shutdown_signal()).await
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
