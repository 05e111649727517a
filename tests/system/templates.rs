//! WhatsApp templates and the 24-hour window against the fake Graph API: the business account's
//! templates listed through Meta's cursors and served from the cache, template sends checked
//! before Meta sees them and mapped to Meta's components, free text refused outside the window
//! (or sent as the fallback template), and Meta's final errors named on the message.

use crate::client_api::key;
use crate::whatsapp::{CUSTOMER, customer_chat, envelope, notify, text_value, text_value_at};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use switchboard_tests::fake_graph::{ACCESS_TOKEN, GraphAnswer};
use switchboard_tests::{TestApp, eventually, spawn_app, str_at};

pub(crate) const WABA: &str = "102290129340398";

/// A WhatsApp Cloud account with its business account id; returns its id.
pub(crate) async fn waba_account(app: &TestApp) -> String {
    let account = crate::whatsapp::whatsapp_account(app).await;
    let (status, body) = app
        .patch(
            &format!("/v1/accounts/{account}"),
            &app.admin,
            json!({"provider_config": {"business_account_id": WABA}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    account
}

/// A named UTILITY template with a body of two values and a URL button, and a positional
/// MARKETING one with a text header: as Meta's `message_templates` lists them.
pub(crate) fn add_templates(app: &TestApp) {
    app.graph.add_template(json!({
        "name": "order_ready", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
        "parameter_format": "NAMED", "id": "594425479261596",
        "components": [
            {"type": "BODY", "text": "Hi {{first_name}}, your bike {{model}} is ready for pickup.",
             "example": {"body_text_named_params": [
                {"param_name": "first_name", "example": "Ann"},
                {"param_name": "model", "example": "Cargo 2"}]}},
            {"type": "BUTTONS", "buttons": [
                {"type": "URL", "text": "Track", "url": "https://shop.example/o/{{1}}", "example": ["https://shop.example/o/A12"]}]}
        ]
    }));
    app.graph.add_template(json!({
        "name": "spring_sale", "language": "en_US", "status": "APPROVED", "category": "MARKETING",
        "parameter_format": "POSITIONAL", "id": "594425479261597",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Sale for {{1}}", "example": {"header_text": ["Ann"]}},
            {"type": "BODY", "text": "{{1}}% off every {{2}} this week.", "example": {"body_text": [["20", "helmet"]]}},
            {"type": "FOOTER", "text": "Reply STOP to opt out"}
        ]
    }));
    app.graph.add_template(json!({
        "name": "winter_sale", "language": "en_US", "status": "PAUSED", "category": "MARKETING",
        "parameter_format": "POSITIONAL", "id": "594425479261598",
        "components": [{"type": "BODY", "text": "Winter is here."}]
    }));
}

pub(crate) fn order_ready() -> Value {
    json!({"name": "order_ready", "language": "en_US",
        "params": {"body": {"first_name": "Ann", "model": "Cargo 2"}, "buttons": ["A12"]}})
}

/// Waits for the first template send to reach the Graph API.
async fn template_sent(app: &TestApp) -> switchboard_tests::fake_graph::GraphRequest {
    eventually(Duration::from_secs(10), "a template send", || async {
        app.graph.template_sends().into_iter().next()
    })
    .await
}

async fn send(app: &TestApp, account: &str, body: Value) -> (StatusCode, Value) {
    app.post(
        &format!("/v1/accounts/{account}/messages"),
        &app.admin,
        body,
    )
    .await
}

/// A WhatsApp Cloud account with its templates, whose customer just wrote.
async fn written_to(app: &TestApp) -> String {
    let account = waba_account(app).await;
    add_templates(app);
    let hi = envelope(vec![text_value("wamid.IN", "hi")]);
    notify(app, &account, &hi).await;
    account
}

/// A chat of the account as the chat list shows it.
pub(crate) async fn chat(app: &TestApp, account: &str, chat_id: &str) -> Value {
    let (status, body) = app
        .get(&format!("/v1/accounts/{account}/chats"), &app.admin)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"]
        .as_array()
        .and_then(|items| items.iter().find(|c| c["chat_id"] == chat_id))
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn templates_are_listed_through_metas_pages_and_served_from_the_cache() {
    let app = spawn_app().await;
    let account = crate::whatsapp::whatsapp_account(&app).await;
    let path = format!("/v1/accounts/{account}/templates");
    let (status, body) = app.get(&path, &app.admin).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "business_account_id_required");
    let (status, body) = app
        .get(
            &format!("/v1/accounts/{}/templates", app.sandbox_id),
            &app.admin,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "templates_not_supported");

    let account = waba_account(&app).await;
    add_templates(&app);
    // Past one page of Meta's (100): the list follows `paging.next`.
    for i in 0..120 {
        app.graph.add_template(json!({"name": format!("notice_{i:03}"), "language": "es",
            "status": "REJECTED", "category": "UTILITY",
            "components": [{"type": "BODY", "text": "Aviso {{1}}", "example": {"body_text": [["1"]]}}]}));
    }
    let path = format!("/v1/accounts/{account}/templates");
    let (status, first) = app.get(&format!("{path}?limit=2"), &app.admin).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(
        first["items"][0],
        json!({"name": "order_ready", "language": "en_US", "status": "APPROVED",
            "category": "UTILITY", "parameter_format": "named",
            "body": "Hi {{first_name}}, your bike {{model}} is ready for pickup.",
            "params": [
                {"component": "body", "name": "first_name", "example": "Ann"},
                {"component": "body", "name": "model", "example": "Cargo 2"},
                {"component": "button", "name": "1", "index": 0, "example": "https://shop.example/o/A12"}]})
    );
    assert_eq!(first["items"][1]["parameter_format"], "positional");
    assert_eq!(
        first["items"][1]["params"],
        json!([{"component": "header", "name": "1", "example": "Ann"},
               {"component": "body", "name": "1", "example": "20"},
               {"component": "body", "name": "2", "example": "helmet"}])
    );
    assert_eq!(app.graph.template_lists().len(), 2, "two pages of Meta's");
    let cursor = str_at(&first, "next_cursor");
    let (_, second) = app
        .get(&format!("{path}?limit=200&cursor={cursor}"), &app.admin)
        .await;
    assert_eq!(second["items"].as_array().map(Vec::len), Some(121));
    let (_, approved) = app
        .get(&format!("{path}?status=approved"), &app.admin)
        .await;
    let names: Vec<&str> = approved["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["order_ready", "spring_sale"],
        "the filter ignores case"
    );
    assert_eq!(
        app.graph.template_lists().len(),
        2,
        "the next lists are served from the cache"
    );
    assert!(
        app.graph
            .template_lists()
            .iter()
            .all(
                |r| r.authorization.as_deref() == Some(&format!("Bearer {ACCESS_TOKEN}"))
                    && r.path
                        .starts_with(&format!("/v23.0/{WABA}/message_templates"))
            ),
        "{:?}",
        app.graph.template_lists()
    );
}

#[tokio::test]
async fn a_template_send_is_checked_first_and_goes_out_as_metas_components() {
    let app = spawn_app().await;
    let account = waba_account(&app).await;
    add_templates(&app);
    let to = customer_chat();
    let (status, queued) = send(
        &app,
        &account,
        json!({"chat_id": to, "template": order_ready()}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    assert_eq!(queued["sent_as"], "template");
    let sent = template_sent(&app).await;
    assert_eq!(
        sent.body,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER,
            "type": "template", "template": {"name": "order_ready", "language": {"code": "en_US"},
            "components": [
                {"type": "body", "parameters": [
                    {"type": "text", "parameter_name": "first_name", "text": "Ann"},
                    {"type": "text", "parameter_name": "model", "text": "Cargo 2"}]},
                {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "A12"}]}]}})
    );
    let stored = app.messages(&account, &to).await.remove(0);
    assert_eq!(
        stored["text"], "Hi Ann, your bike Cargo 2 is ready for pickup.",
        "the message's text is the rendered body"
    );

    let refusals = [
        (
            json!({"chat_id": to, "text": "hi", "template": order_ready()}),
            "text_or_template",
            "text",
        ),
        (json!({"chat_id": to}), "text_or_template", "text"),
        (
            json!({"chat_id": to, "template": {"name": "order_ready", "language": "pt_BR"}}),
            "template_not_found",
            "template.name",
        ),
        (
            json!({"chat_id": to, "template": {"name": "winter_sale", "language": "en_US"}}),
            "template_paused_or_disabled",
            "template.name",
        ),
        (
            json!({"chat_id": to, "template": {"name": "order_ready", "language": "en_US",
            "params": {"body": {"first_name": "Ann"}, "buttons": ["A12"]}}}),
            "template_params_mismatch",
            "template.params.body",
        ),
        (
            json!({"chat_id": to, "template": {"name": "spring_sale", "language": "en_US",
            "params": {"header": ["Ann"], "body": ["20"]}}}),
            "template_params_mismatch",
            "template.params.body",
        ),
    ];
    for (body, code, field) in refusals {
        let (status, answer) = send(&app, &account, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
    }
    let (_, mismatch) = send(
        &app,
        &account,
        json!({"chat_id": to, "template": {"name": "order_ready",
        "language": "en_US", "params": {"body": {"first_name": "Ann"}, "buttons": ["A12"]}}}),
    )
    .await;
    assert!(
        mismatch["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("[first_name, model]"),
        "names what was expected: {mismatch}"
    );
    app.until_idle().await;
    assert_eq!(
        app.graph.template_sends().len(),
        1,
        "no refused send reached Meta"
    );
}

#[tokio::test]
async fn free_text_reaches_only_an_open_window_else_the_fallback_template_goes() {
    let app = spawn_app().await;
    let account = waba_account(&app).await;
    add_templates(&app);
    let to = customer_chat();
    let text = |t: &str| json!({"chat_id": to, "text": t});

    let (status, never) = send(&app, &account, text("hello?")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{never}");
    assert_eq!(never["error"]["code"], "outside_service_window");
    assert_eq!(never["error"]["expires_at"], Value::Null, "it never opened");

    let now = chrono::Utc::now().timestamp();
    let ago = |minutes: i64| (now - minutes * 60).to_string();
    // 23 h 59 m ago: open for one more minute.
    notify(
        &app,
        &account,
        &envelope(vec![text_value_at(
            "wamid.A",
            "any news?",
            &ago(23 * 60 + 59),
        )]),
    )
    .await;
    let window = chat(&app, &account, &customer_chat()).await["service_window_expires_at"].clone();
    assert!(window.is_string(), "{window}");
    let (status, open) = send(&app, &account, text("your bike is ready")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{open}");
    assert_eq!(open["sent_as"], "text");

    app.until_idle().await;

    // A chat whose last message is 24 h 01 m old is closed.
    let app = spawn_app().await;
    let account = waba_account(&app).await;
    add_templates(&app);
    notify(
        &app,
        &account,
        &envelope(vec![text_value_at("wamid.B", "hello", &ago(24 * 60 + 1))]),
    )
    .await;
    let (status, closed) = send(&app, &account, text("your bike is ready")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{closed}");
    assert_eq!(closed["error"]["code"], "outside_service_window");
    let expires: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(closed["error"]["expires_at"].clone()).expect("a time");
    assert_eq!(
        expires.timestamp(),
        now - 60,
        "the last message's time + 24 h"
    );

    let (status, fallback) = send(
        &app,
        &account,
        json!({"chat_id": to, "text": "your bike is ready", "fallback_template": order_ready()}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{fallback}");
    assert_eq!(fallback["sent_as"], "template");
    template_sent(&app).await;

    // A new message from the customer reopens it.
    notify(
        &app,
        &account,
        &envelope(vec![text_value("wamid.C", "still there?")]),
    )
    .await;
    let (status, reopened) = send(&app, &account, text("yes, ready now")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{reopened}");
    app.until_idle().await;
    assert_eq!(app.graph.sends().len(), 1, "one free-form text went out");
}

#[tokio::test]
async fn the_ai_skips_a_closed_window_instead_of_failing_at_meta() {
    let app = spawn_app().await;
    let account = waba_account(&app).await;
    app.put_global_ai(json!({"enabled": true, "echo_mode": true, "reply_delay_seconds": 0}))
        .await;
    let old = (chrono::Utc::now().timestamp() - 25 * 3600).to_string();
    notify(
        &app,
        &account,
        &envelope(vec![text_value_at("wamid.OLD", "are you there?", &old)]),
    )
    .await;
    let logs = app.wait_for_settled_logs(&account, 1).await;
    assert_eq!(logs[0]["status"], "skipped");
    assert_eq!(logs[0]["reason"], "outside 24-hour window");
    app.until_idle().await;
    assert!(app.graph.sends().is_empty(), "nothing sent to Meta");
}

#[tokio::test]
async fn metas_final_errors_are_named_on_the_message() {
    let app = spawn_app().await;
    let account = written_to(&app).await;
    let codes = [
        (131047, "outside_service_window"),
        (132000, "template_params_mismatch"),
        (132012, "template_params_mismatch"),
        (132001, "template_not_found"),
        (132015, "template_paused_or_disabled"),
        (132016, "template_paused_or_disabled"),
        (131049, "marketing_limit"),
        (131026, "undeliverable"),
        (131050, "marketing_opted_out"),
    ];
    app.graph.answer(move |n| GraphAnswer::Error {
        code: codes[n].0,
        status: 400,
    });
    for (i, (code, _)) in codes.iter().enumerate() {
        let (status, queued) = send(
            &app,
            &account,
            json!({"chat_id": customer_chat(),
            "template": order_ready(), "idempotency_key": format!("k{i}")}),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{code}: {queued}");
        // One at a time, so that send n meets the answer scripted for n.
        app.until_idle().await;
    }
    let mut failed: Vec<Value> = app
        .messages(&account, &customer_chat())
        .await
        .into_iter()
        .filter(|m| m["from_me"] == true)
        .collect();
    failed.reverse();
    let named: Vec<&str> = failed
        .iter()
        .map(|m| m["error_code"].as_str().unwrap_or("none"))
        .collect();
    let expected: Vec<&str> = codes.iter().map(|(_, name)| *name).collect();
    assert_eq!(named, expected, "{failed:#?}");
    assert_eq!(
        failed[0]["error"],
        "outside the 24-hour customer service window"
    );

    // 131050: the contact stopped marketing; a MARKETING template is refused before Meta.
    assert_eq!(
        chat(&app, &account, &customer_chat()).await["marketing_opted_out"],
        true
    );
    let sale = json!({"chat_id": customer_chat(), "template": {"name": "spring_sale", "language": "en_US",
        "params": {"header": ["Ann"], "body": ["20", "helmet"]}}});
    let (status, refused) = send(&app, &account, sale).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(refused["error"]["code"], "marketing_opted_out");
    app.graph.answer(|_| GraphAnswer::Accepted);
    let (status, utility) = send(
        &app,
        &account,
        json!({"chat_id": customer_chat(), "template": order_ready()}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "a UTILITY template still goes: {utility}"
    );
}

#[tokio::test]
async fn a_client_key_and_mcp_send_templates_under_the_keys_policy() {
    let app = spawn_app().await;
    let account = written_to(&app).await;
    let (_, secret) = key(&app, json!({})).await;
    let to = format!("+{CUSTOMER}");
    let body = json!({"phone_id": account, "channel": "wa", "to": to, "template": order_ready(),
        "idempotency_key": "ready-1"});
    let (status, first) = app.post("/api/v1/messages", &secret, body.clone()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    assert_eq!(first["sent_as"], "template");
    let (status, again) = app.post("/api/v1/messages", &secret, body.clone()).await;
    assert_eq!(status, StatusCode::OK, "replayed: {again}");
    assert_eq!(again["id"], first["id"]);
    let mut changed = body.clone();
    changed["template"]["params"]["body"]["model"] = json!("Road 1");
    let (status, reused) = app.post("/api/v1/messages", &secret, changed).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "the template is part of the body: {reused}"
    );
    let (status, on_sms) = app
        .post(
            "/api/v1/messages",
            &secret,
            json!({"phone_id": account, "channel": "sms",
            "to": to, "template": order_ready()}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{on_sms}");

    let client = crate::mcp::connect(&app, &secret).await;
    let listed = crate::mcp::call(
        &client,
        "list_templates",
        json!({"phone_id": account, "status": "APPROVED"}),
    )
    .await;
    let listed = listed.structured_content.expect("structured");
    let names: Vec<&str> = listed["templates"]
        .as_array()
        .expect("templates")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["order_ready", "spring_sale"]);
    let sent = crate::mcp::call(
        &client,
        "send_message",
        json!({"phone_id": account, "channel": "wa",
        "to": to, "template": {"name": "spring_sale", "language": "en_US",
        "params": {"header": ["Ann"], "body": ["20", "helmet"]}}}),
    )
    .await;
    let sent = sent.structured_content.expect("structured");
    assert_eq!(sent["sent_as"], "template", "{sent}");
    let wrong = crate::mcp::call(
        &client,
        "send_message",
        json!({"phone_id": account, "channel": "wa",
        "to": to, "template": {"name": "nope", "language": "en_US"}}),
    )
    .await;
    assert!(
        crate::mcp::error_text(&wrong).contains("template_not_found"),
        "{wrong:?}"
    );
    client.cancel().await.expect("closing");
    app.until_idle().await;
    let sends = app.graph.template_sends();
    assert_eq!(sends.len(), 2, "{sends:?}");
    assert_eq!(
        sends[1].body["template"]["components"][0],
        json!({"type": "header", "parameters": [{"type": "text", "text": "Ann"}]})
    );
    assert_eq!(
        app.graph.template_lists().len(),
        1,
        "one Graph call for every check and list within the cache's ten minutes"
    );
}

#[tokio::test]
async fn a_draft_proposes_a_template_the_model_was_shown_and_it_goes_once_confirmed() {
    let app = spawn_app().await;
    app.use_llm().await;
    let account = waba_account(&app).await;
    add_templates(&app);
    let (_, secret) = key(&app, json!({"channels": ["wa"]})).await;
    let proposal = json!({"action": "send_message", "channel": "wa", "to": format!("+{CUSTOMER}"),
        "text": "", "subject": null, "template": {"name": "order_ready", "language": "en_US",
        "params": {"header": null, "body": ["Ann", "Cargo 2"], "buttons": ["A12"]}}});
    app.llm.set(switchboard_tests::fake_llm::Behaviour::Fixed(
        proposal.to_string(),
    ));
    let (status, drafted) = app
        .post(
            "/api/v1/assistant/draft",
            &secret,
            json!({"phone_id": account, "instruction": "tell Ann her Cargo 2 is ready, order A12"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{drafted}");
    assert_eq!(drafted["decision"]["allowed"], true, "{drafted}");
    assert_eq!(drafted["status"], "pending_confirmation");
    let asked = app.llm.requests().remove(0).body;
    let prompt = asked["messages"][0]["content"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        prompt.contains("order_ready (en_US, UTILITY)") && !prompt.contains("winter_sale"),
        "the approved templates are shown: {prompt}"
    );
    let id = str_at(&drafted, "id");
    let (_, pending) = app.get(&format!("/api/v1/messages/{id}"), &secret).await;
    assert_eq!(
        pending["text"],
        "Hi Ann, your bike Cargo 2 is ready for pickup."
    );
    let (status, _) = app
        .post(
            &format!("/api/v1/messages/{id}/confirm"),
            &secret,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let sent = template_sent(&app).await;
    assert_eq!(
        sent.body["template"]["components"][0]["parameters"][0],
        json!({"type": "text", "parameter_name": "first_name", "text": "Ann"}),
        "a named template's values, proposed in order, go by name"
    );
}
