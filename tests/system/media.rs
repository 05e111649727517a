//! Voice notes and images reach the AI: WhatsApp's two-step download (the token on both, a
//! fresh URL when one expired), Telegram's `getFile`, a bridge's URL or inline bytes; the
//! transcription endpoint's multipart upload; images as content parts or described once; what
//! was read cached by content, so a forwarded note is paid once; every failure answered with a
//! line the model can act on, and named in the log.

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_tests::fake_graph::{ACCESS_TOKEN, hub_signature};
use switchboard_tests::fake_llm::Hearing;
use switchboard_tests::fake_telegram::BOT_TOKEN;
use switchboard_tests::{TestApp, eventually, spawn_app, spawn_app_keeping_events, str_at};

const APP_SECRET: &str = "3f1c-app-secret";
const PHONE_NUMBER_ID: &str = "106540352242922";
const CUSTOMER: &str = "16505551234";
const WA_CHAT: &str = "16505551234@s.whatsapp.net";
/// An Ogg page header, then filler: what a voice note's bytes start with.
const OGG: &[u8] = b"OggS\x00\x02voice-note-bytes";

async fn whatsapp_account(app: &TestApp) -> String {
    let (status, created) = app
        .post(
            "/v1/accounts",
            &app.admin,
            json!({"name": "Bike shop", "provider": "whatsapp_cloud", "provider_config": {
                "phone_number_id": PHONE_NUMBER_ID, "access_token": ACCESS_TOKEN,
                "app_secret": APP_SECRET}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    str_at(&created, "id")
}

/// A signed notification carrying one message, as Meta sends it.
async fn notify(app: &TestApp, account: &str, message: Value) {
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "102864315890", "changes": [{
        "field": "messages",
        "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": CUSTOMER}],
            "messages": [message],
        }}]}]})
    .to_string();
    let response = app
        .client
        .post(format!("{}/v1/ingest/whatsapp/{account}", app.base))
        .header("content-type", "application/json")
        .header(
            "X-Hub-Signature-256",
            hub_signature(APP_SECRET, body.as_bytes()),
        )
        .body(body)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
}

/// A voice note as in Meta's audio messages reference.
fn voice_note(wamid: &str, media_id: &str, sha256: &str) -> Value {
    json!({"from": CUSTOMER, "id": wamid, "timestamp": switchboard_tests::wa_timestamp(0), "type": "audio",
        "audio": {"mime_type": "audio/ogg; codecs=opus", "sha256": sha256, "id": media_id, "voice": true}})
}

fn image(wamid: &str, media_id: &str, caption: &str) -> Value {
    json!({"from": CUSTOMER, "id": wamid, "timestamp": switchboard_tests::wa_timestamp(0), "type": "image",
        "image": {"caption": caption, "mime_type": "image/jpeg", "sha256": format!("sha-{media_id}"), "id": media_id}})
}

/// The last user message the LLM was sent, as JSON (a string, or parts).
fn last_user_content(app: &TestApp) -> Value {
    let requests = app.llm.requests();
    let last = requests.last().expect("an LLM call");
    last.body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .map(|m| m["content"].clone())
        .unwrap_or(Value::Null)
}

/// The stored message of a provider id in a chat.
async fn message_of(app: &TestApp, account: &str, chat: &str, provider_id: &str) -> Value {
    app.messages(account, chat)
        .await
        .into_iter()
        .find(|m| m["provider_message_id"] == provider_id)
        .unwrap_or_else(|| panic!("no message {provider_id}"))
}

#[tokio::test]
async fn a_whatsapp_voice_note_is_fetched_with_the_token_transcribed_as_ogg_and_answered() {
    let app = spawn_app_keeping_events(&[]).await;
    app.use_llm().await;
    let account = whatsapp_account(&app).await;
    app.graph
        .add_media("media-1", OGG.to_vec(), "audio/ogg; codecs=opus");
    notify(&app, &account, voice_note("wamid.V1", "media-1", "sha-v1")).await;
    app.graph.wait_for_sends(1).await;

    let uploads = app.llm.uploads();
    assert_eq!(uploads.len(), 1);
    let upload = &uploads[0];
    assert_eq!(upload.file_name, "voice.ogg");
    assert_eq!(upload.content_type, "audio/ogg");
    assert_eq!(upload.bytes, OGG);
    assert_eq!(upload.model, "whisper-1");
    assert_eq!(upload.response_format, "json");
    assert_eq!(upload.authorization.as_deref(), Some("Bearer sk-global"));
    let heard = format!("heard {} bytes of voice.ogg", OGG.len());
    assert_eq!(
        last_user_content(&app),
        json!(format!("[voice note] {heard}"))
    );
    // Both steps carried the access token.
    let media = app.graph.media_requests();
    assert_eq!(media.len(), 2, "{media:?}");
    assert!(
        media
            .iter()
            .all(|r| r.authorization.as_deref() == Some(&format!("Bearer {ACCESS_TOKEN}")))
    );

    let stored = message_of(&app, &account, WA_CHAT, "wamid.V1").await;
    assert_eq!(stored["text"], Value::Null);
    assert_eq!(stored["media"]["kind"], "audio");
    assert_eq!(stored["media"]["status"], "ready");
    assert_eq!(stored["media"]["transcript"], json!(heard));
    assert_eq!(stored["media"]["sha256"], "sha-v1");
    assert!(stored["media"].get("source").is_none(), "{stored}");
    let logs = app.wait_for_settled_logs(&account, 1).await;
    assert_eq!(logs[0]["status"], "sent");
    assert_eq!(logs[0]["media"][0]["kind"], "audio");
    assert_eq!(logs[0]["media"][0]["model"], "whisper-1");
    assert_eq!(logs[0]["media"][0]["cached"], false);
    assert_eq!(logs[0]["media"][0]["status"], "ready");
    let events = app.wait_for_events("message.media_processed", 1).await;
    assert_eq!(events[0]["data"]["status"], "ready");
    assert_eq!(events[0]["data"]["transcript"], json!(heard));
    assert_eq!(events[0]["data"]["chat_id"], WA_CHAT);
}

#[tokio::test]
async fn a_forwarded_voice_note_and_a_redelivered_one_are_transcribed_once() {
    let app = spawn_app().await;
    app.use_llm().await;
    let account = whatsapp_account(&app).await;
    app.graph
        .add_media("media-a", OGG.to_vec(), "audio/ogg; codecs=opus");
    app.graph
        .add_media("media-b", OGG.to_vec(), "audio/ogg; codecs=opus");
    notify(&app, &account, voice_note("wamid.A", "media-a", "same-sha")).await;
    app.graph.wait_for_sends(1).await;
    // The same note forwarded: another message, another media id, the same hash.
    notify(&app, &account, voice_note("wamid.B", "media-b", "same-sha")).await;
    // Meta delivering the first again.
    notify(&app, &account, voice_note("wamid.A", "media-a", "same-sha")).await;
    app.graph.wait_for_sends(2).await;
    app.until_idle().await;

    assert_eq!(app.llm.uploads().len(), 1, "paid once");
    assert_eq!(app.graph.sends().len(), 2, "one reply per message");
    let logs = app.wait_for_settled_logs(&account, 2).await;
    assert_eq!(logs[0]["media"][0]["cached"], true, "{}", logs[0]);
    assert_eq!(logs[1]["media"][0]["cached"], false);
    let forwarded = message_of(&app, &account, WA_CHAT, "wamid.B").await;
    assert_eq!(forwarded["media"]["status"], "ready");
    assert!(
        forwarded["media"]["transcript"]
            .as_str()
            .is_some_and(|t| t.starts_with("heard"))
    );
}

#[tokio::test]
async fn an_expired_media_url_is_asked_for_again_once() {
    let app = spawn_app().await;
    app.use_llm().await;
    let account = whatsapp_account(&app).await;
    app.graph
        .add_media("media-x", OGG.to_vec(), "audio/ogg; codecs=opus");
    app.graph.expire_next_downloads(1);
    notify(&app, &account, voice_note("wamid.X", "media-x", "sha-x")).await;
    app.graph.wait_for_sends(1).await;
    let media = app.graph.media_requests();
    let lookups = media
        .iter()
        .filter(|r| r.path.ends_with("/media-x"))
        .count();
    let downloads = media
        .iter()
        .filter(|r| r.path.starts_with("/whatsapp_business"))
        .count();
    assert_eq!((lookups, downloads), (2, 2), "{media:?}");
    assert_eq!(app.llm.uploads().len(), 1);
}

#[tokio::test]
async fn failures_still_answer_with_a_line_the_model_can_act_on_and_name_the_error() {
    let app = spawn_app().await;
    app.use_llm().await;
    let account = whatsapp_account(&app).await;
    // A media id Meta no longer holds (ids expire after 7 days).
    notify(&app, &account, voice_note("wamid.E", "media-gone", "sha-e")).await;
    app.graph.wait_for_sends(1).await;
    assert_eq!(
        last_user_content(&app),
        json!("[voice note: could not be transcribed]")
    );
    let logs = app.wait_for_settled_logs(&account, 1).await;
    assert_eq!(logs[0]["status"], "sent");
    assert_eq!(logs[0]["reason"], "media_expired");
    assert_eq!(logs[0]["media"][0]["status"], "failed");
    let stored = message_of(&app, &account, WA_CHAT, "wamid.E").await;
    assert_eq!(stored["media"]["error"], "media_expired");

    // Too large: refused from the size the Graph API tells, no byte read.
    app.put_global_ai(json!({"max_media_mb": 1})).await;
    app.graph
        .add_media("media-big", vec![7u8; 1024 * 1024 + 1], "audio/ogg");
    notify(
        &app,
        &account,
        voice_note("wamid.BIG", "media-big", "sha-big"),
    )
    .await;
    app.graph.wait_for_sends(2).await;
    let logs = app.wait_for_settled_logs(&account, 2).await;
    assert_eq!(logs[0]["reason"], "media_too_large");
    assert!(
        !app.graph
            .media_requests()
            .iter()
            .any(|r| r.path.contains("mid=media-big")),
        "nothing downloaded"
    );

    // A 4xx from the transcription endpoint is final, in the provider's words.
    app.graph.add_media("media-4", OGG.to_vec(), "audio/ogg");
    app.llm.hear(Hearing::Failing {
        status: 400,
        message: "Invalid file format.".into(),
        times: 5,
    });
    let before = app.llm.uploads().len();
    notify(&app, &account, voice_note("wamid.F4", "media-4", "sha-4")).await;
    app.graph.wait_for_sends(3).await;
    assert_eq!(
        app.llm.uploads().len(),
        before + 1,
        "a 4xx is not tried again"
    );
    let logs = app.wait_for_settled_logs(&account, 3).await;
    assert_eq!(
        logs[0]["reason"],
        "transcription_failed: HTTP 400: Invalid file format."
    );

    // A 5xx is tried again, and the third try is heard.
    app.graph.add_media("media-5", OGG.to_vec(), "audio/ogg");
    app.llm.hear(Hearing::Failing {
        status: 503,
        message: "overloaded".into(),
        times: 2,
    });
    let before = app.llm.uploads().len();
    notify(&app, &account, voice_note("wamid.F5", "media-5", "sha-5")).await;
    app.graph.wait_for_sends(4).await;
    assert_eq!(app.llm.uploads().len(), before + 3);
    let logs = app.wait_for_settled_logs(&account, 4).await;
    assert_eq!(logs[0]["reason"], Value::Null);
    assert_eq!(logs[0]["media"][0]["status"], "ready");
}

#[tokio::test]
async fn images_go_to_the_model_as_parts_or_as_a_description_written_once() {
    let app = spawn_app().await;
    app.use_llm().await;
    let account = whatsapp_account(&app).await;
    let jpeg = b"\xff\xd8\xff\xe0fake-jpeg".to_vec();
    app.graph.add_media("media-img", jpeg.clone(), "image/jpeg");
    notify(
        &app,
        &account,
        image("wamid.I1", "media-img", "is this broken?"),
    )
    .await;
    app.graph.wait_for_sends(1).await;
    use base64::Engine;
    let data = base64::engine::general_purpose::STANDARD.encode(&jpeg);
    assert_eq!(
        last_user_content(&app),
        json!([
            {"type": "text", "text": "[image] is this broken?"},
            {"type": "image_url", "image_url": {"url": format!("data:image/jpeg;base64,{data}"), "detail": "low"}},
        ])
    );

    // Described once by the vision model, then read as text.
    app.put_global_ai(json!({"vision_mode": "describe", "vision_model": "gpt-vision"}))
        .await;
    app.graph
        .add_media("media-img2", jpeg.clone(), "image/jpeg");
    notify(&app, &account, image("wamid.I2", "media-img2", "and this?")).await;
    app.graph.wait_for_sends(2).await;
    let requests = app.llm.requests();
    let described: Vec<_> = requests
        .iter()
        .filter(|r| r.body["model"] == "gpt-vision")
        .collect();
    assert_eq!(described.len(), 1);
    assert_eq!(
        described[0].body["messages"][0]["content"][1]["type"],
        "image_url"
    );
    let description = "reply to: Describe this image for someone who cannot see it, in two or three sentences: what it shows, and any text in it, word for word.";
    assert_eq!(
        last_user_content(&app),
        json!(format!("[image: {description}] and this?"))
    );
    // The earlier image is text now: only the burst's images go as parts.
    let last = requests.last().expect("a reply call");
    let parts = last.body["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["content"].is_array())
        .count();
    assert_eq!(parts, 0);

    // Off: `[image]`, nothing fetched.
    app.put_global_ai(json!({"vision_mode": "off"})).await;
    let before = app.graph.media_requests().len();
    notify(&app, &account, image("wamid.I3", "media-img3", "third")).await;
    app.graph.wait_for_sends(3).await;
    assert_eq!(last_user_content(&app), json!("[image] third"));
    assert_eq!(app.graph.media_requests().len(), before);
}

#[tokio::test]
async fn the_daily_budget_and_a_skipped_chat_fetch_nothing() {
    let app = spawn_app().await;
    app.use_llm().await;
    app.put_global_ai(json!({"media_per_chat_per_day": 1}))
        .await;
    let account = whatsapp_account(&app).await;
    app.graph.add_media("media-d1", OGG.to_vec(), "audio/ogg");
    app.graph
        .add_media("media-d2", b"OggS-other".to_vec(), "audio/ogg");
    notify(&app, &account, voice_note("wamid.D1", "media-d1", "sha-d1")).await;
    app.graph.wait_for_sends(1).await;
    notify(&app, &account, voice_note("wamid.D2", "media-d2", "sha-d2")).await;
    app.graph.wait_for_sends(2).await;
    let logs = app.wait_for_settled_logs(&account, 2).await;
    assert_eq!(logs[0]["reason"], "media_budget_exceeded");
    assert_eq!(logs[0]["media"][0]["status"], "skipped");
    assert_eq!(app.llm.uploads().len(), 1);

    // A blocked chat: the rules say no before anything is fetched.
    let (status, body) = app
        .put(
            &format!("/v1/accounts/{account}/chats/{WA_CHAT}/block"),
            &app.admin,
            json!({"blocked": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let before = app.graph.media_requests().len();
    app.graph
        .add_media("media-d3", b"OggS-third".to_vec(), "audio/ogg");
    notify(&app, &account, voice_note("wamid.D3", "media-d3", "sha-d3")).await;
    let logs = app.wait_for_settled_logs(&account, 3).await;
    assert_eq!(logs[0]["status"], "skipped");
    assert_eq!(app.graph.media_requests().len(), before);
    let stored = message_of(&app, &account, WA_CHAT, "wamid.D3").await;
    assert_eq!(stored["media"]["status"], "pending");
}

#[tokio::test]
async fn a_telegram_voice_note_is_fetched_with_get_file_and_cached_by_its_unique_id() {
    let app = spawn_app().await;
    app.use_llm().await;
    let (status, created) = app
        .post(
            "/v1/accounts",
            &app.admin,
            json!({"name": "Bot", "provider": "telegram_bot",
                   "provider_config": {"bot_token": BOT_TOKEN, "webhook_secret": "s3cret"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let account = str_at(&created, "id");
    app.telegram
        .add_file("AwACAgIAAxkBAAIB", "AgADxw8AAlh4", OGG.to_vec());
    app.telegram
        .add_file("AwACAgIAAxkBAAIC", "AgADxw8AAlh4", OGG.to_vec());
    let update = |update_id: i64, message_id: i64, file_id: &str| {
        json!({"update_id": update_id, "message": {
            "message_id": message_id,
            "from": {"id": 42, "is_bot": false, "first_name": "Ann"},
            "chat": {"id": 42, "type": "private", "first_name": "Ann"},
            "date": 1739321024,
            "voice": {"duration": 3, "mime_type": "audio/ogg", "file_id": file_id,
                      "file_unique_id": "AgADxw8AAlh4", "file_size": OGG.len()}}})
    };
    for (i, file) in ["AwACAgIAAxkBAAIB", "AwACAgIAAxkBAAIC"].iter().enumerate() {
        let response = app
            .client
            .post(format!("{}/v1/ingest/telegram/{account}", app.base))
            .header("X-Telegram-Bot-Api-Secret-Token", "s3cret")
            .json(&update(100 + i as i64, 7 + i as i64, file))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK);
        app.telegram.wait_for("sendMessage", i + 1).await;
    }
    assert_eq!(
        app.telegram.calls("getFile").len(),
        1,
        "the second is a cache hit"
    );
    assert_eq!(app.telegram.downloads(), ["voice/file_AgADxw8AAlh4.oga"]);
    let uploads = app.llm.uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].file_name, "voice.ogg");
    assert_eq!(uploads[0].bytes, OGG);
    let stored = message_of(&app, &account, "42@telegram", "42:7").await;
    assert_eq!(stored["media"]["duration_seconds"], 3);
    assert_eq!(stored["media"]["status"], "ready");
}

#[tokio::test]
async fn a_bridge_sends_media_inline_or_by_url_and_the_bytes_do_not_stay() {
    let app = spawn_app().await;
    app.use_llm().await;
    use base64::Engine;
    let inline = b"OggS-inline-voice".to_vec();
    let (status, body) = app
        .ingest(
            &app.sandbox_id,
            &app.sandbox_token,
            json!({"message_id": "bridge-1", "chat_id": "15551234567@s.whatsapp.net",
                   "from": "15551234567", "text": null,
                   "media": {"kind": "audio", "mime_type": "audio/ogg; codecs=opus",
                             "data_base64": base64::engine::general_purpose::STANDARD.encode(&inline)}}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    app.wait_sent_replies("15551234567@s.whatsapp.net", 1).await;
    let uploads = app.llm.uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].bytes, inline);
    assert_eq!(uploads[0].file_name, "voice.ogg");

    // By URL, fetched when the reply job needs it.
    let served = b"OggS-from-a-url".to_vec();
    let file = served.clone();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = hits.clone();
    let server = axum::Router::new().route(
        "/v.ogg",
        axum::routing::get(move || {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let file = file.clone();
            async move { ([("content-type", "audio/ogg")], file) }
        }),
    );
    let addr = switchboard_tests::serve_on_loopback(server).await;
    let (status, body) = app
        .ingest(
            &app.sandbox_id,
            &app.sandbox_token,
            json!({"message_id": "bridge-2", "chat_id": "15557654321@s.whatsapp.net",
                   "from": "15557654321", "text": "listen",
                   "media": {"kind": "audio", "mime_type": "audio/ogg", "url": format!("http://{addr}/v.ogg")}}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    app.wait_sent_replies("15557654321@s.whatsapp.net", 1).await;
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(app.llm.uploads()[1].bytes, served);
    app.until_idle().await;

    // Fetched bytes are nowhere in the data dir; inline ones were deleted once read.
    let found: Vec<_> = walk(&app.data_dir)
        .into_iter()
        .filter(|f| {
            let bytes = std::fs::read(f).unwrap_or_default();
            bytes.windows(served.len()).any(|w| w == served)
        })
        .collect();
    assert!(found.is_empty(), "media bytes at rest in {found:?}");
    let key = format!("{}/bridge-1", app.sandbox_id);
    assert_eq!(
        app.state.store.inline_media(&key).await.expect("read"),
        None
    );

    // `null` is neither of the two ways to give a medium.
    let (status, body) = app
        .ingest(
            &app.sandbox_id,
            &app.sandbox_token,
            json!({"message_id": "null-url", "chat_id": "15551234567@s.whatsapp.net",
                   "from": "15551234567",
                   "media": {"kind": "audio", "mime_type": "audio/ogg", "data_base64": "AAAA", "url": null}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Bad media is refused at the door.
    for (media, field) in [
        (json!({"kind": "audio", "mime_type": "audio/ogg"}), "media"),
        (
            json!({"kind": "audio", "mime_type": "audio/ogg", "data_base64": "@@"}),
            "media.data_base64",
        ),
        (
            json!({"kind": "audio", "mime_type": "audio/ogg", "url": "ftp://x/y"}),
            "media.url",
        ),
        (
            json!({"kind": "audio", "mime_type": "audio/ogg", "url": "http://a/b", "sha256": "xyz"}),
            "media.sha256",
        ),
    ] {
        let (status, body) = app
            .ingest(
                &app.sandbox_id,
                &app.sandbox_token,
                json!({"message_id": "bad", "chat_id": "15551234567@s.whatsapp.net",
                       "from": "15551234567", "media": media}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["field"], field, "{body}");
    }
}

#[tokio::test]
async fn a_media_url_to_a_private_address_is_refused_when_the_guard_is_on() {
    let app = switchboard_tests::spawn_app_with(&[("ALLOW_PRIVATE_NETWORK_URLS", "false")]).await;
    // The LLM would be refused too: echo mode answers without it, and skips media; so the
    // reply job runs with a real key against a public-looking LLM that is never reached.
    app.put_global_ai(json!({"enabled": true, "api_key": "sk", "reply_delay_seconds": 0}))
        .await;
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = hits.clone();
    let server = axum::Router::new().route(
        "/v.ogg",
        axum::routing::get(move || {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { "OggS" }
        }),
    );
    let addr = switchboard_tests::serve_on_loopback(server).await;
    let (status, body) = app
        .ingest(
            &app.sandbox_id,
            &app.sandbox_token,
            json!({"message_id": "private-1", "chat_id": "15551234567@s.whatsapp.net",
                   "from": "15551234567",
                   "media": {"kind": "audio", "mime_type": "audio/ogg", "url": format!("http://{addr}/v.ogg")}}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let media = eventually(
        std::time::Duration::from_secs(15),
        "the medium dealt with",
        || async {
            let m = message_of(
                &app,
                &app.sandbox_id,
                "15551234567@s.whatsapp.net",
                "private-1",
            )
            .await;
            (m["media"]["status"] != "pending").then_some(m["media"].clone())
        },
    )
    .await;
    assert_eq!(media["status"], "failed");
    assert_eq!(media["error"], "media_download_failed");
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
