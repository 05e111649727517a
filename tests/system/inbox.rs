//! The operator's inbox through the API the dashboard polls: what changed in a chat since the
//! last poll (new messages, a status from Meta, a transcript), the chats that moved, a human
//! answering as the account (the AI steps back until "resume AI"), and the overview's counts.

use crate::whatsapp::{
    customer_chat, envelope, notify, status_value, text_value, whatsapp_account,
};
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_tests::fake_llm::Behaviour;
use switchboard_tests::{TestApp, inbound, spawn_app, str_at};

fn texts(changes: &Value) -> Vec<String> {
    changes["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn changes(app: &TestApp, account: &str, chat: &str, since: Option<DateTime<Utc>>) -> Value {
    let query = since.map_or(String::new(), |t| {
        format!("?since={}", urlencoding(&t.to_rfc3339()))
    });
    let (status, body) = app
        .get(
            &format!("/v1/accounts/{account}/chats/{chat}/changes{query}"),
            &app.admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// `+` in an offset must not become a space.
fn urlencoding(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test]
async fn an_open_chat_reads_only_what_changed_since_its_last_poll() {
    let app = spawn_app().await;
    let account = whatsapp_account(&app).await;
    let chat = customer_chat();
    notify(
        &app,
        &account,
        &envelope(vec![text_value("wamid.in-1", "Is my bike ready?")]),
    )
    .await;
    app.until_idle().await;

    let first = changes(&app, &account, &chat, None).await;
    assert_eq!(texts(&first), ["Is my bike ready?"]);
    assert_eq!(first["chat"]["name"], "Sheena Nelson");
    assert!(
        first["chat"]["service_window_expires_at"].is_string(),
        "{first}"
    );
    assert_eq!(first["gap"], false);
    let next: DateTime<Utc> = first["next_since"]
        .as_str()
        .expect("next_since")
        .parse()
        .expect("a time");
    let lag = Utc::now() - next;
    assert!(
        lag >= chrono::TimeDelta::seconds(4) && lag <= chrono::TimeDelta::seconds(10),
        "{lag}"
    );

    // A person answers as the account: their message, and the AI steps back.
    let before_send = Utc::now();
    let (status, sent) = app
        .post(
            &format!("/v1/accounts/{account}/messages"),
            &app.admin,
            json!({"chat_id": chat, "text": "Yes, come by at five.", "pause_ai": true}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
    let paused_until: DateTime<Utc> = str_at(&sent, "ai_paused_until").parse().expect("a time");
    let minutes = (paused_until - Utc::now()).num_minutes();
    assert!(
        (28..=30).contains(&minutes),
        "the default takeover is 30 minutes: {minutes}"
    );
    app.until_idle().await;
    let answered = changes(&app, &account, &chat, Some(before_send)).await;
    assert_eq!(
        texts(&answered),
        ["Yes, come by at five."],
        "only the new message"
    );
    let reply = &answered["messages"][0];
    assert_eq!(reply["origin"], "account_human");
    assert_eq!(reply["status"], "sent");
    assert_eq!(answered["chat"]["ai_paused_until"], sent["ai_paused_until"]);
    assert_eq!(
        app.graph.sends().len(),
        1,
        "the answer reached the Graph API"
    );

    // Meta tells it was delivered: the poll after brings that message again, with its status.
    let before_status = Utc::now();
    let wamid = str_at(reply, "provider_message_id");
    notify(
        &app,
        &account,
        &envelope(vec![status_value(&wamid, "delivered")]),
    )
    .await;
    app.until_idle().await;
    let delivered = changes(&app, &account, &chat, Some(before_status)).await;
    assert_eq!(texts(&delivered), ["Yes, come by at five."]);
    assert_eq!(delivered["messages"][0]["status"], "delivered");

    let quiet = changes(&app, &account, &chat, Some(Utc::now())).await;
    assert_eq!(texts(&quiet), Vec::<String>::new(), "nothing changed since");
    assert_eq!(
        quiet["chat"]["chat_id"],
        chat.as_str(),
        "the chat comes with every answer"
    );

    let (status, body) = app
        .get(
            &format!("/v1/accounts/{account}/chats/{chat}/changes?since=yesterday"),
            &app.admin,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "since");
}

#[tokio::test]
async fn a_human_answer_skips_the_ai_until_resumed() {
    let app = spawn_app().await;
    app.use_llm().await;
    let (acc, token) = (app.sandbox_id.clone(), app.sandbox_token.clone());
    let chat = "15550001111@s.whatsapp.net";
    let (status, sent) = app
        .post(
            &format!("/v1/accounts/{acc}/messages"),
            &token,
            json!({"chat_id": chat, "text": "Hello, this is Ana from the shop.", "pause_ai": true}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
    app.ingest(&acc, &token, inbound("t-1", chat, "Hi Ana"))
        .await;
    let logs = app.wait_for_settled_logs(&acc, 1).await;
    let reason = logs[0]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("a human of the account replied in this chat"),
        "{reason}"
    );

    // "Resume AI": any PUT of the chat's AI settings.
    let (status, ai) = app
        .put(
            &format!("/v1/accounts/{acc}/chats/{chat}/ai"),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{ai}");
    assert_eq!(ai["ai_paused_until"], Value::Null);
    app.ingest(&acc, &token, inbound("t-2", chat, "Are you open today?"))
        .await;
    app.wait_sent_replies(chat, 1).await;

    // Without `pause_ai` a send is the API's and pauses nothing.
    let other = "15550002222@s.whatsapp.net";
    let (_, plain) = app
        .post(
            &format!("/v1/accounts/{acc}/messages"),
            &token,
            json!({"chat_id": other, "text": "Your order shipped."}),
        )
        .await;
    assert!(plain.get("ai_paused_until").is_none(), "{plain}");
    app.until_idle().await;
    let messages = app.messages(&acc, other).await;
    assert_eq!(messages[0]["origin"], "api");
}

#[tokio::test]
async fn the_chat_list_returns_only_the_chats_that_moved() {
    let app = spawn_app().await;
    let (acc, token) = (app.sandbox_id.clone(), app.sandbox_token.clone());
    let (a, b) = ("15550003333@s.whatsapp.net", "15550004444@s.whatsapp.net");
    app.ingest(&acc, &token, inbound("m-a1", a, "first")).await;
    app.ingest(&acc, &token, inbound("m-b1", b, "second")).await;
    app.until_idle().await;
    let since = Utc::now();
    app.ingest(&acc, &token, inbound("m-a2", a, "again")).await;
    let (status, moved) = app
        .get(
            &format!(
                "/v1/accounts/{acc}/chats?since={}",
                urlencoding(&since.to_rfc3339())
            ),
            &app.admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    let ids: Vec<&str> = moved["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["chat_id"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(ids, [a], "{moved}");
    assert_eq!(moved["next_cursor"], Value::Null);

    let (status, one) = app
        .get(&format!("/v1/accounts/{acc}/chats/{b}"), &app.admin)
        .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["chat_id"], b);
    let (status, _) = app
        .get(
            &format!("/v1/accounts/{acc}/chats/15559999999@s.whatsapp.net"),
            &app.admin,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_overview_counts_each_accounts_day_and_names_the_chats_that_need_a_person() {
    let app = spawn_app().await;
    app.use_llm().await;
    let (acc, token) = (app.sandbox_id.clone(), app.sandbox_token.clone());
    let (answered, blocked, taken) = (
        "15550005555@s.whatsapp.net",
        "15550006666@s.whatsapp.net",
        "15550007777@s.whatsapp.net",
    );
    app.ingest(&acc, &token, inbound("o-1", answered, "hi"))
        .await;
    app.wait_sent_replies(answered, 1).await;
    app.put(
        &format!("/v1/accounts/{acc}/chats/{blocked}/block"),
        &app.admin,
        json!({"blocked": true}),
    )
    .await;
    app.ingest(&acc, &token, inbound("o-2", blocked, "spam"))
        .await;
    // Delivered twice (a provider's retry): counted once.
    app.ingest(&acc, &token, inbound("o-2", blocked, "spam"))
        .await;
    app.post(
        &format!("/v1/accounts/{acc}/messages"),
        &token,
        json!({"chat_id": taken, "text": "I'll help you myself.", "pause_ai": true}),
    )
    .await;
    // Another account whose AI fails (the LLM refuses its key).
    let (other, other_token) = app.create_account("Second shop").await;
    let failing = "15550008888@s.whatsapp.net";
    app.wait_for_settled_logs(&acc, 2).await;
    app.until_idle().await;
    app.llm
        .set(Behaviour::Status(401, "Incorrect API key provided".into()));
    app.ingest(&other, &other_token, inbound("o-3", failing, "hello?"))
        .await;
    app.wait_for_settled_logs(&other, 1).await;
    app.until_idle().await;

    let (status, overview) = app.get("/v1/overview", &app.admin).await;
    assert_eq!(status, StatusCode::OK, "{overview}");
    let of = |id: &str| {
        overview["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|a| a["account_id"] == id)
            .cloned()
            .expect("the account")
    };
    let sandbox = of(&acc);
    assert_eq!(
        sandbox["activity"],
        json!({"messages_in": 2, "messages_out": 2, "ai_sent": 1, "ai_skipped": 1, "ai_failed": 0}),
        "two in; the AI's reply and the human's message out"
    );
    let flagged: Vec<(&str, &Value)> = sandbox["attention"]
        .as_array()
        .expect("attention")
        .iter()
        .map(|c| {
            (
                c["chat"]["chat_id"].as_str().unwrap_or_default(),
                &c["reasons"],
            )
        })
        .collect();
    assert_eq!(flagged, [(taken, &json!(["human_takeover"]))]);
    let second = of(&other);
    assert_eq!(second["name"], "Second shop");
    assert_eq!(
        second["activity"],
        json!({"messages_in": 1, "messages_out": 0, "ai_sent": 0, "ai_skipped": 0, "ai_failed": 1})
    );
    assert_eq!(second["attention"][0]["chat"]["chat_id"], failing);
    assert_eq!(second["attention"][0]["reasons"], json!(["ai_failed"]));
    assert!(second["attention"][0]["ai_failed_at"].is_string());

    let (status, _) = app.get("/v1/overview", &token).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "admin only");
}

#[tokio::test]
async fn more_changes_than_one_answer_holds_say_so() {
    let app = spawn_app().await;
    let (acc, token) = (app.sandbox_id.clone(), app.sandbox_token.clone());
    let chat = "15550001212@s.whatsapp.net";
    app.ingest(&acc, &token, inbound("g-0", chat, "before"))
        .await;
    app.until_idle().await;
    let since = Utc::now();
    for i in 1..=49 {
        app.ingest(
            &acc,
            &token,
            inbound(&format!("g-{i}"), chat, &format!("burst {i}")),
        )
        .await;
    }
    let under = changes(&app, &acc, chat, Some(since)).await;
    assert_eq!(under["gap"], false, "49 of the newest 50 changed");
    assert_eq!(texts(&under).len(), 49);
    assert_eq!(texts(&under)[0], "burst 1", "oldest first");

    app.ingest(&acc, &token, inbound("g-50", chat, "burst 50"))
        .await;
    let over = changes(&app, &acc, chat, Some(since)).await;
    assert_eq!(
        over["gap"], true,
        "all 50 watched changed: there may be more"
    );
    assert_eq!(texts(&over).len(), 50);
    assert_eq!(texts(&over)[49], "burst 50");
}
