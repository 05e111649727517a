//! A slowloris beside an ordinary client: `attackers` connections that each send one byte of a
//! request's headers a second (and open a new connection when the server drops theirs), plus
//! `opening` new connections a second that send nothing and are never closed by the client,
//! while one client sends ingest requests back to back. Measures that client's latency and the
//! most file descriptors the server held open.

use anyhow::Result;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

pub struct SlowlorisResult {
    pub attackers: usize,
    pub opening: usize,
    pub seconds: u64,
    pub requests: usize,
    pub errors: u64,
    pub p50: Duration,
    pub p99: Duration,
    /// Connections the attackers opened in all (each one the server dropped is replaced).
    pub attack_connections: u64,
    pub peak_fds: usize,
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

#[allow(clippy::too_many_arguments)]
pub async fn run(
    base: &str,
    account: &str,
    token: &str,
    pid: u32,
    attackers: usize,
    opening: usize,
    seconds: u64,
) -> Result<SlowlorisResult> {
    let addr = base.trim_start_matches("http://").to_string();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let opened = Arc::new(AtomicU64::new(0));
    let mut attack = Vec::new();
    for _ in 0..attackers {
        let (addr, opened) = (addr.clone(), opened.clone());
        attack.push(tokio::spawn(async move {
            let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: ";
            'connections: while Instant::now() < deadline {
                let Ok(mut stream) = tokio::net::TcpStream::connect(&addr).await else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                opened.fetch_add(1, Ordering::Relaxed);
                for byte in request.iter().chain(std::iter::repeat(&b'a')) {
                    if Instant::now() >= deadline || stream.write_all(&[*byte]).await.is_err() {
                        continue 'connections;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }));
    }
    if opening > 0 {
        let (addr, opened) = (addr.clone(), opened.clone());
        attack.push(tokio::spawn(async move {
            let mut held = Vec::new();
            let mut tick = tokio::time::interval(Duration::from_secs(1) / opening as u32);
            while Instant::now() < deadline {
                tick.tick().await;
                if let Ok(stream) = tokio::net::TcpStream::connect(&addr).await {
                    opened.fetch_add(1, Ordering::Relaxed);
                    held.push(stream);
                }
            }
        }));
    }
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            while Instant::now() < deadline {
                peak.fetch_max(open_fds(pid) as u64, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    // The attack is in place before the ordinary client starts.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let http = reqwest::Client::new();
    let url = format!("{base}/v1/ingest/{account}");
    let (mut latencies, mut errors, mut n) = (Vec::new(), 0u64, 0u64);
    while Instant::now() < deadline {
        n += 1;
        let chat = "15559990000@s.whatsapp.net";
        let body = json!({"message_id": format!("loris-{n}"), "chat_id": chat, "from": chat, "text": "hi"});
        let t = Instant::now();
        match http.post(&url).bearer_auth(token).json(&body).send().await {
            Ok(r) if r.status().as_u16() == 202 => latencies.push(t.elapsed()),
            _ => errors += 1,
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for a in attack {
        a.abort();
    }
    sampler.await?;
    latencies.sort();
    Ok(SlowlorisResult {
        attackers,
        opening,
        seconds,
        requests: latencies.len(),
        errors,
        p50: crate::percentile(&latencies, 0.5),
        p99: crate::percentile(&latencies, 0.99),
        attack_connections: opened.load(Ordering::Relaxed),
        peak_fds: peak.load(Ordering::Relaxed) as usize,
    })
}
