//! Messages end to end: ingest with its dedupe, sends through the outbound worker with
//! idempotency keys, and the messages list.

use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;
use switchboard_core::domain::page::PageRequest;
use switchboard_core::ports::AiLogFilter;
use switchboard_tests::{PRIVATE_CHAT, eventually, inbound, spawn_app, str_at};

#[tokio::test]
async fn ingest_stores_once_per_message_id_and_creates_the_chat() {
    let app = spawn_app().await;
    let (acc, token) = (&app.sandbox_id, &app.sandbox_token);
    let mut first = inbound("wamid.1", PRIVATE_CHAT, "Hello there");
    first["push_name"] = json!("Ann");
    let (status, a) = app.ingest(acc, token, first.clone()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{a}");
    assert_eq!(a["duplicate"], false);
    let (status, b) = app.ingest(acc, token, first).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(b["duplicate"], true);
    assert_eq!(
        a["id"], b["id"],
        "the second delivery answers with the first message"
    );

    let messages = app.messages(acc, PRIVATE_CHAT).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["text"], "Hello there");
    assert_eq!(messages[0]["from_me"], false);
    assert_eq!(messages[0]["provider_message_id"], "wamid.1");

    let (_, chats) = app.get(&format!("/v1/accounts/{acc}/chats"), token).await;
    assert_eq!(chats["items"][0]["chat_id"], PRIVATE_CHAT);
    assert_eq!(chats["items"][0]["type"], "private");
    assert_eq!(chats["items"][0]["name"], "Ann");
    assert_eq!(chats["items"][0]["blocked"], false);

    // AI is off by default: the reply job records why it did not answer, once.
    let logs = eventually(Duration::from_secs(10), "a skipped log row", || async {
        let page = app
            .state
            .store
            .list_ai_logs(&AiLogFilter::default(), &PageRequest::first(10))
            .await
            .ok()?;
        (!page.items.is_empty()).then_some(page.items)
    })
    .await;
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].reason.as_deref(), Some("AI is disabled globally"));
}

#[tokio::test]
async fn an_echo_reply_is_sent_through_the_sandbox_and_stored_in_the_chat() {
    let app = spawn_app().await;
    app.put_global_ai(json!({"enabled": true, "echo_mode": true, "reply_delay_seconds": 0}))
        .await;
    let (acc, token) = (&app.sandbox_id, &app.sandbox_token);
    let (status, _) = app
        .ingest(acc, token, inbound("m-1", PRIVATE_CHAT, "ping"))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let reply = eventually(
        Duration::from_secs(10),
        "the echo reply to be sent",
        || async {
            let messages = app.messages(acc, PRIVATE_CHAT).await;
            messages
                .into_iter()
                .find(|m| m["from_me"] == true && m["status"] == "sent")
        },
    )
    .await;
    assert_eq!(reply["text"], "ping");
    assert_eq!(reply["origin"], "ai");
    // Delivering the same inbound message again does not reply twice.
    app.ingest(acc, token, inbound("m-1", PRIVATE_CHAT, "ping"))
        .await;
    app.until_idle().await;
    let replies = app
        .messages(acc, PRIVATE_CHAT)
        .await
        .into_iter()
        .filter(|m| m["from_me"] == true)
        .count();
    assert_eq!(replies, 1);
}

#[tokio::test]
async fn send_queues_through_the_outbound_worker_and_honours_idempotency_keys() {
    let app = spawn_app().await;
    let (acc, token) = (&app.sandbox_id, &app.sandbox_token);
    let path = format!("/v1/accounts/{acc}/messages");
    let body = json!({"chat_id": PRIVATE_CHAT, "text": "Your order shipped", "idempotency_key": "order-42"});
    let res = app
        .client
        .post(format!("{}{path}", app.base))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let first: serde_json::Value = res.json().await.expect("json");
    assert_eq!(first["status"], "queued");

    let res = app
        .client
        .post(format!("{}{path}", app.base))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["idempotent-replayed"], "true");
    let replay: serde_json::Value = res.json().await.expect("json");
    assert_eq!(replay["id"], first["id"]);

    let (status, conflict) = app
        .post(&path, token, json!({"chat_id": PRIVATE_CHAT, "text": "Something else", "idempotency_key": "order-42"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(conflict["error"]["code"], "idempotency_conflict");

    let id = str_at(&first, "id");
    let sent = eventually(
        Duration::from_secs(10),
        "the message to be sent",
        || async {
            app.messages(acc, PRIVATE_CHAT)
                .await
                .into_iter()
                .find(|m| m["id"] == id.as_str() && m["status"] == "sent")
        },
    )
    .await;
    assert_eq!(sent["origin"], "api");
    assert!(
        sent["provider_message_id"]
            .as_str()
            .is_some_and(|p| p.starts_with("sandbox-"))
    );
    assert_eq!(
        app.messages(acc, PRIVATE_CHAT).await.len(),
        1,
        "one send for two requests"
    );
}

#[tokio::test]
async fn messages_list_newest_first_with_cursor_and_before() {
    let app = spawn_app().await;
    let (acc, token) = (&app.sandbox_id, &app.sandbox_token);
    for i in 0..5 {
        app.ingest(
            acc,
            token,
            inbound(&format!("m{i}"), PRIVATE_CHAT, &format!("text {i}")),
        )
        .await;
    }
    let base = format!("/v1/accounts/{acc}/chats/{PRIVATE_CHAT}/messages");
    let (_, page1) = app.get(&format!("{base}?limit=2"), token).await;
    let texts = |v: &serde_json::Value| -> Vec<String> {
        v["items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|m| m["text"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(texts(&page1), ["text 4", "text 3"]);
    let cursor = str_at(&page1, "next_cursor");
    let (_, page2) = app
        .get(&format!("{base}?limit=2&cursor={cursor}"), token)
        .await;
    assert_eq!(texts(&page2), ["text 2", "text 1"]);
    let before = page1["items"][1]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (_, older) = app.get(&format!("{base}?before={before}"), token).await;
    assert_eq!(texts(&older), ["text 2", "text 1", "text 0"]);
    assert_eq!(older["next_cursor"], serde_json::Value::Null);
}
