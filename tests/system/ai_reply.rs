//! The AI reply flow end to end with a fake LLM: generation, logging, sending and events; each
//! rule that says no; debounce, human takeover, group mentions, the loop guard; exactly one reply
//! under redelivery; and the test endpoints.

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use switchboard_tests::fake_llm::Behaviour;
use switchboard_tests::{
    PRIVATE_CHAT, TestApp, eventually, inbound, spawn_app_keeping_events, spawn_app_with, str_at,
};

const GROUP: &str = "120363025246125486@g.us";

/// An app whose global level points at its fake LLM, with no reply delay, keeping its events
/// on the queue.
async fn app_with_llm(settings: &[(&str, &str)]) -> TestApp {
    let app = spawn_app_keeping_events(settings).await;
    app.use_llm().await;
    app
}

#[tokio::test]
async fn a_reply_is_generated_logged_and_sent_with_its_events() {
    let app = app_with_llm(&[]).await;
    let (acc, token) = (app.sandbox_id.clone(), app.sandbox_token.clone());
    app.ingest(
        &acc,
        &token,
        inbound("w1", PRIVATE_CHAT, "When do you open?"),
    )
    .await;
    let sent = app.wait_sent_replies(PRIVATE_CHAT, 1).await;
    assert_eq!(sent[0]["text"], "reply to: When do you open?");
    assert_eq!(sent[0]["from_me"], true);

    let logs = app.wait_for_settled_logs(&acc, 1).await;
    let log = &logs[0];
    assert_eq!(log["status"], "sent");
    assert_eq!(log["reply"], "reply to: When do you open?");
    assert_eq!(log["model"], "gpt-4.1-mini");
    assert_eq!(
        (
            log["prompt_tokens"].clone(),
            log["completion_tokens"].clone()
        ),
        (json!(11), json!(7))
    );
    assert!(log["latency_ms"].is_u64() && log["sent_at"].is_string());

    let requests = app.llm.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].authorization.as_deref(),
        Some("Bearer sk-global")
    );
    let body = &requests[0].body;
    assert_eq!(body["model"], "gpt-4.1-mini");
    assert_eq!(body["temperature"], 0.7);
    assert_eq!(body["max_tokens"], 512);
    assert_eq!(body["messages"][0]["role"], "system");

    let events = eventually(Duration::from_secs(5), "the events", || async {
        let types: Vec<String> = app
            .events()
            .await
            .iter()
            .map(|e| e["type"].as_str().unwrap_or("").to_string())
            .collect();
        types.contains(&"message.sent".to_string()).then_some(types)
    })
    .await;
    for t in [
        "message.received",
        "ai.reply.generated",
        "ai.reply.sent",
        "message.sent",
    ] {
        assert_eq!(
            events.iter().filter(|e| *e == t).count(),
            1,
            "{t} in {events:?}"
        );
    }
    let generated = &app.events_of("ai.reply.generated").await[0];
    assert_eq!(generated["account_id"], acc.as_str());
    assert_eq!(generated["data"]["reply"], "reply to: When do you open?");
    assert!(
        generated["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("evt_"))
    );
    // Every `ai.reply.*` carries the AI log row, which names the reply's message.
    let sent_event = &app.events_of("ai.reply.sent").await[0];
    assert_eq!(sent_event["data"]["status"], "sent");
    assert_eq!(sent_event["data"]["id"], log["id"]);
    assert_eq!(sent_event["data"]["reply_message_id"], sent[0]["id"]);
}

#[tokio::test]
async fn every_rule_that_says_no_is_logged_with_its_reason() {
    let app = app_with_llm(&[]).await;
    let (acc, token) = (app.sandbox_id.clone(), app.sandbox_token.clone());
    let chat_of = |n: u32| format!("1555000{n:04}@s.whatsapp.net");

    let mut own = inbound("own-1", &chat_of(1), "from the phone");
    own["from_me"] = json!(true);
    app.ingest(&acc, &token, own).await;
    assert_eq!(
        app.wait_for_settled_logs(&acc, 1).await[0]["reason"],
        "message is from the account itself"
    );

    app.put(
        &format!("/v1/accounts/{acc}/chats/{}/block", chat_of(2)),
        &app.admin,
        json!({"blocked": true}),
    )
    .await;
    app.ingest(&acc, &token, inbound("b-1", &chat_of(2), "hi"))
        .await;
    assert_eq!(
        app.wait_for_settled_logs(&acc, 2).await[0]["reason"],
        "chat is blocked"
    );

    app.ingest(&acc, &token, inbound("g-1", GROUP, "hi all"))
        .await;
    assert_eq!(
        app.wait_for_settled_logs(&acc, 3).await[0]["reason"],
        "replies to group chats are off (reply_to_groups)"
    );

    app.ingest(
        &acc,
        &token,
        inbound("c-1", "120363111111111111@newsletter", "news"),
    )
    .await;
    assert_eq!(
        app.wait_for_settled_logs(&acc, 4).await[0]["reason"],
        "replies to channel chats are off (reply_to_channels)"
    );

    let mut media = inbound("m-1", &chat_of(3), "");
    media.as_object_mut().map(|o| o.remove("text"));
    app.ingest(&acc, &token, media).await;
    assert_eq!(
        app.wait_for_settled_logs(&acc, 5).await[0]["reason"],
        "not a text message"
    );

    app.put(
        &format!("/v1/accounts/{acc}/chats/{}/ai", chat_of(4)),
        &app.admin,
        json!({"mode": "disabled"}),
    )
    .await;
    app.ingest(&acc, &token, inbound("d-1", &chat_of(4), "hi"))
        .await;
    assert_eq!(
        app.wait_for_settled_logs(&acc, 6).await[0]["reason"],
        "AI is disabled for this chat"
    );

    app.put(
        &format!("/v1/accounts/{acc}/ai"),
        &app.admin,
        json!({"enabled": false}),
    )
    .await;
    app.ingest(&acc, &token, inbound("d-2", &chat_of(5), "hi"))
        .await;
    assert_eq!(
        app.wait_for_settled_logs(&acc, 7).await[0]["reason"],
        "AI is disabled for this account"
    );
    app.put(
        &format!("/v1/accounts/{acc}/ai"),
        &app.admin,
        json!({"enabled": null}),
    )
    .await;

    app.put_global_ai(json!({"api_key": null})).await;
    app.ingest(&acc, &token, inbound("k-1", &chat_of(6), "hi"))
        .await;
    assert_eq!(
        app.wait_for_settled_logs(&acc, 8).await[0]["reason"],
        "no API key configured"
    );

    app.put_global_ai(json!({"enabled": false})).await;
    app.ingest(&acc, &token, inbound("e-1", &chat_of(7), "hi"))
        .await;
    let logs = app.wait_for_settled_logs(&acc, 9).await;
    assert_eq!(logs[0]["reason"], "AI is disabled globally");
    assert!(logs.iter().all(|l| l["status"] == "skipped"));
    assert!(
        app.llm.requests().is_empty(),
        "nothing was asked of the LLM"
    );
    assert!(app.replies(&chat_of(6)).await.is_empty());
    assert_eq!(app.wait_for_events("ai.reply.skipped", 9).await.len(), 9);
    let (_, skipped) = app
        .get("/v1/ai/logs?status=skipped&limit=3", &app.admin)
        .await;
    assert_eq!(skipped["items"].as_array().map(Vec::len), Some(3));
    assert!(skipped["next_cursor"].is_string());
}

#[tokio::test]
async fn each_level_of_configuration_reaches_the_llm_request() {
    let app = spawn_app_with(&[("OPENAI_API_KEY", "sk-env"), ("AI_MODEL", "env-model")]).await;
    let (acc, token) = (app.sandbox_id.clone(), app.sandbox_token.clone());
    app.put_global_ai(json!({"enabled": true, "base_url": app.llm.base_url, "reply_delay_seconds": 0, "temperature": 1.2})).await;

    app.ingest(&acc, &token, inbound("l1", PRIVATE_CHAT, "one"))
        .await;
    app.wait_sent_replies(PRIVATE_CHAT, 1).await;
    let r = &app.llm.requests()[0];
    assert_eq!(
        r.authorization.as_deref(),
        Some("Bearer sk-env"),
        "env level key"
    );
    assert_eq!(
        (r.body["model"].clone(), r.body["temperature"].clone()),
        (json!("env-model"), json!(1.2))
    );

    app.put(
        &format!("/v1/accounts/{acc}/ai"),
        &app.admin,
        json!({"api_key": "sk-account", "model_name": "acc-model", "max_tokens": 64}),
    )
    .await;
    app.put(
        &format!("/v1/accounts/{acc}/chats/{PRIVATE_CHAT}/ai"),
        &app.admin,
        json!({"custom_system_prompt": "You sell bikes."}),
    )
    .await;
    app.ingest(&acc, &token, inbound("l2", PRIVATE_CHAT, "two"))
        .await;
    app.wait_sent_replies(PRIVATE_CHAT, 2).await;
    let r = &app.llm.requests()[1];
    assert_eq!(
        r.authorization.as_deref(),
        Some("Bearer sk-account"),
        "account level key"
    );
    assert_eq!(r.body["model"], "acc-model");
    assert_eq!(r.body["max_tokens"], 64);
    assert_eq!(r.body["temperature"], 1.2, "global level");
    assert_eq!(
        r.body["messages"][0],
        json!({"role": "system", "content": "You sell bikes."}),
        "chat level prompt"
    );
}

#[tokio::test]
async fn the_conversation_is_the_last_twenty_messages_oldest_first() {
    let app = app_with_llm(&[]).await;
    let (acc, token) = (app.sandbox_id.clone(), app.sandbox_token.clone());
    app.put_global_ai(json!({"enabled": false})).await;
    for i in 0..24 {
        app.ingest(
            &acc,
            &token,
            inbound(&format!("h{i}"), PRIVATE_CHAT, &format!("message {i}")),
        )
        .await;
    }
    app.post(
        &format!("/v1/accounts/{acc}/messages"),
        &token,
        json!({"chat_id": PRIVATE_CHAT, "text": "an answer from the shop"}),
    )
    .await;
    app.wait_for_settled_logs(&acc, 24).await;
    app.put_global_ai(json!({"enabled": true})).await;
    app.ingest(
        &acc,
        &token,
        inbound("h-last", PRIVATE_CHAT, "the question"),
    )
    .await;
    app.wait_sent_replies(PRIVATE_CHAT, 1).await;
    let messages = app.llm.requests()[0].body["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(messages.len(), 21, "system prompt + 20 messages");
    assert_eq!(messages[0]["role"], "system");
    assert_eq!(messages[1], json!({"role": "user", "content": "message 6"}));
    assert_eq!(
        messages[18],
        json!({"role": "user", "content": "message 23"})
    );
    assert_eq!(
        messages[19],
        json!({"role": "assistant", "content": "an answer from the shop"})
    );
    assert_eq!(
        messages[20],
        json!({"role": "user", "content": "the question"})
    );
}

#[tokio::test]
async fn echo_mode_answers_without_calling_anything() {
    let app = app_with_llm(&[]).await;
    app.put_global_ai(json!({"echo_mode": true, "api_key": null}))
        .await;
    app.ingest(
        &app.sandbox_id,
        &app.sandbox_token,
        inbound("e1", PRIVATE_CHAT, "mirror"),
    )
    .await;
    let sent = app.wait_sent_replies(PRIVATE_CHAT, 1).await;
    assert_eq!(sent[0]["text"], "mirror");
    assert!(app.llm.requests().is_empty());
    assert_eq!(
        app.wait_for_settled_logs(&app.sandbox_id, 1).await[0]["model"],
        "echo"
    );
}

#[tokio::test]
async fn llm_failures_and_timeouts_are_classified_in_a_failed_row() {
    let app = app_with_llm(&[]).await;
    let (acc, token) = (app.sandbox_id.clone(), app.sandbox_token.clone());
    let cases = [
        (
            Behaviour::Status(500, "upstream exploded".into()),
            "the LLM failed: HTTP 500: upstream exploded",
        ),
        (
            Behaviour::Status(401, "{\"error\":\"bad key\"}".into()),
            "the LLM refused the request: HTTP 401",
        ),
        (Behaviour::BadBody, "the LLM answered with an unusable body"),
    ];
    for (i, (behaviour, expected)) in cases.into_iter().enumerate() {
        app.llm.set(behaviour);
        app.ingest(&acc, &token, inbound(&format!("f{i}"), PRIVATE_CHAT, "hi"))
            .await;
        let logs = app.wait_for_settled_logs(&acc, i + 1).await;
        assert_eq!(logs[0]["status"], "failed");
        let error = logs[0]["error"].as_str().unwrap_or_default();
        assert!(error.starts_with(expected), "{error}");
    }

    app.llm.set(Behaviour::Hang);
    app.put_global_ai(json!({"timeout_seconds": 1})).await;
    let started = Instant::now();
    app.ingest(&acc, &token, inbound("hang", PRIVATE_CHAT, "hi"))
        .await;
    let logs = app.wait_for_settled_logs(&acc, 4).await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "a server that never answers is cut"
    );
    assert_eq!(logs[0]["error"], "timeout: no complete answer within 1 s");
    assert_eq!(app.wait_for_events("ai.reply.failed", 4).await.len(), 4);
    assert!(
        app.replies(PRIVATE_CHAT).await.is_empty(),
        "a failure sends nothing"
    );
}

#[tokio::test]
async fn the_url_guard_refuses_private_llm_addresses_when_not_allowed() {
    let app = app_with_llm(&[("ALLOW_PRIVATE_NETWORK_URLS", "false")]).await;
    app.ingest(
        &app.sandbox_id,
        &app.sandbox_token,
        inbound("g1", PRIVATE_CHAT, "hi"),
    )
    .await;
    let logs = app.wait_for_settled_logs(&app.sandbox_id, 1).await;
    let error = logs[0]["error"].as_str().unwrap_or_default();
    assert!(error.starts_with("refused by the URL guard"), "{error}");
    assert!(error.contains("loopback"), "{error}");
    assert!(app.llm.requests().is_empty());
}

#[tokio::test]
async fn redelivered_and_racing_jobs_reply_exactly_once() {
    let app = app_with_llm(&[]).await;
    let (acc, token) = (app.sandbox_id.clone(), app.sandbox_token.clone());
    // The worker runs this message's reply job; it is also run by hand, twice in a race and
    // once after, as redeliveries would.
    let (_, second) = app
        .ingest(&acc, &token, inbound("r2", PRIVATE_CHAT, "and again"))
        .await;
    let job = json!({"kind": "reply", "account_id": acc, "chat_id": PRIVATE_CHAT, "message_id": str_at(&second, "id")}).to_string();
    let s = app.state.clone();
    let (a, b) = tokio::join!(
        switchboard_core::dispatch::run(&s, &job),
        switchboard_core::dispatch::run(&s, &job)
    );
    let c = switchboard_core::dispatch::run(&s, &job).await;
    for outcome in [a, b, c] {
        // A run that finds another one generating is told to come back later; none fails.
        if let Err(e) = outcome {
            assert!(
                e.to_string().contains("another worker is generating"),
                "{e}"
            );
        }
    }
    app.wait_sent_replies(PRIVATE_CHAT, 1).await;
    app.until_idle().await;
    let all = app.replies(PRIVATE_CHAT).await;
    assert_eq!(all.len(), 1, "one reply: {all:?}");
    assert_eq!(app.llm.requests().len(), 1, "the LLM was asked once");

    // The send job delivered again: nothing new is sent or emitted.
    let reply_id = str_at(&all[0], "id");
    let log_id = app.wait_for_settled_logs(&acc, 1).await[0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let send =
        json!({"kind": "send", "account_id": acc, "chat_id": PRIVATE_CHAT, "message_id": reply_id, "ai_log_id": log_id})
            .to_string();
    switchboard_core::dispatch::run(&s, &send)
        .await
        .expect("send job");
    switchboard_core::dispatch::run(&s, &send)
        .await
        .expect("send job");
    assert_eq!(app.events_of("ai.reply.sent").await.len(), 1);
    assert_eq!(app.events_of("message.sent").await.len(), 1);
    assert_eq!(app.replies(PRIVATE_CHAT).await.len(), 1);
}

#[tokio::test]
async fn a_human_reply_pauses_the_ai_until_time_or_a_chat_put() {
    let app = app_with_llm(&[]).await;
    let (acc, token) = (app.sandbox_id.clone(), app.sandbox_token.clone());
    let mut human = inbound("hu-1", PRIVATE_CHAT, "I'll take this one");
    human["from_me"] = json!(true);
    app.ingest(&acc, &token, human).await;
    app.wait_for_settled_logs(&acc, 1).await;
    let (_, chat) = app
        .get(
            &format!("/v1/accounts/{acc}/chats/{PRIVATE_CHAT}/ai"),
            &app.admin,
        )
        .await;
    assert!(chat["ai_paused_until"].is_string(), "{chat}");

    app.ingest(&acc, &token, inbound("hu-2", PRIVATE_CHAT, "thanks!"))
        .await;
    let logs = app.wait_for_settled_logs(&acc, 2).await;
    let reason = logs[0]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("a human of the account replied in this chat"),
        "{reason}"
    );

    app.put(
        &format!("/v1/accounts/{acc}/chats/{PRIVATE_CHAT}/ai"),
        &app.admin,
        json!({"mode": "inherit"}),
    )
    .await;
    app.ingest(&acc, &token, inbound("hu-3", PRIVATE_CHAT, "still there?"))
        .await;
    app.wait_sent_replies(PRIVATE_CHAT, 1).await;
    assert_eq!(app.llm.requests().len(), 1);

    // An echo of Switchboard's own send (same provider id) is not a human and pauses nothing.
    let sent = app.replies(PRIVATE_CHAT).await;
    let mut echo = inbound(
        sent[0]["provider_message_id"].as_str().unwrap_or_default(),
        PRIVATE_CHAT,
        "x",
    );
    echo["from_me"] = json!(true);
    let (_, ack) = app.ingest(&acc, &token, echo).await;
    assert_eq!(ack["duplicate"], true);
    let (_, chat) = app
        .get(
            &format!("/v1/accounts/{acc}/chats/{PRIVATE_CHAT}/ai"),
            &app.admin,
        )
        .await;
    assert_eq!(chat["ai_paused_until"], Value::Null);

    app.put(
        &format!("/v1/accounts/{acc}/ai"),
        &app.admin,
        json!({"human_takeover_minutes": 0}),
    )
    .await;
    let mut human = inbound("hu-4", PRIVATE_CHAT, "me again");
    human["from_me"] = json!(true);
    app.ingest(&acc, &token, human).await;
    app.wait_for_settled_logs(&acc, 4).await;
    let (_, chat) = app
        .get(
            &format!("/v1/accounts/{acc}/chats/{PRIVATE_CHAT}/ai"),
            &app.admin,
        )
        .await;
    assert_eq!(chat["ai_paused_until"], Value::Null, "0 never pauses");
}

#[tokio::test]
async fn a_burst_within_the_debounce_window_is_answered_once_with_all_of_it() {
    let app = app_with_llm(&[]).await;
    let (acc, token) = (app.sandbox_id.clone(), app.sandbox_token.clone());
    app.put_global_ai(json!({"debounce_seconds": 1})).await;
    for (i, text) in ["hi", "I ordered a bike", "order 42, where is it?"]
        .iter()
        .enumerate()
    {
        app.ingest(
            &acc,
            &token,
            inbound(&format!("burst-{i}"), PRIVATE_CHAT, text),
        )
        .await;
    }
    let logs = app.wait_for_settled_logs(&acc, 3).await;
    let sent: Vec<_> = logs.iter().filter(|l| l["status"] == "sent").collect();
    assert_eq!(sent.len(), 1, "{logs:?}");
    assert_eq!(logs.iter().filter(|l| l["status"] == "skipped").count(), 2);
    assert_eq!(app.llm.requests().len(), 1);
    let contents: Vec<_> = app.llm.requests()[0].body["messages"]
        .as_array()
        .map(|m| m.iter().skip(1).map(|m| m["content"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(
        contents,
        [
            json!("hi"),
            json!("I ordered a bike"),
            json!("order 42, where is it?")
        ]
    );
}

#[tokio::test]
async fn a_reply_is_not_sent_stale_when_a_newer_message_came_first() {
    let app = app_with_llm(&[]).await;
    let (acc, token) = (app.sandbox_id.clone(), app.sandbox_token.clone());
    app.put_global_ai(json!({"debounce_seconds": 1, "reply_delay_seconds": 3}))
        .await;
    app.ingest(&acc, &token, inbound("s-1", PRIVATE_CHAT, "first question"))
        .await;
    eventually(
        Duration::from_secs(10),
        "the first reply to be generated",
        || async { (app.llm.requests().len() == 1).then_some(()) },
    )
    .await;
    app.ingest(
        &acc,
        &token,
        inbound("s-2", PRIVATE_CHAT, "actually, another"),
    )
    .await;
    let logs = eventually(
        Duration::from_secs(20),
        "both replies to settle",
        || async {
            let logs = app.logs(&format!("account_id={acc}")).await;
            (logs.len() == 2 && logs.iter().all(|l| l["status"] != "generated")).then_some(logs)
        },
    )
    .await;
    let first = logs
        .iter()
        .find(|l| l["reply"] == "reply to: first question")
        .cloned()
        .unwrap_or_default();
    assert_eq!(first["status"], "skipped", "{logs:?}");
    assert!(
        first["reason"]
            .as_str()
            .unwrap_or_default()
            .starts_with("a newer message arrived before the reply went out")
    );
    let all = app.replies(PRIVATE_CHAT).await;
    assert_eq!(all.iter().filter(|m| m["status"] == "sent").count(), 1);
    assert_eq!(all.iter().filter(|m| m["status"] == "cancelled").count(), 1);
}

#[tokio::test]
async fn groups_need_a_mention_or_a_reply_to_the_account() {
    let app = app_with_llm(&[]).await;
    let (acc, token) = (app.sandbox_id.clone(), app.sandbox_token.clone());
    app.put_global_ai(json!({"reply_to_groups": true})).await;
    app.ingest(&acc, &token, inbound("gm-1", GROUP, "anyone?"))
        .await;
    assert_eq!(
        app.wait_for_settled_logs(&acc, 1).await[0]["reason"],
        "group message does not mention the account (groups_require_mention)"
    );
    let mut mention = inbound("gm-2", GROUP, "@shop are you open?");
    mention["mentions_me"] = json!(true);
    app.ingest(&acc, &token, mention).await;
    let sent = app.wait_sent_replies(GROUP, 1).await;
    let mut quoting = inbound("gm-3", GROUP, "and tomorrow?");
    quoting["reply_to_message_id"] = sent[0]["provider_message_id"].clone();
    app.ingest(&acc, &token, quoting).await;
    app.wait_sent_replies(GROUP, 2).await;
    // Replying to someone else's message is not addressing the account.
    let mut other = inbound("gm-4", GROUP, "me too");
    other["reply_to_message_id"] = json!("gm-1");
    app.ingest(&acc, &token, other).await;
    let logs = app.wait_for_settled_logs(&acc, 4).await;
    assert_eq!(
        logs[0]["reason"],
        "group message does not mention the account (groups_require_mention)"
    );
    assert_eq!(app.llm.requests().len(), 2);
}

#[tokio::test]
async fn the_loop_guard_stops_replies_after_the_hourly_limit() {
    let app = app_with_llm(&[]).await;
    let (acc, token) = (app.sandbox_id.clone(), app.sandbox_token.clone());
    app.put(
        &format!("/v1/accounts/{acc}/ai"),
        &app.admin,
        json!({"max_replies_per_chat_per_hour": 2}),
    )
    .await;
    for i in 0..3 {
        app.ingest(
            &acc,
            &token,
            inbound(&format!("loop-{i}"), PRIVATE_CHAT, "bot says hi"),
        )
        .await;
        app.wait_for_settled_logs(&acc, i + 1).await;
    }
    let logs = app.wait_for_settled_logs(&acc, 3).await;
    assert_eq!(logs[0]["status"], "skipped");
    assert_eq!(
        logs[0]["reason"],
        "2 replies in this chat in the last hour (max_replies_per_chat_per_hour = 2)"
    );
    assert_eq!(app.replies(PRIVATE_CHAT).await.len(), 2);
}

#[tokio::test]
async fn the_test_endpoints_answer_with_the_config_in_force() {
    let app = app_with_llm(&[]).await;
    let (acc, token) = (app.sandbox_id.clone(), app.sandbox_token.clone());
    app.put(
        &format!("/v1/accounts/{acc}/ai"),
        &app.admin,
        json!({"model_name": "acc-model"}),
    )
    .await;

    let (status, body) = app
        .post(
            "/v1/ai/chat/test",
            &token,
            json!({"message": "Do you open on Sundays?"}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    assert_eq!(body["reply"], "reply to: Do you open on Sundays?");
    assert_eq!(body["model"], "acc-model");
    assert_eq!(body["sent"], false);
    assert_eq!(body["config_source"]["model_name"], "account");
    assert_eq!(body["config_source"]["api_key"], "global");
    assert_eq!(body["config_source"]["temperature"], "default");

    let (status, body) = app
        .post(
            "/v1/ai/chat/test",
            &token,
            json!({"message": "ping", "chat_id": PRIVATE_CHAT, "send_to_chat": true}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    assert_eq!(body["sent"], true);
    let sent = app.wait_sent_replies(PRIVATE_CHAT, 1).await;
    assert_eq!(sent[0]["text"], "reply to: ping");

    let (status, body) = app
        .post(
            "/v1/ai/admin/test",
            &app.admin,
            json!({"message": "global?"}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    assert_eq!(body["model"], "gpt-4.1-mini");
    assert_eq!(body["config_source"]["model_name"], "default");
    let (_, body) = app
        .post(
            "/v1/ai/admin/test",
            &app.admin,
            json!({"message": "acc?", "account_id": acc, "chat_id": PRIVATE_CHAT}),
        )
        .await;
    assert_eq!(body["model"], "acc-model");

    let (status, body) = app
        .post("/v1/ai/chat/test", &app.admin, json!({"message": "x"}))
        .await;
    assert_eq!(status, reqwest::StatusCode::FORBIDDEN, "{body}");
    let (status, _) = app
        .post("/v1/ai/admin/test", &token, json!({"message": "x"}))
        .await;
    assert_eq!(status, reqwest::StatusCode::FORBIDDEN);
    let (status, body) = app
        .post(
            "/v1/ai/chat/test",
            &token,
            json!({"message": "x", "send_to_chat": true}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["field"].clone()),
        (reqwest::StatusCode::UNPROCESSABLE_ENTITY, json!("chat_id"))
    );

    app.llm.set(Behaviour::Status(503, "overloaded".into()));
    let (status, body) = app
        .post("/v1/ai/chat/test", &token, json!({"message": "x"}))
        .await;
    assert_eq!(status, reqwest::StatusCode::BAD_GATEWAY);
    assert_eq!(body["error"]["code"], "llm_error");

    app.put_global_ai(json!({"api_key": null})).await;
    let (status, body) = app
        .post("/v1/ai/chat/test", &token, json!({"message": "x"}))
        .await;
    // The request is fine; the configuration is not ready for it.
    assert_eq!(status, reqwest::StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "no_api_key");
}

#[tokio::test]
async fn an_account_token_sees_only_its_own_logs() {
    let app = app_with_llm(&[]).await;
    let (other, other_token) = app.create_account("other").await;
    app.ingest(&other, &other_token, inbound("o1", PRIVATE_CHAT, "hi"))
        .await;
    app.ingest(
        &app.sandbox_id,
        &app.sandbox_token,
        inbound("s1", PRIVATE_CHAT, "hi"),
    )
    .await;
    app.wait_for_settled_logs(&other, 1).await;
    app.wait_for_settled_logs(&app.sandbox_id, 1).await;
    let (_, mine) = app.get("/v1/ai/logs", &other_token).await;
    let items = mine["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["account_id"], other.as_str());
    let (status, _) = app
        .get(
            &format!("/v1/ai/logs?account_id={}", app.sandbox_id),
            &other_token,
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::NOT_FOUND);
    let (status, _) = app.get("/v1/ai/logs?status=pending", &app.admin).await;
    assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY);
}

/// API.md, "The AI reply flow" step 3: a send waiting for confirmation, or cancelled, never
/// reached the customer, so the model does not read it as something the account said.
#[tokio::test]
async fn the_conversation_holds_only_what_the_customer_could_have_seen() {
    let app = app_with_llm(&[]).await;
    let (acc, token) = (app.sandbox_id.clone(), app.sandbox_token.clone());
    let (status, created) = app
        .post(
            "/v1/api-keys",
            &app.admin,
            json!({"name": "careful", "phone_ids": ["*"], "channels": ["*"],
                "recipient_allowlist": null, "rate_limit_per_minute": 60,
                "require_confirmation": true}),
        )
        .await;
    assert_eq!(status.as_u16(), 201, "{created}");
    let key = str_at(&created, "key");
    let mut pending = Vec::new();
    for text in ["Your refund is approved.", "Your order is cancelled."] {
        let (status, sent) = app
            .post(
                "/api/v1/messages",
                &key,
                json!({"phone_id": acc, "channel": "wa", "to": "+15551234567", "text": text}),
            )
            .await;
        assert_eq!(status.as_u16(), 202, "{sent}");
        pending.push(str_at(&sent, "id"));
    }
    let (status, _) = app
        .post(
            &format!("/api/v1/messages/{}/cancel", pending[1]),
            &key,
            json!({}),
        )
        .await;
    assert_eq!(status.as_u16(), 200);
    app.ingest(&acc, &token, inbound("seen-1", PRIVATE_CHAT, "Any news?"))
        .await;
    app.wait_sent_replies(PRIVATE_CHAT, 1).await;
    let asked = app.llm.requests().remove(0).body["messages"].clone();
    let said: Vec<&str> = asked
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert!(said.contains(&"Any news?"), "{asked}");
    for unsent in ["Your refund is approved.", "Your order is cancelled."] {
        assert!(!said.contains(&unsent), "{unsent:?} never left: {asked}");
    }
}

/// An LLM that answers 429 with `Retry-After` is asked again after that wait, within the
/// reply's `timeout_seconds`, as OpenAI's own clients do.
#[tokio::test]
async fn a_rate_limited_llm_is_asked_again_after_its_retry_after() {
    let app = app_with_llm(&[]).await;
    let (acc, token) = (app.sandbox_id.clone(), app.sandbox_token.clone());
    app.llm.set(Behaviour::Throttled {
        times: 1,
        retry_after: 1,
    });
    let asked = Instant::now();
    app.ingest(&acc, &token, inbound("busy-1", PRIVATE_CHAT, "Hello?"))
        .await;
    let sent = app.wait_sent_replies(PRIVATE_CHAT, 1).await;
    assert_eq!(sent[0]["text"], "reply to: Hello?");
    assert_eq!(app.llm.requests().len(), 2, "a 429, then the answer");
    assert!(
        asked.elapsed() >= Duration::from_secs(1),
        "after Retry-After"
    );
    let logs = app.wait_for_settled_logs(&acc, 1).await;
    assert_eq!(logs[0]["status"], "sent");

    // A wait longer than the reply may take is not waited for: it fails at once, saying why.
    app.put_global_ai(json!({"timeout_seconds": 2})).await;
    app.llm.set(Behaviour::Throttled {
        times: 1,
        retry_after: 30,
    });
    app.ingest(
        &acc,
        &token,
        inbound("busy-2", PRIVATE_CHAT, "Still there?"),
    )
    .await;
    let logs = app.wait_for_settled_logs(&acc, 2).await;
    assert_eq!(logs[0]["status"], "failed", "{logs:?}");
    assert!(
        logs[0]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("429"),
        "{logs:?}"
    );
}

/// One payload per event name: `ai.reply.failed` carries the AI log row whether the LLM or the
/// send failed, and `message.status` has the contract's shape on the send path too.
#[tokio::test]
async fn each_event_has_one_shape() {
    let app = app_with_llm(&[]).await;
    let (acc, token) = (app.sandbox_id.clone(), app.sandbox_token.clone());
    app.llm.set(Behaviour::Status(500, "down".into()));
    app.ingest(&acc, &token, inbound("shape-1", PRIVATE_CHAT, "Hi"))
        .await;
    let failed = app.wait_for_events("ai.reply.failed", 1).await;
    let data = &failed[0]["data"];
    for field in [
        "id",
        "account_id",
        "chat_id",
        "inbound_message_id",
        "status",
        "error",
    ] {
        assert!(data.get(field).is_some(), "{field} in {data}");
    }
    assert_eq!(data["status"], "failed");
    assert!(
        data.get("log").is_none() && data.get("message").is_none(),
        "{data}"
    );
}
