//! The client messages API: keys with policy, the checks in the contract's order (each refusal
//! audited), idempotency, confirmation and expiry, scoping, the relay outbox, and the audit.

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_core::domain::idempotency::{Begun, IdempotencyKey};
use switchboard_core::domain::ids::{ApiKeyId, MessageId};
use switchboard_core::jobs::{self, Job};
use switchboard_tests::fake_llm::Behaviour;
use switchboard_tests::{TestApp, eventually, spawn_app, str_at};

const CUSTOMER: &str = "+15551234567";

/// A key with `policy` (the fields of `POST /v1/api-keys` besides the name); returns (id, key).
pub(crate) async fn key(app: &TestApp, policy: Value) -> (String, String) {
    let mut body = json!({"name": "assistant", "phone_ids": ["*"], "channels": ["*"],
        "recipient_allowlist": null, "rate_limit_per_minute": 600, "require_confirmation": false});
    for (k, v) in policy.as_object().expect("object") {
        body[k] = v.clone();
    }
    let (status, created) = app.post("/v1/api-keys", &app.admin, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    (str_at(&created, "id"), str_at(&created, "key"))
}

async fn send(app: &TestApp, key: &str, body: Value) -> (StatusCode, Value) {
    app.post("/api/v1/messages", key, body).await
}

fn sms(phone: &str, text: &str) -> Value {
    json!({"phone_id": phone, "channel": "sms", "to": CUSTOMER, "text": text})
}

async fn audit(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, body) = app.get(&format!("/api/v1/audit?{query}"), &app.admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().cloned().unwrap_or_default()
}

async fn message(app: &TestApp, key: &str, id: &str) -> (StatusCode, Value) {
    app.get(&format!("/api/v1/messages/{id}"), key).await
}

pub(crate) async fn wait_status(app: &TestApp, key: &str, id: &str, status: &str) -> Value {
    eventually(std::time::Duration::from_secs(10), status, || async {
        let (_, m) = message(app, key, id).await;
        (m["status"] == status).then_some(m)
    })
    .await
}

#[tokio::test]
async fn a_key_is_shown_once_listed_without_its_secret_and_refused_once_deleted() {
    let app = spawn_app().await;
    let (id, secret) = key(&app, json!({})).await;
    assert!(secret.starts_with(&format!("sbk_{id}_")), "{secret}");
    let (_, listed) = app.get("/v1/api-keys", &app.admin).await;
    assert_eq!(listed["items"][0]["id"], id.as_str());
    assert!(
        !listed.to_string().contains(&secret),
        "never listed: {listed}"
    );
    let (status, _) = send(&app, &secret, sms(&app.sandbox_id, "hi")).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _) = app
        .call(
            "DELETE",
            &format!("/v1/api-keys/{id}"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(&app, &secret, sms(&app.sandbox_id, "hi")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "refused at once");
    let (status, _) = app.post("/v1/api-keys", &secret, json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a key is no admin");
    let actions: Vec<_> = audit(&app, &format!("key_id={id}"))
        .await
        .iter()
        .map(|r| r["action"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(actions, ["key_delete", "send", "key_create"]);
}

#[tokio::test]
async fn a_send_is_queued_sent_and_in_its_chat_with_a_time_per_status() {
    let app = spawn_app().await;
    let (_, secret) = key(&app, json!({})).await;
    let (status, accepted) = send(
        &app,
        &secret,
        json!({"phone_id": app.sandbox_id, "channel": "wa", "to": " +15551234567", "text": "Your order shipped", "source": "orders-bot"}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    assert_eq!(accepted["status"], "queued");
    assert_eq!(accepted["to"], CUSTOMER, "normalized");
    assert_eq!(accepted["channel"], "wa");
    assert!(accepted["confirm_url"].is_null());
    let id = str_at(&accepted, "id");
    let sent = wait_status(&app, &secret, &id, "sent").await;
    for s in ["queued", "sending", "sent"] {
        assert!(sent["status_times"][s].is_string(), "{s}: {sent}");
    }
    assert_eq!(sent["source"], "orders-bot");
    assert_eq!(sent["chat_id"], "15551234567@s.whatsapp.net");
    let chat = app
        .messages(&app.sandbox_id, "15551234567@s.whatsapp.net")
        .await;
    assert_eq!(chat.len(), 1, "{chat:?}");
    assert_eq!(chat[0]["id"], id.as_str());
    assert_eq!(chat[0]["origin"], "api");
}

#[tokio::test]
async fn each_check_refuses_in_the_contracts_order_and_is_audited() {
    let app = spawn_app().await;
    let (other_phone, _) = app.create_account("second").await;
    let email = app
        .post(
            "/v1/accounts",
            &app.admin,
            json!({"name": "mailer", "provider": "email", "provider_config": {"smtp_url": "smtp://user:pass@127.0.0.1:2525", "from": "shop@example.com"}}),
        )
        .await;
    assert_eq!(email.0, StatusCode::CREATED, "{}", email.1);
    let email_phone = str_at(&email.1, "id");
    let (key_id, secret) = key(
        &app,
        json!({"phone_ids": [app.sandbox_id, email_phone], "channels": ["sms", "email"],
               "recipient_allowlist": [CUSTOMER, "ann@example.com"], "rate_limit_per_minute": 1}),
    )
    .await;
    let sandbox = app.sandbox_id.clone();
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (
            json!({"phone_id": sandbox, "channel": "sms", "to": CUSTOMER, "text": "x", "colour": "red"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_field",
        ),
        (
            json!({"phone_id": sandbox, "channel": "fax", "to": CUSTOMER, "text": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_value",
        ),
        (
            json!({"phone_id": sandbox, "channel": "sms", "to": "15551234567", "text": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_recipient",
        ),
        (
            json!({"phone_id": sandbox, "channel": "sms", "to": CUSTOMER, "text": ""}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_value",
        ),
        (
            json!({"phone_id": sandbox, "channel": "sms", "text": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_value",
        ),
        (
            json!({"phone_id": sandbox, "channel": "sms", "to": CUSTOMER, "text": "x", "subject": "s"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_value",
        ),
        // The body is fine; the policy refuses, phone before channel before recipient.
        (
            json!({"phone_id": other_phone, "channel": "wa", "to": "+15550000000", "text": "x"}),
            StatusCode::FORBIDDEN,
            "phone_not_allowed",
        ),
        (
            json!({"phone_id": sandbox, "channel": "wa", "to": "+15550000000", "text": "x"}),
            StatusCode::FORBIDDEN,
            "channel_not_allowed",
        ),
        (
            json!({"phone_id": email_phone, "channel": "sms", "to": "+15550000000", "text": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "channel_not_supported",
        ),
        (
            json!({"phone_id": sandbox, "channel": "sms", "to": "+15550000000", "text": "x"}),
            StatusCode::FORBIDDEN,
            "recipient_not_allowed",
        ),
    ];
    for (body, status, code) in &cases {
        let (got, answer) = send(&app, &secret, body.clone()).await;
        assert_eq!(
            (got, answer["error"]["code"].as_str()),
            (*status, Some(*code)),
            "{body}: {answer}"
        );
    }
    // Nothing refused so far took from the rate of 1 a minute.
    let (status, first) = send(&app, &secret, sms(&sandbox, "one")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    let (status, limited) = app
        .client
        .post(format!("{}/api/v1/messages", app.base))
        .bearer_auth(&secret)
        .json(&sms(&sandbox, "two"))
        .send()
        .await
        .map(|r| (r.status(), r.headers().get("retry-after").cloned()))
        .expect("request");
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = limited
        .and_then(|v| v.to_str().ok().and_then(|s| s.parse().ok()))
        .expect("Retry-After");
    assert!((55..=60).contains(&wait), "the rest of the minute: {wait}");
    let (status, _) = send(&app, "sbk_nonsense", sms(&sandbox, "x")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let refused = audit(&app, &format!("key_id={key_id}&outcome=refused")).await;
    let mut codes: Vec<_> = refused
        .iter()
        .map(|r| r["code"].as_str().unwrap_or_default().to_string())
        .collect();
    codes.reverse();
    let mut expected: Vec<_> = cases.iter().map(|(_, _, c)| c.to_string()).collect();
    expected.push("rate_limited".into());
    assert_eq!(codes, expected);
    let recipient = refused
        .iter()
        .find(|r| r["code"] == "recipient_not_allowed")
        .expect("row");
    assert_eq!(recipient["to"], "+15550000000");
    assert_eq!(recipient["phone_id"], sandbox.as_str());
    assert_eq!(recipient["actor"], format!("key:{key_id}"));
    let anonymous = audit(&app, "outcome=refused").await;
    assert!(
        anonymous.iter().any(|r| r["code"] == "unauthorized"),
        "{anonymous:?}"
    );
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer_and_refuses_a_changed_body() {
    let app = spawn_app().await;
    let (key_id, secret) = key(
        &app,
        json!({"rate_limit_per_minute": 2, "recipient_allowlist": [CUSTOMER]}),
    )
    .await;
    let mut body = sms(&app.sandbox_id, "Your code is 1234");
    body["idempotency_key"] = json!("order-77");
    let (status, first) = send(&app, &secret, body.clone()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    let res = app
        .client
        .post(format!("{}/api/v1/messages", app.base))
        .bearer_auth(&secret)
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["idempotent-replayed"], "true");
    let again: Value = res.json().await.expect("json");
    assert_eq!(again, first, "the first answer, as it was");
    // A replay took nothing from the rate of 2: one more send fits.
    let (status, _) = send(&app, &secret, sms(&app.sandbox_id, "second")).await;
    assert_eq!(status, StatusCode::ACCEPTED);

    let mut changed = body.clone();
    changed["text"] = json!("Your code is 9999");
    let (status, reused) = send(&app, &secret, changed).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(reused["error"]["code"], "idempotency_key_reused");

    let (_, secret2) = key(&app, json!({})).await;
    // Keys are per API key: another key's "order-77" is its own.
    let (status, _) = send(&app, &secret2, body.clone()).await;
    assert_eq!(status, StatusCode::ACCEPTED);

    // While a request with the key is in flight, a second is refused.
    let held = IdempotencyKey {
        api_key: ApiKeyId::parse(&key_id).expect("id"),
        key: "in-flight".into(),
    };
    let begun = app
        .state
        .store
        .begin_idempotent(&held, "fingerprint", chrono::Utc::now())
        .await
        .expect("begin");
    assert_eq!(begun, Begun::Taken);
    let mut racing = body.clone();
    racing["idempotency_key"] = json!("in-flight");
    let (status, busy) = send(&app, &secret, racing).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(busy["error"]["code"], "idempotency_in_progress");
    let replays = audit(&app, &format!("key_id={key_id}&outcome=accepted"))
        .await
        .iter()
        .filter(|r| r["action"] == "replay")
        .count();
    assert_eq!(replays, 1);
}

#[tokio::test]
async fn a_refused_request_under_a_key_leaves_the_key_free() {
    let app = spawn_app().await;
    let (_, secret) = key(&app, json!({"recipient_allowlist": [CUSTOMER]})).await;
    let mut refused = sms(&app.sandbox_id, "x");
    refused["to"] = json!("+15550000000");
    refused["idempotency_key"] = json!("k1");
    let (status, _) = send(&app, &secret, refused).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let mut fixed = sms(&app.sandbox_id, "x");
    fixed["idempotency_key"] = json!("k1");
    let (status, answer) = send(&app, &secret, fixed).await;
    assert_eq!(status, StatusCode::ACCEPTED, "not a 409: {answer}");
}

#[tokio::test]
async fn a_pending_send_waits_for_confirmation_and_can_be_cancelled() {
    let app = spawn_app().await;
    let (_, secret) = key(&app, json!({"require_confirmation": true})).await;
    let (_, other) = key(&app, json!({})).await;
    let (status, pending) = send(&app, &secret, sms(&app.sandbox_id, "Pay now?")).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(pending["status"], "pending_confirmation");
    let id = str_at(&pending, "id");
    assert!(
        str_at(&pending, "confirm_url").ends_with(&format!("/dashboard/confirm/{id}")),
        "{pending}"
    );
    app.until_idle().await;
    let (_, still) = message(&app, &secret, &id).await;
    assert_eq!(
        still["status"], "pending_confirmation",
        "never sent unconfirmed"
    );
    assert!(still["expires_at"].is_string());
    // Another key does not see it; an admin does.
    let (status, _) = message(&app, &other, &id).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .post(&format!("/api/v1/messages/{id}/confirm"), &other, json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = message(&app, &app.admin, &id).await;
    assert_eq!(status, StatusCode::OK);
    // What waits for a person: an admin's list.
    let waiting = "/api/v1/messages?status=pending_confirmation";
    let (status, listed) = app.get(waiting, &app.admin).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["items"][0]["id"], id.as_str(), "{listed}");
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1));
    let (status, _) = app.get(waiting, &secret).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a key is no admin");
    let (status, bad) = app.get("/api/v1/messages?status=sent", &app.admin).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad["error"]["field"], "status");

    let (status, confirmed) = app
        .post(
            &format!("/api/v1/messages/{id}/confirm"),
            &secret,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{confirmed}");
    let (status, twice) = app
        .post(
            &format!("/api/v1/messages/{id}/confirm"),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "confirming twice is harmless: {twice}"
    );
    let (_, listed) = app.get(waiting, &app.admin).await;
    assert_eq!(listed["items"], json!([]), "confirmed: off the list");
    let sent = wait_status(&app, &secret, &id, "sent").await;
    assert!(sent["status_times"]["pending_confirmation"].is_string());
    assert!(sent["status_times"]["queued"].is_string());
    let (status, late) = app
        .post(&format!("/api/v1/messages/{id}/cancel"), &secret, json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{late}");

    let (_, second) = send(&app, &secret, sms(&app.sandbox_id, "Really?")).await;
    let id = str_at(&second, "id");
    let (status, cancelled) = app
        .post(&format!("/api/v1/messages/{id}/cancel"), &secret, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cancelled["status"], "cancelled");
    let (status, again) = app
        .post(&format!("/api/v1/messages/{id}/cancel"), &secret, json!({}))
        .await;
    assert_eq!(
        (status, &again["status"]),
        (StatusCode::OK, &json!("cancelled"))
    );
    let (status, refused) = app
        .post(
            &format!("/api/v1/messages/{id}/confirm"),
            &secret,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(refused["error"]["code"], "message_cancelled");
    app.until_idle().await;
    let (_, m) = message(&app, &secret, &id).await;
    assert_eq!(m["status"], "cancelled", "never sent");
}

/// Moves a pending message's deadline into the past, as if 15 minutes had gone by.
async fn lapse(app: &TestApp, id: &str) -> switchboard_core::domain::message::Message {
    let store = &app.state.store;
    let id = MessageId::parse(id).expect("id");
    let mut m = store
        .find_message(&id)
        .await
        .expect("find")
        .expect("message");
    let client = m.client.as_mut().expect("a client's send");
    client.expires_at = Some(chrono::Utc::now() - chrono::Duration::seconds(1));
    // A copy with the past deadline, under a new id (messages are written once).
    m.id = MessageId::from_ulid(ulid::Ulid::new());
    let row = switchboard_core::usecases::audit::audit_row(
        &app.state,
        "test".into(),
        None,
        switchboard_core::domain::audit::AuditAction::Send,
        switchboard_core::domain::audit::AuditOutcome::Accepted,
    );
    store
        .record_client_send(&m, &row, None)
        .await
        .expect("record");
    m
}

#[tokio::test]
async fn a_pending_send_expires_after_its_time_whether_read_or_not() {
    let app = spawn_app().await;
    let (_, secret) = key(&app, json!({"require_confirmation": true})).await;
    let (_, pending) = send(&app, &secret, sms(&app.sandbox_id, "Pay now?")).await;
    let read = lapse(&app, &str_at(&pending, "id")).await;
    let (_, m) = message(&app, &secret, read.id.as_str()).await;
    assert_eq!(
        (&m["status"], &m["error"]),
        (&json!("cancelled"), &json!("expired")),
        "{m}"
    );
    let (status, refused) = app
        .post(
            &format!("/api/v1/messages/{}/confirm", read.id),
            &secret,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");

    let unread = lapse(&app, &str_at(&pending, "id")).await;
    jobs::enqueue(&app.state, [Job::expire(&unread).now()])
        .await
        .expect("enqueue");
    app.until_idle().await;
    let stored = app
        .state
        .store
        .find_message(&unread.id)
        .await
        .expect("find")
        .expect("message");
    assert_eq!(stored.error.as_deref(), Some("expired"));
    let expiries = audit(&app, "outcome=accepted")
        .await
        .iter()
        .filter(|r| r["action"] == "expire" && r["actor"] == "system")
        .count();
    assert_eq!(expiries, 2);
    // The original, not yet due, is untouched by its own early expiry job.
    let (_, original) = message(&app, &secret, &str_at(&pending, "id")).await;
    assert_eq!(original["status"], "pending_confirmation");
}

#[tokio::test]
async fn a_relay_phone_takes_client_sends_from_its_outbox() {
    let app = spawn_app().await;
    let (status, created) = app
        .post(
            "/v1/accounts",
            &app.admin,
            json!({"name": "Pixel", "provider": "relay", "provider_config": {"phone_number": "+15550001111"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (phone, token) = (str_at(&created, "id"), str_at(&created, "token"));
    let (_, secret) = key(&app, json!({"phone_ids": [phone]})).await;
    let (_, sms_send) = send(&app, &secret, sms(&phone, "your code is 1234")).await;
    let (status, notify) = send(
        &app,
        &secret,
        json!({"phone_id": phone, "channel": "notify", "text": "Battery low"}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{notify}");
    let (status, tg) = send(
        &app,
        &secret,
        json!({"phone_id": phone, "channel": "tg", "to": "@durov_fan", "text": "hello"}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{tg}");
    app.until_idle().await;
    let (status, body) = app
        .get(&format!("/api/v1/phones/{phone}/outbox?limit=10"), &token)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let items = body["items"].as_array().cloned().unwrap_or_default();
    let seen: Vec<_> = items
        .iter()
        .map(|i| (str_at(i, "channel"), str_at(i, "to")))
        .collect();
    assert_eq!(
        seen,
        [
            ("sms".to_string(), CUSTOMER.to_string()),
            ("notify".to_string(), String::new()),
            ("tg".to_string(), "@durov_fan".to_string())
        ]
    );
    let id = str_at(&sms_send, "id");
    let (_, m) = message(&app, &secret, &id).await;
    assert_eq!(m["status"], "sending");
    let (status, _) = app
        .post(
            &format!("/api/v1/phones/{phone}/outbox/{id}"),
            &token,
            json!({"status": "delivered", "provider_message_id": "sms-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, m) = message(&app, &secret, &id).await;
    assert_eq!(m["status"], "delivered");
    assert!(m["status_times"]["sending"].is_string(), "{m}");
    assert!(m["status_times"]["delivered"].is_string(), "{m}");
    // The notification has no chat; the SMS is in its conversation.
    let (_, n) = message(&app, &secret, &str_at(&notify, "id")).await;
    assert!(n["chat_id"].is_null(), "{n}");
    let (_, chats) = app
        .get(&format!("/v1/accounts/{phone}/chats"), &app.admin)
        .await;
    let chat_ids: Vec<_> = chats["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|c| str_at(c, "chat_id"))
        .collect();
    assert!(chat_ids.contains(&"15551234567@sms".to_string()), "{chats}");
    assert!(!chat_ids.iter().any(|c| c.ends_with("@notify")), "{chats}");
}

async fn draft(app: &TestApp, key: &str, instruction: &str) -> (StatusCode, Value) {
    app.post(
        "/api/v1/assistant/draft",
        key,
        json!({"phone_id": app.sandbox_id, "instruction": instruction}),
    )
    .await
}

#[tokio::test]
async fn a_draft_from_good_json_is_stored_pending_and_never_sent_unconfirmed() {
    let app = spawn_app().await;
    app.use_llm().await;
    // The key itself does not require confirmation: a draft is pending whatever the key says.
    let (_, secret) = key(&app, json!({"channels": ["sms", "wa"]})).await;
    app.llm.set(Behaviour::Fixed(
        json!({"action": "send_message", "channel": "sms", "to": CUSTOMER, "text": "Your order shipped", "subject": null}).to_string(),
    ));
    let (status, drafted) = draft(&app, &secret, "tell the customer the order shipped").await;
    assert_eq!(status, StatusCode::OK, "{drafted}");
    assert_eq!(drafted["decision"]["allowed"], true);
    assert_eq!(drafted["status"], "pending_confirmation");
    assert!(drafted["confirm_url"].is_string());
    let asked = app.llm.requests().remove(0).body;
    assert_eq!(asked["response_format"]["type"], "json_schema");
    assert_eq!(
        asked["response_format"]["json_schema"]["schema"]["properties"]["channel"]["enum"],
        json!(["sms", "wa"]),
        "only the channels the key and the phone allow"
    );
    let id = str_at(&drafted, "id");
    app.until_idle().await;
    let (_, m) = message(&app, &secret, &id).await;
    assert_eq!(m["status"], "pending_confirmation");
    assert_eq!(m["text"], "Your order shipped");
    let (status, _) = app
        .post(
            &format!("/api/v1/messages/{id}/confirm"),
            &secret,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    wait_status(&app, &secret, &id, "sent").await;
}

#[tokio::test]
async fn a_draft_naming_a_refused_recipient_is_stored_cancelled() {
    let app = spawn_app().await;
    app.use_llm().await;
    let (key_id, secret) = key(&app, json!({"recipient_allowlist": [CUSTOMER]})).await;
    app.llm.set(Behaviour::Fixed(format!(
        "Sure! ```json\n{}\n```",
        json!({"action": "send_message", "channel": "sms", "to": "+15550000000", "text": "Pay me", "subject": null})
    )));
    let (status, drafted) = draft(&app, &secret, "ask the stranger for money").await;
    assert_eq!(status, StatusCode::OK, "{drafted}");
    assert_eq!(drafted["decision"]["allowed"], false);
    assert_eq!(drafted["decision"]["code"], "recipient_not_allowed");
    assert_eq!(drafted["status"], "cancelled");
    let id = str_at(&drafted, "id");
    let (status, refused) = app
        .post(
            &format!("/api/v1/messages/{id}/confirm"),
            &secret,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    let rows = audit(&app, &format!("key_id={key_id}&outcome=refused")).await;
    let actions: Vec<(&Value, &Value)> = rows.iter().map(|r| (&r["action"], &r["code"])).collect();
    assert_eq!(
        actions,
        [
            (&json!("confirm"), &json!("message_cancelled")),
            (&json!("draft"), &json!("recipient_not_allowed")),
        ],
        "the refused confirmation is audited too, newest first"
    );
}

#[tokio::test]
async fn a_model_without_schemas_is_asked_for_json_then_text_and_bad_output_is_refused() {
    let app = spawn_app().await;
    app.use_llm().await;
    let (_, secret) = key(&app, json!({})).await;
    let good = json!({"action": "send_message", "channel": "wa", "to": CUSTOMER, "text": "Hi", "subject": null}).to_string();
    app.llm.set(Behaviour::Refusing(
        vec!["json_schema", "json_object"],
        good,
    ));
    let (status, drafted) = draft(&app, &secret, "say hi").await;
    assert_eq!(status, StatusCode::OK, "{drafted}");
    assert_eq!(drafted["status"], "pending_confirmation");
    let formats: Vec<_> = app
        .llm
        .requests()
        .iter()
        .map(|r| r.body["response_format"]["type"].clone())
        .collect();
    assert_eq!(
        formats,
        [json!("json_schema"), json!("json_object"), Value::Null]
    );

    for output in [
        "I cannot help with that.".to_string(),
        json!({"action": "delete_everything", "channel": "wa", "to": CUSTOMER, "text": "x", "subject": null}).to_string(),
        json!({"action": "send_message", "channel": "wa", "to": CUSTOMER, "text": "x", "subject": null, "bcc": "all"}).to_string(),
    ] {
        app.llm.set(Behaviour::Fixed(output.clone()));
        let (status, refused) = draft(&app, &secret, "do it").await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{output}: {refused}");
        assert_eq!(refused["error"]["code"], "llm_invalid_output");
    }
    // Valid JSON with an invalid recipient is refused like user input, and nothing is stored.
    app.llm.set(Behaviour::Fixed(
        json!({"action": "send_message", "channel": "sms", "to": "call me", "text": "x", "subject": null}).to_string(),
    ));
    let (status, refused) = draft(&app, &secret, "do it").await;
    assert_eq!(status, StatusCode::OK, "{refused}");
    assert_eq!(refused["decision"]["code"], "invalid_recipient");
    assert!(refused["id"].is_null());
}

#[tokio::test]
async fn a_phone_that_does_not_exist_is_404_and_a_phone_without_an_llm_cannot_draft() {
    let app = spawn_app().await;
    let (_, secret) = key(&app, json!({})).await;
    let missing = "acc_01JABCDEFGHJKMNPQRSTVWXYZ0";
    let (status, err) = send(&app, &secret, sms(missing, "x")).await;
    assert_eq!(
        (status, err["error"]["code"].clone()),
        (StatusCode::NOT_FOUND, json!("not_found"))
    );
    let (status, err) = app
        .post(
            "/api/v1/assistant/draft",
            &secret,
            json!({"phone_id": missing, "instruction": "say hi"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{err}");
    // No key configured at any level: the request is fine, the configuration is not ready.
    let (status, err) = draft(&app, &secret, "say hi").await;
    assert_eq!(
        (status, err["error"]["code"].clone()),
        (StatusCode::CONFLICT, json!("no_api_key"))
    );
    let refused: Vec<Value> = audit(&app, "outcome=refused").await;
    let codes: Vec<&str> = refused.iter().filter_map(|r| r["code"].as_str()).collect();
    assert_eq!(
        codes.iter().filter(|c| **c == "not_found").count(),
        2,
        "{codes:?}"
    );
    assert!(codes.contains(&"no_api_key"), "{codes:?}");
}
