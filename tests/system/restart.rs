//! Restarts: a hard kill loses nothing, one server per data dir, and jobs a dead server held
//! run at the next start.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use switchboard_core::ports::{JobQueue, OutgoingJob, QueueName};
use switchboard_tests::{PRIVATE_CHAT, ServerProcess, eventually, inbound};

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

/// Kills the process hard while a reply waits in the queue with a delay, restarts it on the same
/// data dir, and finds everything still there and the delayed job fired.
#[tokio::test]
async fn a_hard_restart_loses_nothing_and_delayed_jobs_still_fire() {
    let dir = tempfile::tempdir().expect("dir");
    let first = ServerProcess::start(dir.path(), &[]).await;
    let admin = first
        .printed_after("admin token")
        .expect("admin token printed");
    let sandbox_token = first
        .printed_after("sandbox account")
        .expect("sandbox token printed");
    let sandbox_id = sandbox_token[4..34].to_string();
    let c = Client {
        http: reqwest::Client::new(),
        base: first.base.clone(),
    };
    use reqwest::Method as M;

    let (status, acc) = c
        .call(
            M::POST,
            "/v1/accounts",
            &admin,
            Some(json!({"name": "shop", "provider": "sandbox"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let shop_token = acc["token"].as_str().expect("token").to_string();
    let (status, _) = c
        .call(M::PUT, "/v1/ai/global", &admin, Some(json!({"enabled": true, "echo_mode": true, "reply_delay_seconds": 3, "api_key": "sk-kept"})))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = c
        .call(
            M::POST,
            &format!("/v1/ingest/{sandbox_id}"),
            &sandbox_token,
            Some(inbound("before-crash", PRIVATE_CHAT, "are you there?")),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let messages = format!("/v1/accounts/{sandbox_id}/chats/{PRIVATE_CHAT}/messages");
    let queued = eventually(
        Duration::from_secs(10),
        "the reply to be generated and queued",
        || async {
            let (_, page) = c.call(M::GET, &messages, &admin, None).await;
            page["items"]
                .as_array()?
                .iter()
                .find(|m| m["from_me"] == true)
                .cloned()
        },
    )
    .await;
    assert_eq!(
        queued["status"], "queued",
        "the send waits for reply_delay_seconds"
    );
    first.kill();

    let second = ServerProcess::start(dir.path(), &[]).await;
    assert!(
        second.printed_after("sandbox account").is_none(),
        "no second sandbox account"
    );
    let c = Client {
        http: reqwest::Client::new(),
        base: second.base.clone(),
    };

    let (status, list) = c.call(M::GET, "/v1/accounts", &admin, None).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the admin token signed before the restart still verifies"
    );
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2));
    let (status, global) = c.call(M::GET, "/v1/ai/global", &admin, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(global["reply_delay_seconds"], 3);
    assert_eq!(global["has_api_key"], true);
    let (status, _) = c
        .call(
            M::GET,
            &format!("/v1/accounts/{}/chats", acc["id"].as_str().unwrap_or("")),
            &shop_token,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "account tokens survive the restart");

    let sent = eventually(
        Duration::from_secs(15),
        "the delayed reply to be sent after the restart",
        || async {
            let (_, page) = c.call(M::GET, &messages, &sandbox_token, None).await;
            page["items"]
                .as_array()?
                .iter()
                .find(|m| m["from_me"] == true && m["status"] == "sent")
                .cloned()
        },
    )
    .await;
    assert_eq!(sent["id"], queued["id"]);
    assert_eq!(sent["text"], "are you there?");
    let (_, page) = c.call(M::GET, &messages, &sandbox_token, None).await;
    assert_eq!(
        page["items"].as_array().map(Vec::len),
        Some(2),
        "one inbound, one reply"
    );
}

/// A second server on a data dir in use is refused; once the first stops, the dir is free.
#[tokio::test]
async fn one_server_runs_on_a_data_dir_at_a_time() {
    let dir = tempfile::tempdir().expect("dir");
    let mut first = switchboard_tests::start_in(dir.path(), &[]).await;
    let local = switchboard::local_settings::LocalSettings {
        addr: "127.0.0.1:0".parse().expect("addr"),
        data_dir: dir.path().to_path_buf(),
    };
    let second = switchboard::serve::start_with_workers(
        &local,
        &|_| None,
        std::future::pending(),
        &QueueName::ALL,
    )
    .await;
    let refused = second
        .err()
        .expect("a second server is refused")
        .to_string();
    assert!(refused.contains("another `switchboard serve`"), "{refused}");
    first.shutdown().await;
    let mut again = switchboard_tests::start_in(dir.path(), &[]).await;
    again.shutdown().await;
}

/// A job that a server had received when it died runs as soon as the next server starts, not
/// after its visibility timeout.
#[tokio::test]
async fn jobs_a_dead_server_held_run_at_the_next_start() {
    let dir = tempfile::tempdir().expect("dir");
    {
        let queue = switchboard_embedded::open(dir.path()).expect("open").queue;
        let job = OutgoingJob {
            body: "not a job".into(),
            delay: Duration::ZERO,
        };
        queue
            .enqueue(QueueName::Webhook, vec![job])
            .await
            .expect("enqueue");
        let held = queue
            .receive(QueueName::Webhook, 1, Duration::from_secs(3600))
            .await
            .expect("receive")
            .jobs;
        assert_eq!(held.len(), 1, "held for an hour by a server that then died");
    }
    let mut app = switchboard_tests::start_in(dir.path(), &[]).await;
    let queue = app.running.as_ref().expect("running").queue.clone();
    // Its worker receives it at once and, as it is not a job, dead-letters it.
    eventually(Duration::from_secs(10), "the held job run", || {
        let queue = queue.clone();
        async move {
            let depth = queue.depth(QueueName::Webhook).await.expect("depth");
            (depth == (0, 1)).then_some(())
        }
    })
    .await;
    app.shutdown().await;
}
