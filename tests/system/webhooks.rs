//! Webhooks end to end: subscriptions, signed delivery checked by an independent verifier,
//! retries on the schedule, final failure, disabling, the URL guard, and account scoping.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use switchboard_tests::receiver::{Answer, Received, Receiver, verify};
use switchboard_tests::{PRIVATE_CHAT, eventually, inbound, spawn_app, spawn_app_with, str_at};

#[test]
fn the_test_verifier_matches_the_specification_vector() {
    // The example of the Standard Webhooks specification, checked by hand against its libraries.
    let spec = Received {
        id: "msg_p5jXN8AQM9LWM0D4loKWxJek".into(),
        timestamp: "1614265330".into(),
        signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".into(),
        body: br#"{"test": 2432232314}"#.to_vec(),
        at: std::time::Instant::now(),
    };
    assert!(verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &spec));
    let tampered = Received {
        body: br#"{"test": 2432232315}"#.to_vec(),
        ..spec
    };
    assert!(!verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &tampered));
}

#[tokio::test]
async fn an_event_arrives_signed_in_the_envelope_and_is_recorded() {
    let app = spawn_app().await;
    let receiver = &app.hooks;
    let created = app
        .subscribe(&receiver.url, json!(["message.received"]), None)
        .await;
    let secret = str_at(&created, "secret");
    assert!(secret.starts_with("whsec_"), "{created}");
    let id = str_at(&created, "id");
    assert_eq!(created["disabled"], json!(false));
    assert_eq!(created["events"], json!(["message.received"]));

    let (_, listed) = app.get("/v1/webhooks", &app.admin).await;
    assert!(
        !listed.to_string().contains(&secret),
        "the secret is shown once: {listed}"
    );
    assert!(listed["items"][0].get("secret").is_none());

    let (_, msg) = app
        .ingest(
            &app.sandbox_id,
            &app.sandbox_token,
            inbound("wh-1", PRIVATE_CHAT, "hi"),
        )
        .await;
    let got = receiver.wait_for(1).await;
    let request = &got[0];
    assert!(
        verify(&secret, request),
        "signature does not verify: {request:?}"
    );
    let body = request.json();
    assert_eq!(body["type"], "message.received");
    assert_eq!(body["id"], json!(request.id), "webhook-id is the event id");
    assert!(str_at(&body, "id").starts_with("evt_"));
    assert_eq!(body["account_id"], json!(app.sandbox_id));
    assert_eq!(body["data"]["id"], msg["id"]);
    assert!(body["created_at"].is_string());
    let sent_at: i64 = request.timestamp.parse().expect("timestamp");
    assert!((chrono::Utc::now().timestamp() - sent_at).abs() < 60);

    let rows = app.wait_attempts(&id, 1).await;
    assert_eq!(rows[0]["status"], "succeeded");
    assert_eq!(rows[0]["status_code"], 200);
    assert_eq!(rows[0]["attempt"], 1);
    assert_eq!(rows[0]["event_id"], json!(request.id));
    // Only the subscribed type was delivered (the reply job's `ai.reply.skipped` was not).
    app.until_idle().await;
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn failures_are_retried_on_the_schedule_with_the_same_event_id() {
    let app = spawn_app_with(&[("WEBHOOK_RETRY_SCHEDULE", "1,1,1")]).await;
    let receiver = &app.hooks;
    receiver.answer(|n| Answer::Status(if n < 2 { 500 } else { 204 }));
    let created = app
        .subscribe(&receiver.url, json!(["message.received"]), None)
        .await;
    let secret = str_at(&created, "secret");
    app.ingest(
        &app.sandbox_id,
        &app.sandbox_token,
        inbound("wh-r", PRIVATE_CHAT, "again"),
    )
    .await;
    let got = receiver.wait_for(3).await;
    assert!(
        got.iter().all(|r| r.id == got[0].id),
        "one event id across retries"
    );
    assert!(got.iter().all(|r| verify(&secret, r)));
    for pair in got.windows(2) {
        // The schedule says one second between attempts (plus up to a tenth of jitter).
        assert!(
            pair[1].at - pair[0].at >= Duration::from_millis(950),
            "{:?}",
            pair[1].at - pair[0].at
        );
    }
    let rows = app.wait_attempts(&str_at(&created, "id"), 3).await;
    let summary: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r["attempt"].clone(),
                r["status"].clone(),
                r["status_code"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (json!(3), json!("succeeded"), json!(204)),
            (json!(2), json!("retrying"), json!(500)),
            (json!(1), json!("retrying"), json!(500)),
        ]
    );
    assert!(rows[1]["next_retry_at"].is_string() && rows[0]["next_retry_at"].is_null());
    // The endpoint's health is written just after its attempt.
    let after = eventually(
        Duration::from_secs(10),
        "a success ends the failing streak",
        || async {
            let w = app.webhook(&str_at(&created, "id")).await;
            w.get("failing_since").is_none().then_some(w)
        },
    )
    .await;
    assert_eq!(after["disabled"], json!(false));
    app.until_idle().await;
    assert_eq!(receiver.received().len(), 3, "nothing after the success");
}

#[tokio::test]
async fn a_throttled_retry_waits_as_long_as_the_receiver_asks() {
    let app = spawn_app_with(&[("WEBHOOK_RETRY_SCHEDULE", "1")]).await;
    let receiver = &app.hooks;
    receiver.answer(|n| {
        if n == 0 {
            Answer::Throttle(429, 3)
        } else {
            Answer::Status(200)
        }
    });
    let created = app
        .subscribe(&receiver.url, json!(["message.received"]), None)
        .await;
    app.ingest(
        &app.sandbox_id,
        &app.sandbox_token,
        inbound("wh-t", PRIVATE_CHAT, "x"),
    )
    .await;
    let got = receiver.wait_for(2).await;
    let gap = got[1].at - got[0].at;
    // The schedule says one second; the receiver asked for three.
    assert!(gap >= Duration::from_millis(2950), "{gap:?}");
    let rows = app.wait_attempts(&str_at(&created, "id"), 2).await;
    assert_eq!(rows[1]["status_code"], 429);
    assert_eq!(rows[0]["status"], "succeeded");
}

#[tokio::test]
async fn the_last_failure_is_final() {
    let app = spawn_app_with(&[("WEBHOOK_RETRY_SCHEDULE", "1,1")]).await;
    let failing = &app.hooks;
    failing.answer(|_| Answer::Status(503));
    let created = app
        .subscribe(&failing.url, json!(["message.received"]), None)
        .await;
    let id = str_at(&created, "id");
    app.ingest(
        &app.sandbox_id,
        &app.sandbox_token,
        inbound("wh-f", PRIVATE_CHAT, "x"),
    )
    .await;
    let rows = app.wait_attempts(&id, 3).await;
    assert_eq!(rows[0]["attempt"], 3);
    assert_eq!(
        rows[0]["status"], "failed",
        "the last attempt is final: {rows:?}"
    );
    assert!(rows[0]["next_retry_at"].is_null());
    assert_eq!(rows[0]["status_code"], 503);
    assert!(str_at(&rows[0], "error").contains("503"));
    app.until_idle().await;
    assert_eq!(failing.received().len(), 3, "no attempt after the last");
    // Failing for less than the disable window: still on, with its streak shown.
    let w = app.webhook(&id).await;
    assert_eq!(w["disabled"], json!(false));
    assert!(w["failing_since"].is_string(), "{w}");
}

#[tokio::test]
async fn an_endpoint_failing_longer_than_the_window_is_disabled_until_enabled() {
    let app = spawn_app_with(&[
        // Failing since the first attempt: the third, two seconds on, disables it although a
        // fourth attempt was planned.
        ("WEBHOOK_RETRY_SCHEDULE", "1,1,1"),
        ("WEBHOOK_DISABLE_AFTER_SECONDS", "2"),
    ])
    .await;
    let failing = &app.hooks;
    failing.answer(|_| Answer::Status(503));
    let owner = Receiver::start(Receiver::ok()).await;
    let dead = app
        .subscribe(&failing.url, json!(["message.received"]), None)
        .await;
    let dead_id = str_at(&dead, "id");
    app.subscribe(&owner.url, json!(["webhook.disabled"]), None)
        .await;
    app.ingest(
        &app.sandbox_id,
        &app.sandbox_token,
        inbound("wh-f", PRIVATE_CHAT, "x"),
    )
    .await;

    let told = owner.wait_for(1).await;
    let event = told[0].json();
    assert_eq!(event["type"], "webhook.disabled");
    assert_eq!(event["data"]["webhook_id"], json!(dead_id));
    let disabled = app.webhook(&dead_id).await;
    assert_eq!(disabled["disabled"], json!(true));
    assert!(
        str_at(&disabled, "disabled_reason").contains("failed since"),
        "{disabled}"
    );
    let rows = app.attempts(&dead_id).await;
    assert_eq!(rows[0]["attempt"], 3);
    assert_eq!(
        rows[0]["status"], "retrying",
        "disabled before its retries ran out: {rows:?}"
    );

    // Disabled: neither the planned retry nor a new event is sent to it.
    app.ingest(
        &app.sandbox_id,
        &app.sandbox_token,
        inbound("wh-f2", PRIVATE_CHAT, "y"),
    )
    .await;
    app.until_idle().await;
    assert_eq!(failing.received().len(), 3);

    let (status, enabled) = app
        .post(
            &format!("/v1/webhooks/{dead_id}/enable"),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{enabled}");
    assert_eq!(enabled["disabled"], json!(false));
    assert!(enabled.get("disabled_reason").is_none());
    assert!(enabled.get("failing_since").is_none(), "{enabled}");
    // Enabled with a fresh streak: the next event reaches it, and one failure does not disable it.
    app.ingest(
        &app.sandbox_id,
        &app.sandbox_token,
        inbound("wh-f3", PRIVATE_CHAT, "z"),
    )
    .await;
    failing.wait_for(4).await;
    let w = eventually(Duration::from_secs(10), "the attempt recorded", || async {
        let w = app.webhook(&dead_id).await;
        w["failing_since"].is_string().then_some(w)
    })
    .await;
    assert_eq!(w["disabled"], json!(false), "{w}");
}

#[tokio::test]
async fn a_410_disables_the_endpoint_at_once() {
    let app = spawn_app().await;
    let gone = &app.hooks;
    gone.answer(|_| Answer::Status(410));
    let created = app.subscribe(&gone.url, json!(["*"]), None).await;
    let id = str_at(&created, "id");
    app.ingest(
        &app.sandbox_id,
        &app.sandbox_token,
        inbound("wh-g", PRIVATE_CHAT, "x"),
    )
    .await;
    let rows = app.wait_attempts(&id, 1).await;
    assert_eq!(rows[0]["status"], "failed");
    assert_eq!(rows[0]["status_code"], 410);
    let w = eventually(Duration::from_secs(10), "disabled", || async {
        let w = app.webhook(&id).await;
        (w["disabled"] == json!(true)).then_some(w)
    })
    .await;
    assert!(str_at(&w, "disabled_reason").contains("410"));
    assert!(
        app.attempts(&id)
            .await
            .iter()
            .all(|r| r["next_retry_at"].is_null()),
        "no retry is planned after 410"
    );
    app.until_idle().await;
    // Events already on their way may arrive once each; none is retried, nothing new is sent.
    let before = gone.received();
    let mut ids: Vec<_> = before.iter().map(|r| r.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), before.len(), "no retry after 410");
    app.ingest(
        &app.sandbox_id,
        &app.sandbox_token,
        inbound("wh-g2", PRIVATE_CHAT, "y"),
    )
    .await;
    app.until_idle().await;
    assert_eq!(
        gone.received().len(),
        before.len(),
        "nothing after it was disabled"
    );
}

#[tokio::test]
async fn no_delivery_reaches_a_private_address_when_the_guard_is_on() {
    let app = spawn_app_with(&[("ALLOW_PRIVATE_NETWORK_URLS", "false")]).await;
    let receiver = &app.hooks;
    // One through the resolver (a name that resolves to loopback), one as an IP literal.
    let by_name = app
        .subscribe(
            &format!("http://localhost:{}/hook", receiver.port),
            json!(["message.received"]),
            None,
        )
        .await;
    let by_ip = app
        .subscribe(&receiver.url, json!(["message.received"]), None)
        .await;
    app.ingest(
        &app.sandbox_id,
        &app.sandbox_token,
        inbound("wh-p", PRIVATE_CHAT, "x"),
    )
    .await;
    for created in [by_name, by_ip] {
        let rows = app.wait_attempts(&str_at(&created, "id"), 1).await;
        let error = str_at(&rows[0], "error");
        assert!(
            error.contains("loopback") && error.contains("ALLOW_PRIVATE_NETWORK_URLS"),
            "{error}"
        );
        assert!(rows[0]["status_code"].is_null());
    }
    assert!(
        receiver.received().is_empty(),
        "nothing reached the private address"
    );
}

#[tokio::test]
async fn a_subscriber_scoped_to_an_account_sees_only_that_accounts_events() {
    let app = spawn_app().await;
    let (other, other_token) = app.create_account("Other").await;
    let scoped = Receiver::start(Receiver::ok()).await;
    let everything = Receiver::start(Receiver::ok()).await;
    app.subscribe(
        &scoped.url,
        json!(["message.received"]),
        Some(&app.sandbox_id),
    )
    .await;
    app.subscribe(&everything.url, json!(["message.received"]), None)
        .await;
    app.ingest(&other, &other_token, inbound("wh-o", PRIVATE_CHAT, "other"))
        .await;
    app.ingest(
        &app.sandbox_id,
        &app.sandbox_token,
        inbound("wh-s", PRIVATE_CHAT, "mine"),
    )
    .await;
    let all = everything.wait_for(2).await;
    let mut accounts: Vec<_> = all
        .iter()
        .map(|r| str_at(&r.json(), "account_id"))
        .collect();
    accounts.sort();
    let mut expected = vec![app.sandbox_id.clone(), other.clone()];
    expected.sort();
    assert_eq!(accounts, expected);
    let mine = scoped.wait_for(1).await;
    app.until_idle().await;
    assert_eq!(scoped.received().len(), 1, "{:?}", scoped.received());
    assert_eq!(mine[0].json()["account_id"], json!(app.sandbox_id));
}

#[tokio::test]
async fn the_test_endpoint_sends_one_signed_event_now() {
    let app = spawn_app().await;
    let receiver = &app.hooks;
    let created = app
        .subscribe(&receiver.url, json!(["ai.reply.sent"]), None)
        .await;
    let id = str_at(&created, "id");
    let (status, attempt) = app
        .post(&format!("/v1/webhooks/{id}/test"), &app.admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{attempt}");
    assert_eq!(attempt["status"], "succeeded");
    assert_eq!(attempt["status_code"], 200);
    let got = receiver.received();
    assert_eq!(got.len(), 1, "sent before the answer");
    assert!(verify(&str_at(&created, "secret"), &got[0]));
    assert_eq!(got[0].json()["type"], "webhook.test");
    assert_eq!(app.attempts(&id).await.len(), 1);
}

#[tokio::test]
async fn a_hanging_endpoint_does_not_hold_back_the_others() {
    let app = spawn_app_with(&[("WEBHOOK_TIMEOUT_SECONDS", "30")]).await;
    let hanging = &app.hooks;
    hanging.answer(|_| Answer::Hold);
    let fast = Receiver::start(Receiver::ok()).await;
    app.subscribe(&hanging.url, json!(["message.received"]), None)
        .await;
    app.subscribe(&fast.url, json!(["message.received"]), None)
        .await;
    for i in 0..40 {
        app.ingest(
            &app.sandbox_id,
            &app.sandbox_token,
            inbound(&format!("wh-h{i}"), PRIVATE_CHAT, "x"),
        )
        .await;
    }
    // Every event reaches the fast endpoint while the hanging one holds its first ones.
    fast.wait_for(40).await;
    let held = hanging.received().len();
    assert!(
        (1..=8).contains(&held),
        "the hanging endpoint holds at most 8 at once, got {held}"
    );
    // Once it answers, the rest reach it too, never more than 8 at a time.
    hanging.release();
    hanging.wait_for(40).await;
    app.until_idle().await;
    assert_eq!(hanging.received().len(), 40, "each event once");
    assert_eq!(hanging.most_open(), 8, "8 at a time per endpoint");
}

#[tokio::test]
async fn bad_subscriptions_are_refused_with_the_field() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({"url": "ftp://x", "events": ["*"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "url",
        ),
        (
            json!({"url": "https://example.com", "events": ["nope"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "events[0]",
        ),
        (
            json!({"url": "https://example.com", "events": []}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "events",
        ),
        (
            json!({"url": "https://example.com", "events": ["*", "message.sent"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "events",
        ),
        (
            json!({"url": "https://example.com", "events": ["*"], "account_id": "acc_nope"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "account_id",
        ),
        (
            json!({"url": "https://example.com", "events": ["*"], "extra": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "",
        ),
    ];
    for (body, status, field) in cases {
        let (got, err) = app.post("/v1/webhooks", &app.admin, body.clone()).await;
        assert_eq!(got, status, "{body}: {err}");
        if !field.is_empty() {
            assert_eq!(err["error"]["field"], json!(field), "{body}: {err}");
        }
    }
    let unknown_account = json!({"url": "https://example.com", "events": ["*"], "account_id": "acc_01JZZZZZZZZZZZZZZZZZZZZZZZ"});
    assert_eq!(
        app.post("/v1/webhooks", &app.admin, unknown_account)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let ok = json!({"url": "https://example.com", "events": ["*"]});
    assert_eq!(
        app.post("/v1/webhooks", &app.sandbox_token, ok).await.0,
        StatusCode::FORBIDDEN
    );
    let (_, listed) = app.get("/v1/webhooks", &app.admin).await;
    assert_eq!(listed["items"], json!([]), "nothing was written");
    let missing = "/v1/webhooks/wh_01JZZZZZZZZZZZZZZZZZZZZZZZ";
    assert_eq!(
        app.call("DELETE", missing, Some(&app.admin), None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("{missing}/deliveries"), &app.admin)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.post(&format!("{missing}/test"), &app.admin, json!({}))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_deleted_subscription_gets_nothing_more() {
    let app = spawn_app().await;
    let receiver = &app.hooks;
    let created = app
        .subscribe(&receiver.url, json!(["message.received"]), None)
        .await;
    let id = str_at(&created, "id");
    // Delivered once first, so the subscription is in the fan-out's cache when it is deleted.
    app.ingest(
        &app.sandbox_id,
        &app.sandbox_token,
        inbound("wh-d1", PRIVATE_CHAT, "x"),
    )
    .await;
    receiver.wait_for(1).await;
    let (status, _) = app
        .call(
            "DELETE",
            &format!("/v1/webhooks/{id}"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.ingest(
        &app.sandbox_id,
        &app.sandbox_token,
        inbound("wh-d2", PRIVATE_CHAT, "y"),
    )
    .await;
    app.until_idle().await;
    assert_eq!(receiver.received().len(), 1, "nothing after the delete");
    assert_eq!(
        app.get(&format!("/v1/webhooks/{id}"), &app.admin).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_retry_due_later_than_a_queue_can_delay_waits_in_hops() {
    let app = switchboard_tests::spawn_app_keeping_events(&[]).await;
    let receiver = &app.hooks;
    let created = app.subscribe(&receiver.url, json!(["*"]), None).await;
    let due = (chrono::Utc::now() + chrono::Duration::hours(3))
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let event = json!({"id": "evt_01JZZZZZZZZZZZZZZZZZZZZZZZ", "type": "message.sent",
        "created_at": "2026-01-01T00:00:00Z", "account_id": app.sandbox_id, "data": {}});
    // Written with the job's earlier name, as a queue from before the rename holds it.
    let job = json!({"kind": "deliver", "webhook_id": str_at(&created, "id"), "event": event,
        "attempt": 5, "not_before": due});
    switchboard_core::dispatch::run(&app.state, &job.to_string())
        .await
        .expect("run");
    let queue = &app.running.as_ref().expect("running").queue;
    let waiting: Vec<Value> = queue
        .peek(switchboard_core::ports::QueueName::Webhook)
        .await
        .expect("peek")
        .iter()
        .filter_map(|b| serde_json::from_str(b).ok())
        .filter(|j: &Value| j["kind"] == "deliver_webhook")
        .collect();
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert_eq!(waiting[0]["attempt"], 5);
    assert_eq!(
        waiting[0]["not_before"],
        json!(due),
        "the hop keeps the due time"
    );
    let hidden = queue
        .next_visible_in(switchboard_core::ports::QueueName::Webhook)
        .await
        .expect("next")
        .expect("a job waits");
    // The longest delay a queue offers (SQS: 15 minutes), not the three hours.
    assert!(
        hidden > Duration::from_secs(890) && hidden <= Duration::from_secs(900),
        "{hidden:?}"
    );
    assert!(receiver.received().is_empty());
    assert!(app.attempts(&str_at(&created, "id")).await.is_empty());
}

/// A delivery waiting for its retry when its account is deleted goes out no more: nobody is
/// told about an account that is gone.
#[tokio::test]
async fn a_deleted_accounts_waiting_deliveries_do_not_go_out() {
    let app = spawn_app_with(&[("WEBHOOK_RETRY_SCHEDULE", "2,2")]).await;
    let receiver = &app.hooks;
    receiver.answer(|_| Answer::Status(500));
    let created = app
        .subscribe(&receiver.url, json!(["message.received"]), None)
        .await;
    let (account, token) = app.create_account("leaving").await;
    app.ingest(&account, &token, inbound("wh-gone", PRIVATE_CHAT, "bye"))
        .await;
    receiver.wait_for(1).await;
    let (status, _) = app
        .call(
            "DELETE",
            &format!("/v1/accounts/{account}"),
            Some(&app.admin),
            None,
        )
        .await;
    assert!(status.is_success(), "{status}");
    app.until_idle().await;
    assert_eq!(receiver.count(), 1, "the retry did not go out");
    let rows = app.attempts(&str_at(&created, "id")).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
}

/// An event goes on the webhook queue only when a subscription wants it: with none, nothing is
/// queued; one scoped to another account does not want this one's; one for this account does.
#[tokio::test]
async fn an_event_no_subscription_wants_is_not_queued() {
    let app = switchboard_tests::spawn_app_keeping_events(&[]).await;
    // The harness keeps events with a catch-all subscription: gone, nobody wants anything.
    let (status, hooks) = app.get("/v1/webhooks", &app.admin).await;
    assert_eq!(status, StatusCode::OK, "{hooks}");
    for hook in hooks["items"].as_array().expect("items") {
        let path = format!("/v1/webhooks/{}", str_at(hook, "id"));
        let (status, body) = app.call("DELETE", &path, Some(&app.admin), None).await;
        assert!(status.is_success(), "{status} {body}");
    }
    let (a, a_token) = app.create_account("a").await;
    let (b, b_token) = app.create_account("b").await;
    let ingested = |account: &str, token: &str, id: &str| {
        let (account, token, id) = (account.to_string(), token.to_string(), id.to_string());
        let app = &app;
        async move {
            let (status, body) = app
                .ingest(&account, &token, inbound(&id, PRIVATE_CHAT, "hi"))
                .await;
            assert!(status.is_success(), "{status} {body}");
        }
    };
    // Queued (or not) before ingest answers: what is on the queue now is all there will be.
    ingested(&a, &a_token, "wamid.none").await;
    assert_eq!(app.events().await, Vec::<Value>::new());

    let scoped = json!({"url": "https://hooks.example.com/b", "events": ["message.received"],
        "account_id": b});
    let (status, body) = app.post("/v1/webhooks", &app.admin, scoped).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    ingested(&a, &a_token, "wamid.other").await;
    assert_eq!(app.events().await, Vec::<Value>::new(), "not account a's");
    ingested(&b, &b_token, "wamid.wanted").await;
    let queued = app.events().await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0]["type"], "message.received");
    assert_eq!(queued[0]["account_id"], json!(b));
}
