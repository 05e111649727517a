//! Opt-out on every channel: a keyword that is the whole message (and nothing that merely
//! contains it), START, the account's own words and its one confirmation reply, the manual
//! switch, Meta's marketing preference; and every send path refusing an opted-out contact,
//! audited, with the events that tell it.

use crate::client_api::key;
use crate::templates::chat;
use crate::whatsapp::{CUSTOMER, metadata, notify};
use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_tests::{PRIVATE_CHAT, TestApp, inbound, spawn_app, spawn_app_keeping_events};

async fn send_text(app: &TestApp, account: &str, chat_id: &str, text: &str) -> (StatusCode, Value) {
    app.post(
        &format!("/v1/accounts/{account}/messages"),
        &app.admin,
        json!({"chat_id": chat_id, "text": text}),
    )
    .await
}

#[tokio::test]
async fn stop_opts_out_once_is_answered_once_and_start_opts_back_in() {
    let app = spawn_app_keeping_events(&[]).await;
    app.put_global_ai(json!({"enabled": true, "echo_mode": true, "reply_delay_seconds": 0}))
        .await;
    let (acc, token) = (app.sandbox_id.clone(), app.sandbox_token.clone());
    let (status, patched) = app
        .patch(
            &format!("/v1/accounts/{acc}"),
            &app.admin,
            json!({"opt_out_reply": "You will get no more messages. Reply START to come back."}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["opt_out_keywords"], json!(["STOP", "UNSUBSCRIBE"]));
    assert_eq!(patched["opt_in_keywords"], json!(["START"]));

    app.ingest(
        &acc,
        &token,
        inbound("w1", PRIVATE_CHAT, "please don't stop the delivery"),
    )
    .await;
    app.wait_sent_replies(PRIVATE_CHAT, 1).await;
    assert_eq!(
        chat(&app, &acc, PRIVATE_CHAT).await["opted_out_at"],
        Value::Null
    );

    let (status, _) = app
        .ingest(&acc, &token, inbound("w2", PRIVATE_CHAT, "  Stop \n"))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    // Meta, a bridge or a relay may deliver it again.
    app.ingest(&acc, &token, inbound("w2", PRIVATE_CHAT, "  Stop \n"))
        .await;
    app.until_idle().await;
    let stopped = chat(&app, &acc, PRIVATE_CHAT).await;
    assert!(stopped["opted_out_at"].is_string(), "{stopped}");
    assert_eq!(stopped["opt_out_source"], "keyword");
    let logs = app.logs(&format!("account_id={acc}&status=skipped")).await;
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs[0]["reason"], "contact opted out");
    let from_me: Vec<Value> = app
        .messages(&acc, PRIVATE_CHAT)
        .await
        .into_iter()
        .filter(|m| m["from_me"] == true)
        .collect();
    assert_eq!(
        from_me.len(),
        2,
        "the echo and one confirmation: {from_me:#?}"
    );
    assert_eq!(
        from_me[0]["text"],
        "You will get no more messages. Reply START to come back."
    );
    let told = app.wait_for_events("contact.opted_out", 1).await;
    assert_eq!(told.len(), 1, "told once: {told:?}");
    assert_eq!(told[0]["data"]["chat_id"], PRIVATE_CHAT);
    assert_eq!(told[0]["data"]["source"], "keyword");
    assert_eq!(told[0]["data"]["scope"], "all");

    let (status, refused) = send_text(&app, &acc, PRIVATE_CHAT, "one more offer").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(refused["error"]["code"], "recipient_opted_out");
    let (_, audit) = app.get("/api/v1/audit?outcome=refused", &app.admin).await;
    let row = &audit["items"][0];
    assert_eq!(row["code"], "recipient_opted_out", "audited: {audit}");
    assert_eq!(row["actor"], format!("account:{acc}"), "{audit}");
    assert_eq!(row["to"], PRIVATE_CHAT, "{audit}");

    app.ingest(&acc, &token, inbound("w3", PRIVATE_CHAT, "START"))
        .await;
    app.until_idle().await;
    assert_eq!(
        chat(&app, &acc, PRIVATE_CHAT).await["opted_out_at"],
        Value::Null
    );
    assert_eq!(app.wait_for_events("contact.opted_in", 1).await.len(), 1);
    let (status, sent) = send_text(&app, &acc, PRIVATE_CHAT, "welcome back").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
}

#[tokio::test]
async fn an_accounts_own_keywords_replace_the_defaults() {
    let app = spawn_app().await;
    let (acc, token) = (app.sandbox_id.clone(), app.sandbox_token.clone());
    let (status, patched) = app
        .patch(
            &format!("/v1/accounts/{acc}"),
            &app.admin,
            json!({"opt_out_keywords": [" Baja "], "opt_in_keywords": ["ALTA"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["opt_out_keywords"], json!(["Baja"]), "kept trimmed");
    let (status, bad) = app
        .patch(
            &format!("/v1/accounts/{acc}"),
            &app.admin,
            json!({"opt_out_keywords": [""]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");

    app.ingest(&acc, &token, inbound("k1", PRIVATE_CHAT, "stop"))
        .await;
    app.until_idle().await;
    assert_eq!(
        chat(&app, &acc, PRIVATE_CHAT).await["opted_out_at"],
        Value::Null
    );
    app.ingest(&acc, &token, inbound("k2", PRIVATE_CHAT, "BAJA"))
        .await;
    app.until_idle().await;
    assert!(chat(&app, &acc, PRIVATE_CHAT).await["opted_out_at"].is_string());
}

#[tokio::test]
async fn an_opted_out_sms_contact_is_refused_on_every_path_and_audited() {
    let app = spawn_app().await;
    let (phone, _) = crate::relay::relay_phone(&app).await;
    let sms_chat = "15551234567@sms";
    let (status, set) = app
        .put(
            &format!("/v1/accounts/{phone}/chats/{sms_chat}/opt-out"),
            &app.admin,
            json!({"opted_out": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(set["opt_out_source"], "api");
    assert!(
        set.get("service_window_expires_at").is_none(),
        "not a WhatsApp Cloud chat: {set}"
    );

    let (key_id, secret) = key(&app, json!({})).await;
    let body = json!({"phone_id": phone, "channel": "sms", "to": "+15551234567", "text": "sale!"});
    let (status, refused) = app.post("/api/v1/messages", &secret, body).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(refused["error"]["code"], "recipient_opted_out");
    let (_, audit) = app
        .get(
            &format!("/api/v1/audit?key_id={key_id}&outcome=refused"),
            &app.admin,
        )
        .await;
    let row = &audit["items"][0];
    assert_eq!(row["code"], "recipient_opted_out", "{audit}");
    assert_eq!(row["to"], "+15551234567", "{audit}");

    let client = crate::mcp::connect(&app, &secret).await;
    let tool = crate::mcp::call(
        &client,
        "send_message",
        json!({"phone_id": phone, "channel": "sms",
        "to": "+15551234567", "text": "sale!"}),
    )
    .await;
    assert!(
        crate::mcp::error_text(&tool).contains("recipient_opted_out"),
        "{tool:?}"
    );
    client.cancel().await.expect("closing");

    let (status, _) = app
        .put(
            &format!("/v1/accounts/{phone}/chats/{sms_chat}/opt-out"),
            &app.admin,
            json!({"opted_out": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let body = json!({"phone_id": phone, "channel": "sms", "to": "+15551234567", "text": "hello"});
    let (status, queued) = app.post("/api/v1/messages", &secret, body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
}

#[tokio::test]
async fn metas_marketing_preference_stops_and_resumes_marketing_only() {
    let app = spawn_app_keeping_events(&[]).await;
    let account = crate::templates::waba_account(&app).await;
    let preference = |value: &str| {
        json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
            "field": "user_preferences",
            "value": {"messaging_product": "whatsapp", "metadata": metadata(),
                "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": CUSTOMER}],
                "user_preferences": [{"wa_id": CUSTOMER, "detail": "User requested to stop marketing messages",
                    "category": "marketing_messages", "value": value, "timestamp": 1731705721}]}}]}]})
    };
    notify(&app, &account, &preference("stop")).await;
    let chat_id = crate::whatsapp::customer_chat();
    let stopped = chat(&app, &account, &chat_id).await;
    assert_eq!(stopped["marketing_opted_out"], true, "{stopped}");
    assert_eq!(stopped["opted_out_at"], Value::Null, "marketing only");
    let told = app.wait_for_events("contact.opted_out", 1).await;
    assert_eq!(told[0]["data"]["scope"], "marketing");
    assert_eq!(told[0]["data"]["source"], "provider");
    notify(&app, &account, &preference("resume")).await;
    assert_eq!(
        chat(&app, &account, &chat_id).await["marketing_opted_out"],
        false
    );
}

#[tokio::test]
async fn an_email_address_opted_out_by_hand_gets_no_mail() {
    let app = spawn_app().await;
    let acc = app.sandbox_id.clone();
    let chat_id = "ann@example.com@email";
    let (status, set) = app
        .put(
            &format!("/v1/accounts/{acc}/chats/{chat_id}/opt-out"),
            &app.admin,
            json!({"opted_out": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    let (_, secret) = key(&app, json!({})).await;
    let mail = json!({"phone_id": acc, "channel": "email", "to": "ann@example.com",
        "subject": "Sale", "text": "20 % off"});
    let (status, refused) = app.post("/api/v1/messages", &secret, mail).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(refused["error"]["code"], "recipient_opted_out");
    let (status, other) = app
        .post(
            "/api/v1/messages",
            &secret,
            json!({"phone_id": acc, "channel": "email",
            "to": "bob@example.com", "subject": "Sale", "text": "20 % off"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{other}");
}
