//! WhatsApp Cloud API end to end, against a fake Graph API: Meta's handshake, signed
//! notifications shaped as Meta's documentation shows them (every item of a batch, each kind of
//! message mapped), statuses that only move forward, sends and the typing indicator, and the
//! errors that are final or retried.

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_tests::fake_graph::{ACCESS_TOKEN, GraphAnswer};
use switchboard_tests::{TestApp, spawn_app, str_at};

pub(crate) const APP_SECRET: &str = "3f1c-app-secret";
const VERIFY_TOKEN: &str = "meatyhamhock";
const PHONE_NUMBER_ID: &str = "106540352242922";
pub(crate) const CUSTOMER: &str = "16505551234";

/// A WhatsApp Cloud account; returns its id.
pub(crate) async fn whatsapp_account(app: &TestApp) -> String {
    let (status, created) = app
        .post(
            "/v1/accounts",
            &app.admin,
            json!({"name": "Bike shop", "provider": "whatsapp_cloud", "provider_config": {
                "phone_number_id": PHONE_NUMBER_ID, "access_token": ACCESS_TOKEN,
                "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    str_at(&created, "id")
}

/// `sha256=` and the lowercase hex HMAC-SHA256 of the bytes, as Meta signs them.
fn signature(secret: &str, body: &[u8]) -> String {
    switchboard_tests::fake_graph::hub_signature(secret, body)
}

/// POSTs raw bytes to the account's WhatsApp webhook with a signature header (or none).
async fn deliver(
    app: &TestApp,
    account: &str,
    body: &[u8],
    signature: Option<String>,
) -> (StatusCode, Value) {
    let mut request = app
        .client
        .post(format!("{}/v1/ingest/whatsapp/{account}", app.base))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(s) = signature {
        request = request.header("X-Hub-Signature-256", s);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Signed with the account's app secret, as Meta sends it.
pub(crate) async fn notify(app: &TestApp, account: &str, notification: &Value) -> Value {
    let body = notification.to_string().into_bytes();
    let (status, answer) = deliver(app, account, &body, Some(signature(APP_SECRET, &body))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer
}

/// Meta's envelope around one change's value.
pub(crate) fn envelope(values: Vec<Value>) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": values.into_iter().enumerate().map(|(i, value)| json!({
            "id": format!("10286431589{i}"),
            "changes": [{"value": value, "field": "messages"}],
        })).collect::<Vec<_>>(),
    })
}

pub(crate) fn metadata() -> Value {
    json!({"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID})
}

/// A `messages` value as in Meta's text messages reference.
pub(crate) fn text_value(wamid: &str, text: &str) -> Value {
    text_value_at(wamid, text, &switchboard_tests::wa_timestamp(0))
}

/// The same, written at `timestamp` (Unix seconds).
pub(crate) fn text_value_at(wamid: &str, text: &str, timestamp: &str) -> Value {
    json!({
        "messaging_product": "whatsapp",
        "metadata": metadata(),
        "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": CUSTOMER}],
        "messages": [{"from": CUSTOMER, "id": wamid, "timestamp": timestamp, "type": "text",
            "text": {"body": text}}],
    })
}

/// A `statuses` value as in Meta's status messages reference.
pub(crate) fn status_value(wamid: &str, status: &str) -> Value {
    let mut item = json!({"id": wamid, "status": status, "timestamp": "1750263773",
        "recipient_id": CUSTOMER,
        "pricing": {"billable": false, "pricing_model": "PMP", "type": "free_customer_service", "category": "service"}});
    if status == "sent" {
        item["conversation"] =
            json!({"id": "ccbbd6b8c5b4d3a7e5f9f2f1", "origin": {"type": "service"}});
    }
    json!({"messaging_product": "whatsapp", "metadata": metadata(), "statuses": [item]})
}

async fn chat_messages(app: &TestApp, account: &str, chat: &str) -> Vec<Value> {
    app.messages(account, chat).await
}

pub(crate) fn customer_chat() -> String {
    format!("{CUSTOMER}@s.whatsapp.net")
}

#[tokio::test]
async fn the_handshake_answers_the_challenge_only_for_the_verify_token() {
    let app = spawn_app().await;
    let account = whatsapp_account(&app).await;
    let url = |query: &str| format!("{}/v1/ingest/whatsapp/{account}?{query}", app.base);
    let ok = app
        .client
        .get(url(&format!(
            "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token={VERIFY_TOKEN}"
        )))
        .send()
        .await
        .expect("request");
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(
        ok.headers()["content-type"].to_str().ok(),
        Some("text/plain")
    );
    assert_eq!(ok.text().await.expect("body"), "1158201444");
    for query in [
        "hub.mode=subscribe&hub.challenge=1&hub.verify_token=wrong".to_string(),
        "hub.mode=subscribe&hub.challenge=1".to_string(),
        format!("hub.mode=unsubscribe&hub.challenge=1&hub.verify_token={VERIFY_TOKEN}"),
    ] {
        let refused = app.client.get(url(&query)).send().await.expect("request");
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{query}");
    }
}

#[tokio::test]
async fn a_bad_missing_or_reserialised_signature_is_401_and_stores_nothing() {
    let app = spawn_app().await;
    let account = whatsapp_account(&app).await;
    let notification = envelope(vec![text_value("wamid.SIG", "héllo")]);
    // Meta signs the bytes it sends, with non-ASCII escaped; the same JSON written another way
    // (here: pretty-printed, with the character itself) has another signature.
    let sent = serde_json::to_vec(&notification).expect("bytes");
    let rewritten = serde_json::to_vec_pretty(&notification).expect("bytes");
    let cases = [
        (sent.clone(), None),
        (sent.clone(), Some(signature("another secret", &sent))),
        (sent.clone(), Some("sha256=zz".to_string())),
        (rewritten, Some(signature(APP_SECRET, &sent))),
    ];
    for (body, sig) in cases {
        let (status, answer) = deliver(&app, &account, &body, sig.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{sig:?}: {answer}");
        assert_eq!(answer["error"]["code"], "unauthorized");
    }
    app.until_idle().await;
    let (_, chats) = app
        .get(&format!("/v1/accounts/{account}/chats"), &app.admin)
        .await;
    assert_eq!(chats["items"], json!([]), "nothing stored");
    // The same bytes, signed right, are taken.
    let answer = notify(&app, &account, &notification).await;
    assert_eq!(answer["messages"], 1);
}

#[tokio::test]
async fn every_kind_of_message_maps_as_the_contract_says() {
    let app = spawn_app().await;
    let account = whatsapp_account(&app).await;
    let group = "Y2FwaV9ncm91cDoxNzA1NTU1MDEzOToxMjAzNjM0MDQ2OTQyMzM4MjAZD";
    let value = json!({
        "messaging_product": "whatsapp",
        "metadata": metadata(),
        "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": CUSTOMER}],
        "messages": [
            {"from": CUSTOMER, "id": "wamid.IMG", "timestamp": switchboard_tests::wa_timestamp(0), "type": "image",
             "image": {"caption": "my bike", "mime_type": "image/jpeg", "sha256": "abc", "id": "1003383421387256"}},
            {"context": {"from": "15550783881", "id": "wamid.OFFER"},
             "from": CUSTOMER, "id": "wamid.BTN", "timestamp": switchboard_tests::wa_timestamp(1), "type": "interactive",
             "interactive": {"type": "button_reply", "button_reply": {"id": "cancel-button", "title": "Cancel"}}},
            {"from": CUSTOMER, "id": "wamid.LIST", "timestamp": switchboard_tests::wa_timestamp(2), "type": "interactive",
             "interactive": {"type": "list_reply", "list_reply": {"id": "r1", "title": "Repairs", "description": "Fix a flat"}}},
            {"from": CUSTOMER, "id": "wamid.TPL", "timestamp": switchboard_tests::wa_timestamp(3), "type": "button",
             "button": {"payload": "yes", "text": "Yes please"}},
            {"from": CUSTOMER, "id": "wamid.RX", "timestamp": switchboard_tests::wa_timestamp(4), "type": "reaction",
             "reaction": {"message_id": "wamid.BTN", "emoji": "\u{1F44D}"}},
            {"from": CUSTOMER, "id": "wamid.UNS", "timestamp": switchboard_tests::wa_timestamp(5), "type": "unsupported",
             "errors": [{"code": 131051, "title": "Message type unknown"}]},
            {"from": CUSTOMER, "group_id": group, "id": "wamid.GRP", "timestamp": switchboard_tests::wa_timestamp(6),
             "type": "text", "text": {"body": "in the group"}},
        ],
    });
    let answer = notify(&app, &account, &envelope(vec![value])).await;
    assert_eq!(answer["messages"], 7, "{answer}");
    let private = chat_messages(&app, &account, &customer_chat()).await;
    let by_id = |id: &str| {
        private
            .iter()
            .find(|m| m["provider_message_id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} not stored: {private:?}"))
    };
    assert_eq!(by_id("wamid.IMG")["text"], "my bike");
    assert_eq!(by_id("wamid.BTN")["text"], "Cancel");
    assert_eq!(by_id("wamid.BTN")["reply_to_message_id"], "wamid.OFFER");
    assert_eq!(by_id("wamid.LIST")["text"], "Repairs");
    assert_eq!(by_id("wamid.TPL")["text"], "Yes please");
    assert_eq!(
        by_id("wamid.RX")["text"],
        Value::Null,
        "a reaction has no text"
    );
    assert_eq!(by_id("wamid.UNS")["text"], Value::Null);
    assert_eq!(by_id("wamid.IMG")["from"], CUSTOMER);
    let (_, chats) = app
        .get(&format!("/v1/accounts/{account}/chats"), &app.admin)
        .await;
    let private_chat = chats["items"]
        .as_array()
        .and_then(|c| {
            c.iter()
                .find(|c| c["chat_id"] == customer_chat().as_str())
                .cloned()
        })
        .expect("the private chat");
    assert_eq!(private_chat["name"], "Sheena Nelson", "the push name");
    let in_group = chat_messages(&app, &account, &format!("{group}@g.us")).await;
    assert_eq!(in_group.len(), 1);
    assert_eq!(in_group[0]["text"], "in the group");
}

#[tokio::test]
async fn a_batch_of_two_entries_stores_both_and_a_redelivery_replies_once() {
    let app = spawn_app().await;
    let account = whatsapp_account(&app).await;
    app.put_global_ai(json!({"enabled": true, "echo_mode": true, "reply_delay_seconds": 0}))
        .await;
    let batch = envelope(vec![
        text_value("wamid.A", "first"),
        text_value("wamid.B", "second"),
    ]);
    let answer = notify(&app, &account, &batch).await;
    assert_eq!(
        (answer["messages"].clone(), answer["duplicates"].clone()),
        (json!(2), json!(0))
    );
    app.graph.wait_for_sends(2).await;
    // Meta delivers at least once: the same notification again is stored once, answered once.
    let again = notify(&app, &account, &batch).await;
    assert_eq!(again["duplicates"], 2);
    app.until_idle().await;
    let sends = app.graph.sends();
    assert_eq!(sends.len(), 2, "{sends:?}");
    let mut texts: Vec<_> = sends
        .iter()
        .map(|s| s.body["text"]["body"].clone())
        .collect();
    texts.sort_by_key(|t| t.to_string());
    assert_eq!(texts, vec![json!("first"), json!("second")]);
    let stored = chat_messages(&app, &account, &customer_chat()).await;
    assert_eq!(stored.iter().filter(|m| m["from_me"] == false).count(), 2);
}

#[tokio::test]
async fn a_notification_larger_than_an_api_body_is_taken_up_to_the_providers_limit() {
    let app = spawn_app().await;
    let account = whatsapp_account(&app).await;
    // Meta batches up to 3 MB: over the API's 1 MiB, under the 4 MiB a provider may send.
    let mut batch = envelope(vec![text_value("wamid.BIG", "hello")]);
    batch["padding"] = json!("x".repeat(3 * 1024 * 1024));
    let answer = notify(&app, &account, &batch).await;
    assert_eq!(answer["messages"], 1, "{answer}");
    batch["padding"] = json!("x".repeat(5 * 1024 * 1024));
    let body = batch.to_string().into_bytes();
    let (status, answer) = deliver(&app, &account, &body, Some(signature(APP_SECRET, &body))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
}

#[tokio::test]
async fn a_reply_goes_to_the_graph_api_after_typing_and_its_statuses_only_move_forward() {
    let app = spawn_app().await;
    let account = whatsapp_account(&app).await;
    app.subscribe(&app.hooks.url, json!(["message.status"]), None)
        .await;
    app.put_global_ai(json!({"enabled": true, "echo_mode": true, "reply_delay_seconds": 1}))
        .await;
    notify(
        &app,
        &account,
        &envelope(vec![text_value("wamid.IN", "hello")]),
    )
    .await;
    let sends = app.graph.wait_for_sends(1).await;
    let send = &sends[0];
    assert_eq!(send.path, format!("/v23.0/{PHONE_NUMBER_ID}/messages"));
    assert_eq!(
        send.authorization.as_deref(),
        Some(format!("Bearer {ACCESS_TOKEN}").as_str())
    );
    assert_eq!(
        send.body,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER,
            "type": "text", "text": {"body": "hello"}})
    );
    // "Typing…" was shown, marking the customer's message read, before the reply.
    let typing = app.graph.typing_calls();
    assert_eq!(
        typing.iter().map(|t| t.body.clone()).collect::<Vec<_>>(),
        vec![
            json!({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN",
            "typing_indicator": {"type": "text"}})
        ]
    );
    let requests = app.graph.requests();
    let order: Vec<_> = requests
        .iter()
        .map(|r| r.body.get("typing_indicator").is_some())
        .collect();
    assert_eq!(order, vec![true, false], "typing, then the reply");

    let reply = app
        .wait_sent_replies_of(&account, &customer_chat(), 1)
        .await
        .remove(0);
    let wamid = str_at(&reply, "provider_message_id");
    // Out of order, and repeated: read first, then the older ones.
    for status in ["read", "delivered", "sent", "read"] {
        notify(
            &app,
            &account,
            &envelope(vec![status_value(&wamid, status)]),
        )
        .await;
    }
    app.until_idle().await;
    let reply = app.replies_of(&account, &customer_chat()).await.remove(0);
    assert_eq!(reply["status"], "read", "it ends at the highest");
    let told: Vec<_> = app
        .hooks
        .received()
        .iter()
        .map(|r| r.json())
        .filter(|e| e["type"] == "message.status")
        .map(|e| e["data"]["status"].clone())
        .collect();
    assert_eq!(told, vec![json!("read")], "one event, for the one move");
}

#[tokio::test]
async fn a_reply_meta_refuses_as_outside_the_window_fails_once_with_its_code() {
    let app = spawn_app().await;
    let account = whatsapp_account(&app).await;
    app.graph.answer(|_| GraphAnswer::Error {
        code: 131047,
        status: 400,
    });
    app.put_global_ai(json!({"enabled": true, "echo_mode": true, "reply_delay_seconds": 0}))
        .await;
    notify(
        &app,
        &account,
        &envelope(vec![text_value("wamid.OLD", "are you there?")]),
    )
    .await;
    let logs = app.wait_for_settled_logs(&account, 1).await;
    assert_eq!(logs[0]["status"], "failed");
    assert_eq!(
        logs[0]["error"],
        "outside the 24-hour customer service window"
    );
    app.until_idle().await;
    assert_eq!(app.graph.sends().len(), 1, "not retried");
    let reply = app.replies_of(&account, &customer_chat()).await.remove(0);
    assert_eq!(reply["status"], "failed");
    assert_eq!(
        reply["error"],
        "outside the 24-hour customer service window"
    );
    assert_eq!(reply["error_code"], "outside_service_window");
}

#[tokio::test]
async fn a_throttled_send_is_retried_and_then_sent() {
    let app = spawn_app().await;
    let account = whatsapp_account(&app).await;
    app.graph.answer(|n| {
        if n == 0 {
            GraphAnswer::Error {
                code: 130429,
                status: 400,
            }
        } else {
            GraphAnswer::Accepted
        }
    });
    app.put_global_ai(json!({"enabled": true, "echo_mode": true, "reply_delay_seconds": 0}))
        .await;
    notify(
        &app,
        &account,
        &envelope(vec![text_value("wamid.BUSY", "hi")]),
    )
    .await;
    let logs = app.wait_for_settled_logs(&account, 1).await;
    assert_eq!(logs[0]["status"], "sent", "{logs:?}");
    app.until_idle().await;
    assert_eq!(app.graph.sends().len(), 2, "one refusal, one send");
}

#[tokio::test]
async fn an_accepted_send_without_its_id_is_never_sent_again() {
    let app = spawn_app().await;
    let account = whatsapp_account(&app).await;
    app.graph.answer(|_| GraphAnswer::AcceptedWithoutId);
    app.put_global_ai(json!({"enabled": true, "echo_mode": true, "reply_delay_seconds": 0}))
        .await;
    notify(
        &app,
        &account,
        &envelope(vec![text_value("wamid.ODD", "hi")]),
    )
    .await;
    app.wait_for_settled_logs(&account, 1).await;
    app.until_idle().await;
    assert_eq!(app.graph.sends().len(), 1, "sent once, not again");
    let reply = chat_messages(&app, &account, &customer_chat())
        .await
        .into_iter()
        .find(|m| m["from_me"] == true)
        .expect("the reply");
    assert_eq!(reply["status"], "failed", "{reply}");
    assert!(
        str_at(&reply, "error").contains("not sent again"),
        "{reply}"
    );
}

async fn connect(app: &TestApp, account: &str) -> (StatusCode, Value) {
    let path = format!("/v1/accounts/{account}/connect");
    app.post(&path, &app.admin, json!({})).await
}

/// On AWS the template gives the api function `INGEST_URL`, the ingest function's own URL:
/// Meta posts there (no API Gateway request per notification), whatever `PUBLIC_API_URL` says.
#[tokio::test]
async fn connect_hands_out_the_ingest_url_when_there_is_one() {
    let app = switchboard_tests::spawn_app_with(&[
        ("PUBLIC_API_URL", "https://switchboard.example.com"),
        ("INGEST_URL", "https://abc123.lambda-url.us-east-1.on.aws/"),
    ])
    .await;
    let account = whatsapp_account(&app).await;
    let (status, connected) = connect(&app, &account).await;
    assert_eq!(status, StatusCode::OK, "{connected}");
    assert_eq!(
        connected["webhook_url"],
        format!("https://abc123.lambda-url.us-east-1.on.aws/v1/ingest/whatsapp/{account}")
    );
}

#[tokio::test]
async fn connect_checks_the_credentials_and_says_what_to_paste_into_meta() {
    let app = spawn_app_with_public_url().await;
    let account = whatsapp_account(&app).await;
    let (status, connected) = connect(&app, &account).await;
    assert_eq!(status, StatusCode::OK, "{connected}");
    assert_eq!(connected["provider"], "whatsapp_cloud");
    assert_eq!(connected["connected"], true);
    assert_eq!(
        connected["webhook_url"],
        format!("https://switchboard.example.com/v1/ingest/whatsapp/{account}")
    );
    assert_eq!(connected["verify_token"], VERIFY_TOKEN);
    assert!(
        str_at(&connected, "detail").contains("Bike Shop"),
        "{connected}"
    );

    // A refused token: 422 with Meta's own words.
    app.patch(
        &format!("/v1/accounts/{account}"),
        &app.admin,
        json!({"provider_config": {"access_token": "expired"}}),
    )
    .await;
    let (status, refused) = app
        .post(
            &format!("/v1/accounts/{account}/connect"),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["code"], "provider_refused");
    assert!(
        str_at(&refused["error"], "message").contains("(#190)"),
        "{refused}"
    );
}

async fn spawn_app_with_public_url() -> TestApp {
    switchboard_tests::spawn_app_with(&[("PUBLIC_API_URL", "https://switchboard.example.com")])
        .await
}

/// API.md step 6: "typing…" starts when the reply job begins (marking the customer's message
/// read), so it shows while the model writes even when the reply goes at once.
#[tokio::test]
async fn typing_and_the_read_receipt_come_first_even_without_a_delay() {
    let app = spawn_app().await;
    let account = whatsapp_account(&app).await;
    app.put_global_ai(json!({"enabled": true, "echo_mode": true, "reply_delay_seconds": 0}))
        .await;
    notify(
        &app,
        &account,
        &envelope(vec![text_value("wamid.NOW", "quick question")]),
    )
    .await;
    app.graph.wait_for_sends(1).await;
    let order: Vec<Value> = app
        .graph
        .requests()
        .iter()
        .map(|r| r.body.clone())
        .collect();
    assert_eq!(order.len(), 2, "{order:?}");
    assert_eq!(
        order[0],
        json!({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.NOW",
            "typing_indicator": {"type": "text"}})
    );
    assert_eq!(order[1]["type"], "text");
}

/// A `failed` status after Meta accepted the send (131047 comes this way too) settles the
/// reply's AI log row as failed, with `ai.reply.failed` in the same shape as any other, and
/// `message.status` in the contract's.
#[tokio::test]
async fn a_late_failed_status_settles_the_ai_log_row() {
    let app = spawn_app().await;
    let account = whatsapp_account(&app).await;
    app.subscribe(
        &app.hooks.url,
        json!(["ai.reply.failed", "message.status"]),
        None,
    )
    .await;
    app.put_global_ai(json!({"enabled": true, "echo_mode": true, "reply_delay_seconds": 0}))
        .await;
    notify(
        &app,
        &account,
        &envelope(vec![text_value("wamid.LATE", "hello?")]),
    )
    .await;
    let reply = app
        .wait_sent_replies_of(&account, &customer_chat(), 1)
        .await
        .remove(0);
    let logs = app.wait_for_settled_logs(&account, 1).await;
    assert_eq!(logs[0]["status"], "sent");
    assert_eq!(logs[0]["reply_message_id"], reply["id"]);
    let wamid = str_at(&reply, "provider_message_id");
    let failed = json!({"messaging_product": "whatsapp", "metadata": metadata(), "statuses": [{
        "id": wamid, "status": "failed", "timestamp": "1750263790", "recipient_id": CUSTOMER,
        "errors": [{"code": 131047, "title": "Re-engagement message",
            "message": "Re-engagement message",
            "error_data": {"details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}}]}]});
    notify(&app, &account, &envelope(vec![failed])).await;
    app.until_idle().await;
    let logs = app.logs(&format!("account_id={account}")).await;
    assert_eq!(logs[0]["status"], "failed", "{logs:?}");
    let events: Vec<Value> = app.hooks.received().iter().map(|r| r.json()).collect();
    let failed_event = events
        .iter()
        .find(|e| e["type"] == "ai.reply.failed")
        .expect("ai.reply.failed");
    assert_eq!(failed_event["data"]["id"], logs[0]["id"]);
    assert_eq!(failed_event["data"]["status"], "failed");
    let status = events
        .iter()
        .find(|e| e["type"] == "message.status")
        .expect("message.status");
    let mut keys: Vec<&String> = status["data"].as_object().expect("object").keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "chat_id",
            "error",
            "message_id",
            "provider_message_id",
            "status"
        ],
        "{status}"
    );
}
