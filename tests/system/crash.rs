//! A reply in flight when the process dies: `switchboard serve` killed (SIGKILL) while replies
//! wait on a slow LLM, and started again on the same data dir. Every inbound message ends
//! answered exactly once: the jobs the dead server held run again at once, and so do the
//! replies it had claimed (one server per data dir: at its start, every claim in it belonged to
//! a server that stopped).

use serde_json::{Value, json};
use std::time::Duration;
use switchboard_tests::fake_llm::{Behaviour, FakeLlm};
use switchboard_tests::{ServerProcess, eventually, inbound};

const CUSTOMERS: usize = 6;

fn chat(n: usize) -> String {
    format!("1555000{n:04}@s.whatsapp.net")
}

#[tokio::test]
async fn replies_waiting_on_the_llm_when_the_server_dies_are_answered_once_after_a_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let llm = FakeLlm::start().await;
    llm.set(Behaviour::Hang);
    let mut first = ServerProcess::start(&data, &[]).await;
    let (account, token) = first.sandbox().expect("the sandbox account");
    let admin = first.printed_after("admin token").expect("admin token");
    let http = reqwest::Client::new();
    let configured = http
        .put(format!("{}/v1/ai/global", first.base))
        .bearer_auth(&admin)
        .json(
            &json!({"enabled": true, "base_url": llm.base_url, "api_key": "sk-crash",
            "reply_delay_seconds": 0, "timeout_seconds": 120}),
        )
        .send()
        .await
        .expect("configure");
    assert!(configured.status().is_success());
    for n in 0..CUSTOMERS {
        let accepted = http
            .post(format!("{}/v1/ingest/{account}", first.base))
            .bearer_auth(&token)
            .json(&inbound(
                &format!("crash-{n}"),
                &chat(n),
                &format!("question {n}"),
            ))
            .send()
            .await
            .expect("ingest");
        assert_eq!(accepted.status().as_u16(), 202);
    }
    // Every reply is with the LLM, which does not answer: then the server dies.
    eventually(
        Duration::from_secs(20),
        "every reply at the LLM",
        || async { (llm.requests().len() >= CUSTOMERS).then_some(()) },
    )
    .await;
    first.kill();

    llm.set(Behaviour::Echoing);
    let second = ServerProcess::start(&data, &[]).await;
    for n in 0..CUSTOMERS {
        let url = format!(
            "{}/v1/accounts/{account}/chats/{}/messages",
            second.base,
            chat(n)
        );
        let replies = eventually(Duration::from_secs(30), "the reply sent", || {
            let request = http.get(&url).bearer_auth(&token);
            async move {
                let page: Value = request.send().await.ok()?.json().await.ok()?;
                let replies: Vec<Value> = page["items"]
                    .as_array()?
                    .iter()
                    .filter(|m| m["origin"] == "ai")
                    .cloned()
                    .collect();
                replies
                    .iter()
                    .any(|m| m["status"] == "sent")
                    .then_some(replies)
            }
        })
        .await;
        assert_eq!(replies.len(), 1, "one reply in chat {n}: {replies:?}");
        assert_eq!(replies[0]["text"], format!("reply to: question {n}"));
    }
    let logs: Value = http
        .get(format!("{}/v1/ai/logs?account_id={account}", second.base))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("logs")
        .json()
        .await
        .expect("json");
    let statuses: Vec<&Value> = logs["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|l| &l["status"])
        .collect();
    assert_eq!(statuses, vec![&json!("sent"); CUSTOMERS], "{logs}");
    assert_eq!(
        llm.requests().len(),
        2 * CUSTOMERS,
        "each reply was asked for once more, after the restart"
    );
}
