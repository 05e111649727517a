//! The gateway's own overhead per AI reply: a zero-latency fake LLM in this process,
//! `reply_delay_seconds: 0`, and for each reply the time from the inbound message being
//! accepted to its reply being stored as sent, both stamped by the server.

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long after the last message the clients start looking for their replies.
const SETTLE_GRACE: Duration = Duration::from_millis(500);

pub struct ReplyResult {
    pub chats: usize,
    pub offered: f64,
    pub replies: usize,
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
    /// From acceptance to the reply generated (the reply job, LLM call included).
    pub p50_generated: Duration,
    /// From generated to stored as sent (the send job).
    pub p50_to_sent: Duration,
}

pub async fn configure(http: &reqwest::Client, base: &str, admin: &str, llm: &str) -> Result<()> {
    let res = http
        .put(format!("{base}/v1/ai/global"))
        .bearer_auth(admin)
        .json(&json!({"enabled": true, "base_url": llm, "api_key": "sk-bench", "reply_delay_seconds": 0,
                      "max_replies_per_chat_per_hour": 1000}))
        .send()
        .await?;
    anyhow::ensure!(
        res.status().is_success(),
        "configuring AI failed: {}",
        res.status()
    );
    Ok(())
}

fn parse_time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()?.parse().ok()
}

/// `chats` clients, each writing in its own chat at a steady pace (`rate` messages per second
/// in all) for `seconds`, without waiting for replies: an open-loop load, so the client never
/// polls the server while it is measured. Then waits for every reply to settle. `aligned`: every
/// chat writes at the same instant (bursts of `chats` messages) instead of taking turns.
pub async fn run(
    base: &str,
    account: &str,
    token: &str,
    chats: usize,
    rate: f64,
    seconds: u64,
    aligned: bool,
) -> Result<ReplyResult> {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    // No client looks for its replies before every client has sent its last message, and the
    // replies in flight then have had time to settle: the looks would compete with them.
    let all_sent = Arc::new(tokio::sync::Barrier::new(chats));
    let mut tasks = Vec::new();
    for c in 0..chats {
        let (http, base, account, token, all_sent) = (
            http.clone(),
            base.to_string(),
            account.to_string(),
            token.to_string(),
            all_sent.clone(),
        );
        // A chat per client and level (chats and rate), so levels never share a chat or a
        // message id.
        let chat = format!("16{:05}{chats:03}{c:03}@s.whatsapp.net", rate as u32);
        let every = Duration::from_secs_f64(chats as f64 / rate);
        tasks.push(tokio::spawn(async move {
            // Chats take turns (phases spread over one interval), so the load is a steady
            // stream rather than all chats writing at the same instant.
            let phase = if aligned {
                Duration::ZERO
            } else {
                every.mul_f64(c as f64 / chats as f64)
            };
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + phase, every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last = None;
            let mut n = 0u64;
            while Instant::now() < deadline {
                tick.tick().await;
                n += 1;
                let body = json!({"message_id": format!("r-{chat}-{n}"), "chat_id": chat, "from": chat, "text": "Where is my order?"});
                let res = http.post(format!("{base}/v1/ingest/{account}")).bearer_auth(&token).json(&body).send().await?;
                let accepted: Value = res.json().await?;
                last = accepted["id"].as_str().map(str::to_string);
            }
            all_sent.wait().await;
            tokio::time::sleep(SETTLE_GRACE).await;
            // Settle: the row that answers the chat's last message is final. It is among the
            // newest rows, not always the newest: replies to a chat's last messages may finish
            // in either order.
            let waiting = Instant::now();
            while let Some(id) = &last {
                let url = format!("{base}/v1/ai/logs?chat_id={chat}&limit=50");
                let logs: Value = http.get(url).bearer_auth(&token).send().await?.json().await?;
                let rows = logs["items"].as_array().cloned().unwrap_or_default();
                let settled = rows
                    .iter()
                    .any(|r| r["inbound_message_id"] == id.as_str() && r["status"] != "generated");
                if settled {
                    break;
                }
                anyhow::ensure!(waiting.elapsed() < Duration::from_secs(60), "the reply to {id} did not settle");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            anyhow::Ok((chat, n as usize))
        }));
    }
    let mut chats_done = Vec::new();
    for t in tasks {
        chats_done.push(t.await??);
    }

    let mut overheads = Vec::new();
    let (mut to_generated, mut to_sent) = (Vec::new(), Vec::new());
    let mut first_accepted: Option<DateTime<Utc>> = None;
    let mut last_sent: Option<DateTime<Utc>> = None;
    for (chat, _) in &chats_done {
        let messages = format!("{base}/v1/accounts/{account}/chats/{chat}/messages?limit=200");
        let accepted_at: HashMap<String, Option<DateTime<Utc>>> =
            all_items(&http, token, &messages)
                .await?
                .iter()
                .filter(|m| m["from_me"] == false)
                .map(|m| {
                    (
                        m["id"].as_str().unwrap_or_default().to_string(),
                        parse_time(&m["created_at"]),
                    )
                })
                .collect();
        let logs = format!("{base}/v1/ai/logs?chat_id={chat}&status=sent&limit=200");
        for row in all_items(&http, token, &logs).await? {
            let inbound = row["inbound_message_id"].as_str().unwrap_or_default();
            if let (Some(Some(accepted)), Some(sent)) =
                (accepted_at.get(inbound), parse_time(&row["sent_at"]))
            {
                overheads.push((sent - *accepted).to_std().unwrap_or_default());
                // The log row is stamped when the reply is generated: the split of the overhead.
                if let Some(generated) = parse_time(&row["created_at"]) {
                    to_generated.push((generated - *accepted).to_std().unwrap_or_default());
                    to_sent.push((sent - generated).to_std().unwrap_or_default());
                }
                first_accepted = Some(first_accepted.map_or(*accepted, |f| f.min(*accepted)));
                last_sent = Some(last_sent.map_or(sent, |l| l.max(sent)));
            }
        }
    }
    overheads.sort();
    to_generated.sort();
    to_sent.sort();
    let replies = overheads.len();
    let span = match (first_accepted, last_sent) {
        (Some(f), Some(l)) => (l - f).to_std().unwrap_or_default(),
        _ => Duration::ZERO,
    };
    Ok(ReplyResult {
        chats,
        offered: rate,
        replies,
        per_second: replies as f64 / span.as_secs_f64().max(f64::EPSILON),
        p50: crate::percentile(&overheads, 0.5),
        p99: crate::percentile(&overheads, 0.99),
        p50_generated: crate::percentile(&to_generated, 0.5),
        p50_to_sent: crate::percentile(&to_sent, 0.5),
    })
}

/// Every item of a list endpoint, following `next_cursor`.
async fn all_items(http: &reqwest::Client, token: &str, first: &str) -> Result<Vec<Value>> {
    let mut items = Vec::new();
    let mut url = first.to_string();
    loop {
        let page: Value = http
            .get(&url)
            .bearer_auth(token)
            .send()
            .await?
            .json()
            .await?;
        items.extend(page["items"].as_array().into_iter().flatten().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("{first}&cursor={c}"),
            None => return Ok(items),
        }
    }
}
