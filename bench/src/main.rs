//! Measures the figures in BENCHMARKS.md against the release `switchboard` binary:
//! start to healthy, idle and loaded RSS, and ingest throughput and latency at several
//! concurrency levels (each request persisted and queued before its 202).

mod client_api;
mod media;
mod replies;
mod slowloris;
mod templates;
mod webhooks;
mod whatsapp;

use anyhow::{Context, Result, bail};
use clap::Parser;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use switchboard_tests::ServerProcess;
use switchboard_tests::fake_graph::FakeGraph;
use switchboard_tests::fake_llm::{Behaviour, FakeLlm};
use switchboard_tests::server::rss_kib;

#[derive(Parser)]
#[command(about = "Switchboard benchmarks (see BENCHMARKS.md)")]
struct Args {
    /// The switchboard binary to measure.
    #[arg(long, default_value = "target/release/switchboard")]
    binary: PathBuf,
    /// Seconds of load per concurrency level.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Concurrent clients, comma-separated.
    #[arg(long, default_value = "1,16,128", value_delimiter = ',')]
    clients: Vec<usize>,
    /// Process starts to time.
    #[arg(long, default_value_t = 10)]
    starts: usize,
    /// Chats in parallel for the AI reply overhead, comma-separated.
    #[arg(long, default_value = "1,32,32,32", value_delimiter = ',')]
    reply_chats: Vec<usize>,
    /// Messages per second offered at each reply level (all chats together), comma-separated.
    #[arg(long, default_value = "50,250,500,700", value_delimiter = ',')]
    reply_rates: Vec<f64>,
    /// Reply levels with all chats writing at the same instant (bursts), instead of in turns.
    #[arg(long)]
    aligned: bool,
    /// Webhook deliveries per scenario (events = deliveries / subscriptions).
    #[arg(long, default_value_t = 6000)]
    webhook_deliveries: usize,
    /// Concurrent senders of signed WhatsApp notifications, comma-separated.
    #[arg(long, default_value = "1,16", value_delimiter = ',')]
    whatsapp_clients: Vec<usize>,
    /// Chats in parallel for the WhatsApp reply latency, comma-separated.
    #[arg(long, default_value = "1,32,32", value_delimiter = ',')]
    whatsapp_chats: Vec<usize>,
    /// Messages per second offered at each WhatsApp reply level, comma-separated (one number
    /// takes 80 a second: the chats are spread over `whatsapp_numbers`).
    #[arg(long, default_value = "20,200,300", value_delimiter = ',')]
    whatsapp_rates: Vec<f64>,
    /// Business numbers (accounts) the WhatsApp reply chats are spread over.
    #[arg(long, default_value_t = 4)]
    whatsapp_numbers: usize,
    /// Concurrent assistants (a key each) sending through `POST /api/v1/messages`.
    #[arg(long, default_value = "1,16", value_delimiter = ',')]
    client_api_clients: Vec<usize>,
    /// Concurrent assistants calling the MCP server's `send_message`.
    #[arg(long, default_value = "1,16", value_delimiter = ',')]
    mcp_clients: Vec<usize>,
    /// Only the client messages API and MCP figures.
    #[arg(long)]
    client_api_only: bool,
    /// Slowloris connections (one header byte a second each) beside an ordinary client; 0: none.
    #[arg(long, default_value_t = 500)]
    slowloris: usize,
    /// New silent connections a second during the slowloris, never closed by the client.
    #[arg(long, default_value_t = 50)]
    slowloris_opening: usize,
    /// Seconds the slowloris lasts.
    #[arg(long, default_value_t = 30)]
    slowloris_seconds: u64,
    /// Only the slowloris figures.
    #[arg(long)]
    slowloris_only: bool,
    /// Voice notes of 1 MB a second for the media path's latency (each in its own chat).
    #[arg(long, default_value_t = 50.0)]
    media_rate: f64,
    /// Voice notes of 16 MB sent at once for the media path's memory.
    #[arg(long, default_value_t = 100)]
    media_burst: usize,
    /// Only the media figures.
    #[arg(long)]
    media_only: bool,
    /// Template lists asked a second (`GET /v1/accounts/{id}/templates`).
    #[arg(long, default_value_t = 500.0)]
    template_list_rate: f64,
    /// Concurrent assistants sending templates (and, beside them, texts).
    #[arg(long, default_value = "1,16", value_delimiter = ',')]
    template_clients: Vec<usize>,
    /// Only the template figures.
    #[arg(long)]
    templates_only: bool,
    /// Only the ingest figures (with the server's own workers deciding on each message).
    #[arg(long)]
    ingest_only: bool,
}

/// The templates section: lists at a fixed rate against the cache, with the fake Graph API's
/// list calls counted; then, per client level, template sends and text sends, each on a fresh
/// server (so that neither pays for the other's backlog).
async fn templates_section(args: &Args, dir: &Path) -> Result<String> {
    std::fs::create_dir_all(dir)?;
    let graph = FakeGraph::start().await;
    let settings = [("WHATSAPP_API_BASE_URL", graph.base_url.as_str())];
    let http = reqwest::Client::new();
    let (mut server, _) = start_with(&args.binary, &dir.join("lists"), &settings)?;
    let (admin, _, _) = credentials(&mut server)?;
    let account = templates::account(&http, &server.base, &admin, &graph).await?;
    let rate = args.template_list_rate;
    let l = templates::lists(&server.base, &admin, &account, &graph, rate, args.seconds).await?;
    drop(server);
    let mut out = format!(
        "## WhatsApp templates, {} s per level\n\n\
         | what | asked | answered | per s | p50 ms | p99 ms | Graph list calls |\n|---|---|---|---|---|---|---|\n\
         | `GET /v1/accounts/{{id}}/templates` at {rate:.0}/s | {} | {} | {:.0} | {} | {} | {} |\n\n\
         | `POST /api/v1/messages` | clients | sends | errors | sends/s | p50 ms | p99 ms |\n|---|---|---|---|---|---|---|\n",
        args.seconds,
        l.asked,
        l.answered,
        l.per_second,
        ms(l.p50),
        ms(l.p99),
        l.graph_calls
    );
    for &clients in &args.template_clients {
        for (name, template) in [("template (`wa`)", true), ("text (`sms`)", false)] {
            let tag = format!("{clients}-{template}");
            let (mut server, _) = start_with(&args.binary, &dir.join(tag), &settings)?;
            let (admin, sandbox, _) = credentials(&mut server)?;
            let keys = client_api::keys(&http, &server.base, &admin, clients).await?;
            let (phone, body): (String, client_api::Body) = if template {
                let wa = templates::account(&http, &server.base, &admin, &graph).await?;
                (wa, templates::template_order)
            } else {
                (sandbox, client_api::sms_order)
            };
            let door = client_api::Door::Rest;
            let r = client_api::run(
                &server.base,
                &keys,
                &phone,
                door,
                body,
                clients,
                args.seconds,
            )
            .await?;
            out.push_str(&r.row(name));
        }
    }
    out.push_str(&format!(
        "\nGraph API list calls over the whole section (one cache per server): {}.\n",
        graph.template_lists().len()
    ));
    Ok(out)
}

/// The media section: voice notes through WhatsApp at `media_rate`, then a burst, on a fresh
/// server each, with the fake Graph API and the fake LLM (transcription included) in this
/// process.
async fn media_section(args: &Args, dir: &Path) -> Result<String> {
    std::fs::create_dir_all(dir)?;
    let (graph, llm) = (FakeGraph::start().await, FakeLlm::start().await);
    let http = reqwest::Client::new();
    let settings = [("WHATSAPP_API_BASE_URL", graph.base_url.as_str())];
    let mut out = String::from(
        "## Media: WhatsApp voice notes → download (Graph API, two steps) → transcription → reply at the Graph API, zero-latency fakes\n\n\
         | voice notes | MB each | offered /s | p50 ms | p99 ms | server peak RSS MiB |\n|---|---|---|---|---|---|\n",
    );
    let levels = [
        (
            (args.media_rate * args.seconds as f64) as usize,
            1_000_000,
            args.media_rate,
            "1",
        ),
        (args.media_burst, 16_000_000, f64::INFINITY, "2"),
    ];
    for (notes, bytes, rate, tag) in levels {
        let (mut server, _) = start_with(&args.binary, &dir.join(tag), &settings)?;
        let (admin, _, _) = credentials(&mut server)?;
        let number = "106540352242999";
        let account = whatsapp::account(&http, &server.base, &admin, number).await?;
        replies::configure(&http, &server.base, &admin, &llm.base_url).await?;
        let pid = server.child.id();
        let r = media::run(
            &server.base,
            &account,
            number,
            &graph,
            pid,
            notes,
            bytes,
            rate,
            tag,
        )
        .await?;
        out.push_str(&format!(
            "| {} | {:.0} | {} | {} | {} | {:.1} |\n",
            r.notes,
            r.megabytes,
            if r.offered.is_finite() {
                format!("{:.0}", r.offered)
            } else {
                "all at once".into()
            },
            ms(r.p50),
            ms(r.p99),
            r.peak_rss_kib as f64 / 1024.0
        ));
        drop(server);
    }
    Ok(out)
}

/// The slowloris section, on a fresh server.
async fn slowloris_section(args: &Args, dir: &Path) -> Result<String> {
    let (mut server, _) = start(&args.binary, dir)?;
    let (_, account, token) = credentials(&mut server)?;
    let idle_fds = std::fs::read_dir(format!("/proc/{}/fd", server.child.id()))?.count();
    let r = slowloris::run(
        &server.base,
        &account,
        &token,
        server.child.id(),
        args.slowloris,
        args.slowloris_opening,
        args.slowloris_seconds,
    )
    .await?;
    Ok(format!(
        "## Slowloris: {} connections sending one header byte a second and {} new silent ones a second, beside one ingest client, {} s\n\n\
         | attack connections opened | ingest requests | errors | p50 ms | p99 ms | server fds idle | server fds peak |\n|---|---|---|---|---|---|---|\n\
         | {} | {} | {} | {} | {} | {} | {} |\n",
        r.attackers,
        r.opening,
        r.seconds,
        r.attack_connections,
        r.requests,
        r.errors,
        ms(r.p50),
        ms(r.p99),
        idle_fds,
        r.peak_fds
    ))
}

/// The client messages API and MCP section, measured on a fresh server.
async fn client_api_section(args: &Args, dir: &Path) -> Result<String> {
    let (mut server, _) = start(&args.binary, dir)?;
    let (admin, phone, _) = credentials(&mut server)?;
    let http = reqwest::Client::new();
    let most = args
        .client_api_clients
        .iter()
        .chain(&args.mcp_clients)
        .copied()
        .max()
        .unwrap_or(1);
    let keys = client_api::keys(&http, &server.base, &admin, most).await?;
    let mut out = format!(
        "## Client messages API: accepted sends, {} s per level\n\n\
         | door | clients | sends | errors | sends/s | p50 ms | p99 ms |\n|---|---|---|---|---|---|---|\n",
        args.seconds
    );
    let doors = [
        (
            "`POST /api/v1/messages`",
            client_api::Door::Rest,
            &args.client_api_clients,
        ),
        (
            "MCP `send_message`",
            client_api::Door::Mcp,
            &args.mcp_clients,
        ),
    ];
    for (name, door, levels) in doors {
        for &clients in levels {
            let body = client_api::sms_order;
            let r = client_api::run(
                &server.base,
                &keys,
                &phone,
                door,
                body,
                clients,
                args.seconds,
            )
            .await?;
            out.push_str(&r.row(name));
        }
    }
    Ok(out)
}

/// Starts the binary on `data_dir` with `env`, and how long it took to answer `/healthz`.
fn start_with(
    binary: &Path,
    data_dir: &Path,
    env: &[(&str, &str)],
) -> Result<(ServerProcess, Duration)> {
    ServerProcess::launch(binary, data_dir, env)
        .with_context(|| format!("starting {}", binary.display()))
}

fn start(binary: &Path, data_dir: &Path) -> Result<(ServerProcess, Duration)> {
    start_with(binary, data_dir, &[])
}

/// The admin token and the sandbox account's id and token a first start prints.
fn credentials(server: &mut ServerProcess) -> Result<(String, String, String)> {
    let (account, token) = server.sandbox()?;
    let admin = server
        .printed_after("admin token")
        .context("no admin token")?;
    Ok((admin, account, token))
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

struct LoadResult {
    clients: usize,
    requests: usize,
    errors: u64,
    per_second: f64,
    p50: Duration,
    p99: Duration,
    peak_rss_kib: u64,
}

async fn load(
    base: &str,
    account: &str,
    token: &str,
    clients: usize,
    seconds: u64,
    pid: u32,
) -> Result<LoadResult> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()?;
    let url = format!("{base}/v1/ingest/{account}");
    let errors = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            while Instant::now() < deadline {
                if let Some(kib) = rss_kib(pid) {
                    peak.fetch_max(kib, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (http, url, token, errors) =
            (http.clone(), url.clone(), token.to_string(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let body = json!({
                    "message_id": format!("bench-{clients}-{client}-{n}"),
                    "chat_id": format!("1555{:07}@s.whatsapp.net", client),
                    "from": format!("1555{:07}@s.whatsapp.net", client),
                    "text": "Hi, is my order on its way?",
                });
                let t = Instant::now();
                match http.post(&url).bearer_auth(&token).json(&body).send().await {
                    Ok(r) if r.status().as_u16() == 202 => latencies.push(t.elapsed()),
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await?);
    }
    let elapsed = started.elapsed();
    sampler.await?;
    all.sort();
    Ok(LoadResult {
        clients,
        requests: all.len(),
        errors: errors.load(Ordering::Relaxed),
        per_second: all.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&all, 0.50),
        p99: percentile(&all, 0.99),
        peak_rss_kib: peak.load(Ordering::Relaxed),
    })
}

/// The ingest section's table.
fn ingest_table(args: &Args, results: &[LoadResult]) -> String {
    let mut out = format!(
        "\n## Ingest: `POST /v1/ingest/{{account}}`, {} s per level\n\n",
        args.seconds
    );
    out.push_str(
        "| clients | requests | errors | msg/s | p50 ms | p99 ms | peak RSS MiB |\n|---|---|---|---|---|---|---|\n",
    );
    for r in results {
        out.push_str(&format!(
            "| {} | {} | {} | {:.0} | {} | {} | {:.1} |\n",
            r.clients,
            r.requests,
            r.errors,
            r.per_second,
            ms(r.p50),
            ms(r.p99),
            r.peak_rss_kib as f64 / 1024.0
        ));
    }
    out
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    if !args.binary.exists() {
        bail!(
            "{} not found: run `cargo build --release -p switchboard` first",
            args.binary.display()
        );
    }
    let work = tempfile::tempdir()?;
    if args.media_only {
        println!(
            "{}",
            media_section(&args, &work.path().join("media")).await?
        );
        return Ok(());
    }
    if args.slowloris_only {
        println!(
            "{}",
            slowloris_section(&args, &work.path().join("slowloris")).await?
        );
        return Ok(());
    }
    if args.templates_only {
        println!(
            "{}",
            templates_section(&args, &work.path().join("templates")).await?
        );
        return Ok(());
    }
    if args.client_api_only {
        println!(
            "{}",
            client_api_section(&args, &work.path().join("client-api")).await?
        );
        return Ok(());
    }

    let mut fresh = Vec::new();
    let mut existing = Vec::new();
    let reused = work.path().join("reused");
    for i in 0..args.starts {
        let dir = work.path().join(format!("start-{i}"));
        let (server, t) = start(&args.binary, &dir)?;
        fresh.push(t);
        drop(server);
        let (server, t) = start(&args.binary, &reused)?;
        existing.push(t);
        drop(server);
    }
    fresh.sort();
    existing.sort();

    let dir = work.path().join("load");
    let (mut server, _) = start(&args.binary, &dir)?;
    let (_, account, token) = credentials(&mut server)?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let pid = server.child.id();
    let idle_rss = rss_kib(pid).context("no VmRSS")?;

    let mut results = Vec::new();
    for &clients in &args.clients {
        results.push(load(&server.base, &account, &token, clients, args.seconds, pid).await?);
    }
    let after_rss = rss_kib(pid).context("no VmRSS")?;
    drop(server);
    if args.ingest_only {
        print!("{}", ingest_table(&args, &results));
        return Ok(());
    }

    // The reply pipeline, on a fresh server so the ingest load above does not weigh on it.
    let (mut server, _) = start(&args.binary, &work.path().join("replies"))?;
    let (admin, reply_account, reply_token) = credentials(&mut server)?;
    let llm = FakeLlm::start().await;
    llm.set(Behaviour::Fixed("Thanks, we are on it.".into()));
    replies::configure(&reqwest::Client::new(), &server.base, &admin, &llm.base_url).await?;
    let mut reply_results = Vec::new();
    for (&chats, &rate) in args.reply_chats.iter().zip(&args.reply_rates) {
        let result = replies::run(
            &server.base,
            &reply_account,
            &reply_token,
            chats,
            rate,
            args.seconds,
            args.aligned,
        );
        reply_results.push(result.await?);
    }
    drop(server);

    // Webhook delivery: 1 subscription, 50, and 50 beside one endpoint that never answers; a
    // fresh server for each, so no scenario inherits another's queue.
    let mut webhook_results = Vec::new();
    for (i, (subscriptions, hanging)) in [(1, false), (50, false), (50, true)]
        .into_iter()
        .enumerate()
    {
        let (mut server, _) = start(&args.binary, &work.path().join(format!("webhooks-{i}")))?;
        let (admin, account, token) = credentials(&mut server)?;
        let events = (args.webhook_deliveries / subscriptions).max(1);
        let result = webhooks::run(
            &server.base,
            &admin,
            &account,
            &token,
            subscriptions,
            hanging,
            events,
        );
        webhook_results.push(result.await?);
        drop(server);
    }

    // WhatsApp Cloud API: signed notifications through ingest, then replies to a fake Graph API.
    let (graph, llm) = (FakeGraph::start().await, FakeLlm::start().await);
    let http = reqwest::Client::new();
    let settings = [("WHATSAPP_API_BASE_URL", graph.base_url.as_str())];
    let (mut server, _) = start_with(
        &args.binary,
        &work.path().join("whatsapp-ingest"),
        &settings,
    )?;
    let (admin, _, _) = credentials(&mut server)?;
    let number = "106540352242922";
    let account = whatsapp::account(&http, &server.base, &admin, number).await?;
    let mut whatsapp_ingest = Vec::new();
    for &clients in &args.whatsapp_clients {
        let result = whatsapp::ingest(&server.base, &account, number, clients, args.seconds);
        whatsapp_ingest.push(result.await?);
    }
    drop(server);
    let (mut server, _) = start_with(
        &args.binary,
        &work.path().join("whatsapp-replies"),
        &settings,
    )?;
    let (admin, _, _) = credentials(&mut server)?;
    let mut numbers = Vec::new();
    for n in 0..args.whatsapp_numbers.max(1) {
        let number = format!("10654035224{n:04}");
        numbers.push((
            whatsapp::account(&http, &server.base, &admin, &number).await?,
            number,
        ));
    }
    replies::configure(&http, &server.base, &admin, &llm.base_url).await?;
    let mut whatsapp_replies = Vec::new();
    for (&chats, &rate) in args.whatsapp_chats.iter().zip(&args.whatsapp_rates) {
        let in_use = &numbers[..numbers.len().min(chats)];
        let result = whatsapp::replies(&server.base, in_use, &graph, chats, rate, args.seconds);
        whatsapp_replies.push(result.await?);
    }
    drop(server);
    let client_api = client_api_section(&args, &work.path().join("client-api")).await?;
    let templates = templates_section(&args, &work.path().join("templates")).await?;
    let media = media_section(&args, &work.path().join("media")).await?;
    let slowloris = if args.slowloris > 0 {
        slowloris_section(&args, &work.path().join("slowloris")).await?
    } else {
        String::new()
    };

    println!("## Start to healthy ({} starts each)\n", args.starts);
    println!("| data dir | median ms | max ms |\n|---|---|---|");
    println!(
        "| new (creates the database) | {} | {} |",
        ms(percentile(&fresh, 0.5)),
        ms(percentile(&fresh, 1.0))
    );
    println!(
        "| existing | {} | {} |",
        ms(percentile(&existing, 0.5)),
        ms(percentile(&existing, 1.0))
    );
    print!("{}", ingest_table(&args, &results));
    println!(
        "\n## AI reply overhead: inbound accepted → reply stored as sent (zero-latency LLM, no delay), {} s per level, chats {}\n",
        args.seconds,
        if args.aligned {
            "writing at the same instant"
        } else {
            "taking turns"
        }
    );
    println!(
        "| chats in parallel | offered msg/s | replies | replies/s | p50 ms | p99 ms | p50 to generated | p50 generated to sent |\n|---|---|---|---|---|---|---|---|"
    );
    for r in &reply_results {
        println!(
            "| {} | {:.0} | {} | {:.0} | {} | {} | {} | {} |",
            r.chats,
            r.offered,
            r.replies,
            r.per_second,
            ms(r.p50),
            ms(r.p99),
            ms(r.p50_generated),
            ms(r.p50_to_sent)
        );
    }
    println!("\n## Webhook delivery: fast local receivers; latency is event created → received\n");
    println!(
        "| subscriptions | plus one hanging endpoint | events | deliveries | deliveries/s | p50 ms | p99 ms |\n|---|---|---|---|---|---|---|"
    );
    for r in &webhook_results {
        println!(
            "| {} | {} | {} | {} | {:.0} | {} | {} |",
            r.subscriptions,
            if r.hanging { "yes" } else { "no" },
            r.events,
            r.deliveries,
            r.per_second,
            ms(r.p50),
            ms(r.p99)
        );
    }
    println!(
        "\n## WhatsApp Cloud API: signed notifications through `POST /v1/ingest/whatsapp/{{account}}`, {} s per level\n",
        args.seconds
    );
    println!(
        "| clients | notifications | errors | msg/s | p50 ms | p99 ms |\n|---|---|---|---|---|---|"
    );
    for r in &whatsapp_ingest {
        println!(
            "| {} | {} | {} | {:.0} | {} | {} |",
            r.clients,
            r.requests,
            r.errors,
            r.per_second,
            ms(r.p50),
            ms(r.p99)
        );
    }
    println!(
        "\n## WhatsApp reply latency: notification POSTed → reply at the Graph API (zero-latency LLM, no delay), {} s per level\n",
        args.seconds
    );
    println!(
        "| chats in parallel | numbers | offered msg/s | replies | p50 ms | p99 ms |\n|---|---|---|---|---|---|"
    );
    for r in &whatsapp_replies {
        println!(
            "| {} | {} | {:.0} | {} | {} | {} |",
            r.chats,
            r.numbers,
            r.offered,
            r.replies,
            ms(r.p50),
            ms(r.p99)
        );
    }
    println!("\n{client_api}");
    println!("\n{templates}");
    println!("\n{media}");
    println!("\n{slowloris}");
    println!("\n## Memory\n");
    println!("| state | RSS MiB |\n|---|---|");
    println!("| idle, after start | {:.1} |", idle_rss as f64 / 1024.0);
    println!(
        "| peak under load | {:.1} |",
        results.iter().map(|r| r.peak_rss_kib).max().unwrap_or(0) as f64 / 1024.0
    );
    println!("| after load | {:.1} |", after_rss as f64 / 1024.0);
    Ok(())
}
