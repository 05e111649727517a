//! Relay phones: the outbox the phone pulls (each message under a lease, never to two polls),
//! its reports (forward only, repeatable), a lease that runs out, a message the phone could not
//! send coming back, and the phone's last poll on its account.

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::Duration;
use switchboard_core::domain::ids::{AccountId, MessageId};
use switchboard_core::jobs::{self, Job};
use switchboard_tests::{TestApp, eventually, spawn_app, str_at};

const SMS_CHAT: &str = "15551234567@sms";

/// A relay phone; returns its id and token.
pub(crate) async fn relay_phone(app: &TestApp) -> (String, String) {
    let (status, created) = app
        .post(
            "/v1/accounts",
            &app.admin,
            json!({"name": "Pixel", "provider": "relay", "provider_config": {"phone_number": "+15550001111", "channels": ["sms", "wa"]}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["provider_config"]["channels"], json!(["sms", "wa"]));
    (str_at(&created, "id"), str_at(&created, "token"))
}

async fn queue_text(app: &TestApp, phone: &str, token: &str, text: &str) -> String {
    let (status, queued) = app
        .post(
            &format!("/v1/accounts/{phone}/messages"),
            token,
            json!({"chat_id": SMS_CHAT, "text": text}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    str_at(&queued, "id")
}

async fn poll(app: &TestApp, phone: &str, token: &str, query: &str) -> Vec<Value> {
    let (status, body) = app
        .get(&format!("/api/v1/phones/{phone}/outbox?{query}"), token)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().cloned().unwrap_or_default()
}

async fn report(
    app: &TestApp,
    phone: &str,
    token: &str,
    id: &str,
    body: Value,
) -> (StatusCode, Value) {
    app.post(&format!("/api/v1/phones/{phone}/outbox/{id}"), token, body)
        .await
}

#[tokio::test]
async fn the_phone_pulls_its_messages_and_reports_them_forward_only() {
    let app = spawn_app().await;
    let (phone, token) = relay_phone(&app).await;
    let first = queue_text(&app, &phone, &token, "your code is 1234").await;
    let second = queue_text(&app, &phone, &token, "see you").await;
    app.until_idle().await; // the send jobs put them in the outbox

    let taken = poll(&app, &phone, &token, "limit=10").await;
    let ids: Vec<_> = taken.iter().map(|m| str_at(m, "id")).collect();
    assert_eq!(ids, vec![first.clone(), second.clone()], "oldest first");
    assert_eq!(taken[0]["channel"], "sms");
    assert_eq!(taken[0]["to"], "+15551234567");
    assert_eq!(taken[0]["text"], "your code is 1234");
    assert!(taken[0]["lease_until"].is_string());
    let (_, account) = app.get(&format!("/v1/accounts/{phone}"), &app.admin).await;
    assert!(account["last_seen_at"].is_string(), "{account}");
    let stored = app.messages(&phone, SMS_CHAT).await;
    assert!(
        stored.iter().all(|m| m["status"] == "sending"),
        "{stored:?}"
    );
    assert!(
        poll(&app, &phone, &token, "").await.is_empty(),
        "taken once"
    );

    let (status, sent) = report(
        &app,
        &phone,
        &token,
        &first,
        json!({"status": "sent", "provider_message_id": "sms-77"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent["status"], "sent");
    assert_eq!(sent["provider_message_id"], "sms-77");
    let (_, delivered) = report(&app, &phone, &token, &first, json!({"status": "delivered"})).await;
    assert_eq!(delivered["status"], "delivered");
    // Late and repeated reports change nothing.
    let (status, late) = report(&app, &phone, &token, &first, json!({"status": "sent"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(late["status"], "delivered");
    // Another phone's message, or one never taken, is not found.
    let (other, other_token) = relay_phone(&app).await;
    let (status, _) = report(
        &app,
        &other,
        &other_token,
        &second,
        json!({"status": "sent"}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .get(&format!("/api/v1/phones/{phone}/outbox"), &other_token)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another phone's outbox");
    let (status, _) = app
        .get(
            &format!("/api/v1/phones/{}/outbox", app.sandbox_id),
            &app.sandbox_token,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not a relay phone");
}

#[tokio::test]
async fn two_polls_at_once_never_get_the_same_message() {
    let app = spawn_app().await;
    let (phone, token) = relay_phone(&app).await;
    let mut queued = HashSet::new();
    for i in 0..30 {
        queued.insert(queue_text(&app, &phone, &token, &format!("message {i}")).await);
    }
    app.until_idle().await; // the send jobs put them in the outbox
    let (a, b) = tokio::join!(
        poll(&app, &phone, &token, "limit=20"),
        poll(&app, &phone, &token, "limit=20")
    );
    let a: HashSet<_> = a.iter().map(|m| str_at(m, "id")).collect();
    let b: HashSet<_> = b.iter().map(|m| str_at(m, "id")).collect();
    assert!(
        a.is_disjoint(&b),
        "both got {:?}",
        a.intersection(&b).collect::<Vec<_>>()
    );
    let rest: HashSet<_> = poll(&app, &phone, &token, "limit=100")
        .await
        .iter()
        .map(|m| str_at(m, "id"))
        .collect();
    let all: HashSet<_> = a.union(&b).cloned().chain(rest).collect();
    assert_eq!(all, queued, "every message handed out once");
}

#[tokio::test]
async fn a_lease_that_runs_out_fails_its_message_and_not_sent_gives_it_back() {
    let app = spawn_app().await;
    let (phone, token) = relay_phone(&app).await;
    let lost = queue_text(&app, &phone, &token, "lost").await;
    app.until_idle().await; // the send jobs put them in the outbox
    assert_eq!(poll(&app, &phone, &token, "lease_seconds=1").await.len(), 1);
    let failed = eventually(Duration::from_secs(10), "the lease to run out", || async {
        app.messages(&phone, SMS_CHAT)
            .await
            .into_iter()
            .find(|m| m["id"] == lost.as_str() && m["status"] == "failed")
    })
    .await;
    assert_eq!(failed["error"], "lease_expired");
    // A report after its lease ran out changes nothing: it was never sent twice blindly.
    let (_, late) = report(&app, &phone, &token, &lost, json!({"status": "sent"})).await;
    assert_eq!(late["status"], "failed");

    let retry = queue_text(&app, &phone, &token, "try again").await;
    app.until_idle().await; // the send jobs put them in the outbox
    assert_eq!(poll(&app, &phone, &token, "").await.len(), 1);
    let (status, back) = report(
        &app,
        &phone,
        &token,
        &retry,
        json!({"status": "failed", "error": "not_sent"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{back}");
    assert_eq!(back["status"], "queued");
    let again = poll(&app, &phone, &token, "").await;
    assert_eq!(
        again.iter().map(|m| str_at(m, "id")).collect::<Vec<_>>(),
        vec![retry.clone()]
    );
    let (_, sent) = report(&app, &phone, &token, &retry, json!({"status": "sent"})).await;
    assert_eq!(sent["status"], "sent");
}

#[tokio::test]
async fn a_lease_end_that_comes_early_waits_for_the_lease_to_run_out() {
    // SQS delays a job by 15 minutes at most: the end of an hour's lease comes early, and must
    // wait on instead of failing a message the phone still holds.
    let app = spawn_app().await;
    let (phone, token) = relay_phone(&app).await;
    let held = queue_text(&app, &phone, &token, "held").await;
    app.until_idle().await;
    let leased = poll(&app, &phone, &token, "lease_seconds=3600").await;
    let until: DateTime<Utc> = str_at(&leased[0], "lease_until").parse().expect("time");
    let early = Job::LeaseEnd {
        account_id: AccountId::parse(&phone).expect("account id"),
        message_id: MessageId::parse(&held).expect("message id"),
        until,
    };
    jobs::enqueue(&app.state, [early.now()])
        .await
        .expect("enqueue");
    app.until_idle().await;
    let message = app
        .messages(&phone, SMS_CHAT)
        .await
        .into_iter()
        .find(|m| m["id"] == held.as_str())
        .expect("the message");
    assert_eq!(message["status"], "sending", "{message}");
    let (_, sent) = report(&app, &phone, &token, &held, json!({"status": "sent"})).await;
    assert_eq!(sent["status"], "sent");
}

#[tokio::test]
async fn bad_polls_and_reports_are_refused_with_their_field() {
    let app = spawn_app().await;
    let (phone, token) = relay_phone(&app).await;
    for (query, code) in [
        ("limit=0", 422),
        ("limit=x", 400),
        ("lease_seconds=100000", 422),
    ] {
        let (status, body) = app
            .get(&format!("/api/v1/phones/{phone}/outbox?{query}"), &token)
            .await;
        assert_eq!(status.as_u16(), code, "{query}: {body}");
    }
    let id = queue_text(&app, &phone, &token, "x").await;
    app.until_idle().await; // the send jobs put them in the outbox
    poll(&app, &phone, &token, "").await;
    let (status, body) = report(&app, &phone, &token, &id, json!({"status": "read"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = report(&app, &phone, &token, "msg_nope", json!({"status": "sent"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// An AI reply handed to a relay phone stays `generated` until the phone says how its send
/// went: its report settles the AI log row (`sent`, or `failed` with the phone's words), with
/// the event.
#[tokio::test]
async fn the_phones_report_settles_an_ai_replys_log_row() {
    let app = spawn_app().await;
    let (phone, token) = relay_phone(&app).await;
    app.put_global_ai(json!({"enabled": true, "echo_mode": true, "reply_delay_seconds": 0}))
        .await;
    for (n, text) in ["first", "second"].into_iter().enumerate() {
        let (status, _) = app
            .ingest(
                &phone,
                &token,
                json!({"message_id": format!("sms-in-{n}"), "chat_id": SMS_CHAT,
                    "from": SMS_CHAT, "text": text}),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    // Each poll leases what it hands out: gather until both replies were handed.
    let gathered = std::sync::Mutex::new(Vec::<Value>::new());
    let handed = eventually(
        Duration::from_secs(15),
        "both replies in the outbox",
        || async {
            let polled = poll(&app, &phone, &token, "limit=10").await;
            let mut all = gathered.lock().expect("lock");
            all.extend(polled);
            (all.len() >= 2).then(|| all.clone())
        },
    )
    .await;
    let logs = app.logs(&format!("account_id={phone}")).await;
    assert!(logs.iter().all(|l| l["status"] == "generated"), "{logs:?}");
    let row_of = |logs: &[Value], id: &Value| {
        logs.iter()
            .find(|l| &l["reply_message_id"] == id)
            .cloned()
            .expect("a row for the reply")
    };
    let (sent, failed) = (&handed[0]["id"], &handed[1]["id"]);
    let (status, _) = report(
        &app,
        &phone,
        &token,
        sent.as_str().expect("id"),
        json!({"status": "delivered", "provider_message_id": "sms-77"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = report(
        &app,
        &phone,
        &token,
        failed.as_str().expect("id"),
        json!({"status": "failed", "error": "no signal"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    app.until_idle().await;
    let logs = app.logs(&format!("account_id={phone}")).await;
    let settled = row_of(&logs, sent);
    assert_eq!(settled["status"], "sent", "{settled}");
    assert!(settled["sent_at"].is_string(), "{settled}");
    let settled = row_of(&logs, failed);
    assert_eq!(
        (&settled["status"], &settled["error"]),
        (&json!("failed"), &json!("no signal"))
    );
}
