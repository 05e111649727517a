//! Telegram bots end to end, against a fake Bot API: one `connect` call (getMe, setWebhook with
//! a generated secret), updates shaped as the Bot API documents them behind the secret header,
//! mentions and replies in groups, bots never answered, and sends with Telegram's errors.

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_tests::fake_telegram::{BOT_ID, BOT_TOKEN, BOT_USERNAME, BotAnswer};
use switchboard_tests::{TestApp, spawn_app_with, str_at};

const PUBLIC: &str = "https://switchboard.example.com";
const CUSTOMER: i64 = 111_222_333;
const GROUP: i64 = -1_001_234_567_890;

async fn app() -> TestApp {
    spawn_app_with(&[("PUBLIC_API_URL", PUBLIC)]).await
}

/// A connected bot account; returns its id and the secret Telegram was given.
async fn connected_bot(app: &TestApp) -> (String, String) {
    let (status, created) = app
        .post(
            "/v1/accounts",
            &app.admin,
            json!({"name": "Shop bot", "provider": "telegram_bot",
                   "provider_config": {"bot_token": BOT_TOKEN}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["provider_config"]["has_webhook_secret"], true,
        "made up"
    );
    let id = str_at(&created, "id");
    let (status, connected) = app
        .post(&format!("/v1/accounts/{id}/connect"), &app.admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{connected}");
    let set = app.telegram.calls("setWebhook");
    let secret = str_at(&set.last().expect("setWebhook").body, "secret_token");
    (id, secret)
}

async fn post_update(
    app: &TestApp,
    account: &str,
    secret: Option<&str>,
    update: &Value,
) -> (StatusCode, Value) {
    let mut request = app
        .client
        .post(format!("{}/v1/ingest/telegram/{account}", app.base))
        .json(update);
    if let Some(s) = secret {
        request = request.header("X-Telegram-Bot-Api-Secret-Token", s);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn user(id: i64, first: &str, is_bot: bool) -> Value {
    json!({"id": id, "is_bot": is_bot, "first_name": first, "last_name": "Doe", "language_code": "en"})
}

fn private_chat() -> Value {
    json!({"id": CUSTOMER, "first_name": "Ann", "last_name": "Doe", "type": "private"})
}

fn group_chat() -> Value {
    json!({"id": GROUP, "title": "Riders", "type": "supergroup"})
}

/// An Update with one message, as in the Bot API's `Update` and `Message` types.
fn update(update_id: i64, kind: &str, message: Value) -> Value {
    json!({"update_id": update_id, kind: message})
}

fn message(id: i64, chat: Value, from: Value, text: &str) -> Value {
    json!({"message_id": id, "from": from, "chat": chat, "date": 1_765_000_000, "text": text})
}

#[tokio::test]
async fn one_connect_call_learns_the_bot_and_sets_its_webhook_with_a_secret() {
    let app = app().await;
    let (account, secret) = connected_bot(&app).await;
    assert_eq!(app.telegram.calls("getMe").len(), 1);
    let set = app.telegram.calls("setWebhook").remove(0).body;
    assert_eq!(set["url"], format!("{PUBLIC}/v1/ingest/telegram/{account}"));
    assert_eq!(secret.len(), 32);
    assert!(
        secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    );
    assert_eq!(
        set["allowed_updates"],
        json!(["message", "edited_message", "channel_post"])
    );
    let (_, shown) = app
        .get(&format!("/v1/accounts/{account}"), &app.admin)
        .await;
    assert_eq!(shown["provider_config"]["bot_username"], BOT_USERNAME);
    assert_eq!(shown["provider_config"]["bot_id"], BOT_ID.to_string());
    assert!(
        !shown.to_string().contains(&secret),
        "the secret is never shown"
    );
    assert!(!shown.to_string().contains(BOT_TOKEN));

    // A token Telegram does not know: 422 with Telegram's words.
    app.patch(
        &format!("/v1/accounts/{account}"),
        &app.admin,
        json!({"provider_config": {"bot_token": "1:wrong"}}),
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
    assert_eq!(refused["error"]["message"], "Unauthorized");
}

#[tokio::test]
async fn a_missing_or_wrong_secret_is_401_and_stores_nothing() {
    let app = app().await;
    let (account, _) = connected_bot(&app).await;
    let u = update(
        1,
        "message",
        message(1, private_chat(), user(CUSTOMER, "Ann", false), "hi"),
    );
    for secret in [None, Some("wrong-secret")] {
        let (status, _) = post_update(&app, &account, secret, &u).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{secret:?}");
    }
    let (_, chats) = app
        .get(&format!("/v1/accounts/{account}/chats"), &app.admin)
        .await;
    assert_eq!(chats["items"], json!([]));
}

#[tokio::test]
async fn updates_map_to_chats_an_edit_is_a_duplicate_and_a_bot_is_never_answered() {
    let app = app().await;
    let (account, secret) = connected_bot(&app).await;
    app.put_global_ai(
        json!({"enabled": true, "echo_mode": true, "reply_delay_seconds": 0,
        "reply_to_channels": true}),
    )
    .await;
    let first = message(5, private_chat(), user(CUSTOMER, "Ann", false), "hello bot");
    let (status, taken) = post_update(
        &app,
        &account,
        Some(&secret),
        &update(10, "message", first.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{taken}");
    let mut edited = first.clone();
    edited["text"] = json!("hello bot!");
    edited["edit_date"] = json!(1_765_000_100);
    let (_, again) = post_update(
        &app,
        &account,
        Some(&secret),
        &update(11, "edited_message", edited),
    )
    .await;
    assert_eq!(again["duplicates"], 1, "an edit keeps its id");
    let bot = message(6, group_chat(), user(42, "Other", true), "I am a bot");
    post_update(&app, &account, Some(&secret), &update(12, "message", bot)).await;
    let post = json!({"message_id": 7, "sender_chat": {"id": -1009, "title": "News", "type": "channel"},
        "chat": {"id": -1009, "title": "News", "type": "channel"}, "date": 1_765_000_000, "text": "news"});
    post_update(
        &app,
        &account,
        Some(&secret),
        &update(13, "channel_post", post),
    )
    .await;

    app.telegram.wait_for("sendMessage", 2).await;
    app.until_idle().await;
    let sends = app.telegram.calls("sendMessage");
    assert_eq!(
        sends.len(),
        2,
        "the bot's message is not answered: {sends:?}"
    );
    let mut bodies: Vec<_> = sends.iter().map(|c| c.body.clone()).collect();
    bodies.sort_by_key(|b| b.to_string());
    assert_eq!(
        bodies,
        vec![
            json!({"chat_id": -1009, "text": "news"}),
            json!({"chat_id": CUSTOMER, "text": "hello bot"})
        ]
    );
    let private = app
        .messages(&account, &format!("{CUSTOMER}@telegram"))
        .await;
    let inbound: Vec<_> = private.iter().filter(|m| m["from_me"] == false).collect();
    assert_eq!(inbound.len(), 1, "the edit was a duplicate");
    let mine = inbound
        .iter()
        .find(|m| m["provider_message_id"] == format!("{CUSTOMER}:5"))
        .expect("mine");
    assert_eq!(mine["from"], CUSTOMER.to_string());
    let channel = app.messages(&account, "-1009@telegram.channel").await;
    assert_eq!(channel.iter().filter(|m| m["from_me"] == false).count(), 1);
    let logs = app.wait_for_settled_logs(&account, 3).await;
    let bot_log = logs
        .iter()
        .find(|l| l["reason"] == "message is from a bot")
        .unwrap_or_else(|| panic!("the bot's message skipped: {logs:?}"));
    assert_eq!(bot_log["status"], "skipped");
    let (_, chats) = app
        .get(&format!("/v1/accounts/{account}/chats"), &app.admin)
        .await;
    let private_chat = chats["items"]
        .as_array()
        .and_then(|c| {
            c.iter()
                .find(|c| c["chat_id"] == format!("{CUSTOMER}@telegram"))
                .cloned()
        })
        .expect("chat");
    assert_eq!(private_chat["name"], "Ann Doe");
}

#[tokio::test]
async fn in_groups_only_a_mention_or_a_reply_to_the_bot_is_answered() {
    let app = app().await;
    let (account, secret) = connected_bot(&app).await;
    app.put_global_ai(
        json!({"enabled": true, "echo_mode": true, "reply_delay_seconds": 0,
        "reply_to_groups": true}),
    )
    .await;
    let from = user(CUSTOMER, "Ann", false);
    let plain = message(20, group_chat(), from.clone(), "anyone here?");
    // "@bike_shop_bot" after an emoji: the entity's offset counts UTF-16 units (the emoji is 2).
    let mut mention = message(
        21,
        group_chat(),
        from.clone(),
        "\u{1F6B2} @bike_shop_bot open today?",
    );
    mention["entities"] = json!([{"type": "mention", "offset": 3, "length": 14}]);
    let mut other_mention = message(22, group_chat(), from.clone(), "@someone_else hi");
    other_mention["entities"] = json!([{"type": "mention", "offset": 0, "length": 13}]);
    let mut reply = message(23, group_chat(), from.clone(), "thanks");
    reply["reply_to_message"] = json!({"message_id": 19, "from": {"id": BOT_ID, "is_bot": true,
        "first_name": "Bike Shop", "username": BOT_USERNAME}, "chat": group_chat(), "date": 1_765_000_000, "text": "we open at 9"});
    for (n, m) in [plain, mention, other_mention, reply]
        .into_iter()
        .enumerate()
    {
        let (status, _) = post_update(
            &app,
            &account,
            Some(&secret),
            &update(30 + n as i64, "message", m),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    app.telegram.wait_for("sendMessage", 2).await;
    let logs = app.wait_for_settled_logs(&account, 4).await;
    app.until_idle().await;
    let mut answered: Vec<_> = app
        .telegram
        .calls("sendMessage")
        .iter()
        .map(|c| c.body["text"].as_str().unwrap_or_default().to_string())
        .collect();
    answered.sort();
    assert_eq!(
        answered,
        vec!["thanks", "\u{1F6B2} @bike_shop_bot open today?"]
    );
    let skipped = logs.iter().filter(|l| l["status"] == "skipped").count();
    assert_eq!(skipped, 2, "{logs:?}");
}

#[tokio::test]
async fn telegram_429_waits_then_sends_and_a_block_fails_for_good() {
    let app = app().await;
    let (account, secret) = connected_bot(&app).await;
    app.telegram.answer(|n| match n {
        0 => BotAnswer::TooManyRequests(1),
        1 => BotAnswer::Ok,
        _ => BotAnswer::Blocked,
    });
    app.put_global_ai(json!({"enabled": true, "echo_mode": true, "reply_delay_seconds": 0}))
        .await;
    let first = message(1, private_chat(), user(CUSTOMER, "Ann", false), "one");
    post_update(&app, &account, Some(&secret), &update(1, "message", first)).await;
    let logs = app.wait_for_settled_logs(&account, 1).await;
    assert_eq!(logs[0]["status"], "sent", "{logs:?}");
    let sends = app.telegram.calls("sendMessage");
    assert_eq!(sends.len(), 2);

    let second = message(2, private_chat(), user(CUSTOMER, "Ann", false), "two");
    post_update(&app, &account, Some(&secret), &update(2, "message", second)).await;
    let logs = app.wait_for_settled_logs(&account, 2).await;
    assert_eq!(logs[0]["status"], "failed");
    assert_eq!(logs[0]["error"], "bot was blocked by the user");
    app.until_idle().await;
    assert_eq!(
        app.telegram.calls("sendMessage").len(),
        3,
        "a block is not retried"
    );
}

/// API.md step 6: "typing…" starts when the reply job begins, and is renewed before a delayed
/// send when the delay outlasts it (Telegram shows it 5 s).
#[tokio::test]
async fn typing_is_shown_at_once_and_renewed_before_a_delayed_reply() {
    let app = app().await;
    let (account, secret) = connected_bot(&app).await;
    app.put_global_ai(json!({"enabled": true, "echo_mode": true, "reply_delay_seconds": 6}))
        .await;
    let sent_at = std::time::Instant::now();
    post_update(
        &app,
        &account,
        Some(&secret),
        &update(
            1,
            "message",
            message(1, private_chat(), user(CUSTOMER, "Ann", false), "hi"),
        ),
    )
    .await;
    app.telegram.wait_for("sendChatAction", 1).await;
    let first_after = sent_at.elapsed();
    app.telegram.wait_for("sendChatAction", 2).await;
    let renewed_after = sent_at.elapsed();
    app.telegram.wait_for("sendMessage", 1).await;
    let reply_after = sent_at.elapsed();
    for call in app.telegram.calls("sendChatAction") {
        assert_eq!(call.body, json!({"chat_id": CUSTOMER, "action": "typing"}));
    }
    assert!(
        first_after < std::time::Duration::from_secs(1),
        "typing from the start: {first_after:?}"
    );
    // Shown for 5 s: renewed a second or so in, to last past the reply at 6 s.
    assert!(
        renewed_after >= std::time::Duration::from_millis(1200),
        "renewed after {renewed_after:?}"
    );
    assert!(
        reply_after - renewed_after <= std::time::Duration::from_secs(5),
        "renewed {renewed_after:?}, reply {reply_after:?}"
    );
}

#[tokio::test]
async fn an_unreachable_bot_api_is_named_without_the_token_in_its_url() {
    // A server that hangs up on every connection: the request fails in transport, and reqwest's
    // error carries the URL, which for the Bot API holds the token.
    let hangup = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", hangup.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((stream, _)) = hangup.accept().await {
            drop(stream);
        }
    });
    let app = spawn_app_with(&[("PUBLIC_API_URL", PUBLIC), ("TELEGRAM_API_BASE_URL", &base)]).await;
    let (status, created) = app
        .post(
            "/v1/accounts",
            &app.admin,
            json!({"name": "Shop bot", "provider": "telegram_bot",
                   "provider_config": {"bot_token": BOT_TOKEN}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = str_at(&created, "id");
    let (status, refused) = app
        .post(&format!("/v1/accounts/{id}/connect"), &app.admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{refused}");
    let said = refused.to_string();
    assert!(said.contains("cannot reach"), "{said}");
    assert!(
        !said.contains(BOT_TOKEN),
        "the token is never shown: {said}"
    );
}
