//! E-mail against a real SMTP server (aiosmtpd, started by the tests): a sender with a display
//! name and `MIME-Version`; the failures that are configuration (a wrong password, no
//! authentication mechanism both ends speak) final at once with the server's words; a busy
//! server (421) tried again, the message showing why meanwhile, and sent once; `connect`
//! checking the credentials.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use switchboard_tests::smtp::{Mode, SmtpServer};
use switchboard_tests::{TestApp, eventually, spawn_app, str_at};

async fn email_phone(app: &TestApp, from: &str, smtp_url: &str) -> String {
    let (status, created) = app
        .post(
            "/v1/accounts",
            &app.admin,
            json!({"name": "mail", "provider": "email",
                "provider_config": {"from": from, "smtp_url": smtp_url}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    str_at(&created, "id")
}

async fn key(app: &TestApp) -> String {
    let (status, created) = app
        .post(
            "/v1/api-keys",
            &app.admin,
            json!({"name": "mailer", "phone_ids": ["*"], "channels": ["email"],
                "recipient_allowlist": null, "rate_limit_per_minute": 100,
                "require_confirmation": false}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    str_at(&created, "key")
}

async fn send(app: &TestApp, key: &str, phone: &str) -> String {
    let (status, sent) = app
        .post(
            "/api/v1/messages",
            key,
            json!({"phone_id": phone, "channel": "email", "to": "ann@example.com",
                "subject": "Votre vélo est prêt", "text": "Bonjour Ann,\nvotre vélo est prêt."}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
    str_at(&sent, "id")
}

/// Waits until the message is `sent` or `failed`; returns it.
async fn settled(app: &TestApp, key: &str, id: &str) -> Value {
    eventually(Duration::from_secs(20), "the send settled", || async {
        let (_, m) = app.get(&format!("/api/v1/messages/{id}"), key).await;
        matches!(m["status"].as_str(), Some("sent" | "failed")).then_some(m)
    })
    .await
}

#[tokio::test]
async fn a_sender_with_a_display_name_is_delivered_with_its_header_and_mime_version() {
    let app = spawn_app().await;
    let smtp = SmtpServer::start(Mode::Plain);
    let phone = email_phone(&app, "Café Ann ☕ <shop@example.com>", &smtp.url(None)).await;
    let key = key(&app).await;
    let id = send(&app, &key, &phone).await;
    let m = settled(&app, &key, &id).await;
    assert_eq!(m["status"], "sent", "{m}");
    let got = smtp.received();
    assert_eq!(got.len(), 1, "{got:?}");
    let mail = &got[0];
    assert_eq!(mail["from"], "Café Ann ☕ <shop@example.com>");
    assert_eq!(
        mail["mail_from"], "shop@example.com",
        "the envelope's sender"
    );
    assert_eq!(mail["rcpt_tos"], json!(["ann@example.com"]));
    assert_eq!(mail["mime_version"], "1.0");
    assert_eq!(mail["subject"], "Votre vélo est prêt");
    // SMTP carries lines ending in CRLF; the text is the same.
    let body = mail["body"].as_str().expect("body").replace("\r\n", "\n");
    assert_eq!(body.trim_end(), "Bonjour Ann,\nvotre vélo est prêt.");
    let raw = mail["raw"].as_str().expect("raw");
    assert!(
        raw.lines()
            .any(|l| l.starts_with("From: =?utf-8?") && l.ends_with("<shop@example.com>")),
        "a non-ASCII name is encoded in the header: {raw}"
    );
    assert_eq!(
        mail["message_id"],
        format!("<{id}@example.com>"),
        "the id's domain is the address's"
    );

    // A quoted name with a comma, as mail clients write one.
    let phone = email_phone(&app, "\"Shop, Inc.\" <shop@example.com>", &smtp.url(None)).await;
    let id = send(&app, &key, &phone).await;
    assert_eq!(settled(&app, &key, &id).await["status"], "sent");
    assert_eq!(
        smtp.received()[1]["from"],
        "\"Shop, Inc.\" <shop@example.com>"
    );
}

#[tokio::test]
async fn configuration_errors_are_final_at_once_with_the_servers_words() {
    let app = spawn_app().await;
    let key = key(&app).await;
    let with_auth = SmtpServer::start(Mode::Auth);
    let wrong = email_phone(&app, "shop@example.com", &with_auth.url(Some("shop:wrong"))).await;
    let m = settled(&app, &key, &send(&app, &key, &wrong).await).await;
    assert_eq!(
        (&m["status"], &m["error_code"]),
        (&json!("failed"), &json!("provider_error")),
        "{m}"
    );
    let error = m["error"].as_str().expect("error");
    assert!(error.contains("535"), "the server's words: {error}");
    assert!(
        !error.contains("gave up after"),
        "final at the first try: {error}"
    );

    // Credentials for a server that offers no way to use them: no mechanism in common.
    let no_auth = SmtpServer::start(Mode::Plain);
    let impossible = email_phone(&app, "shop@example.com", &no_auth.url(Some("shop:right"))).await;
    let m = settled(&app, &key, &send(&app, &key, &impossible).await).await;
    assert_eq!(m["status"], "failed", "{m}");
    assert!(
        m["error"]
            .as_str()
            .unwrap_or_default()
            .contains("authentication"),
        "{m}"
    );
    assert!(no_auth.received().is_empty() && with_auth.received().is_empty());

    // The right password goes through.
    let right = email_phone(&app, "shop@example.com", &with_auth.url(Some("shop:right"))).await;
    let m = settled(&app, &key, &send(&app, &key, &right).await).await;
    assert_eq!(m["status"], "sent", "{m}");
    assert_eq!(with_auth.received().len(), 1);
}

#[tokio::test]
async fn a_busy_server_is_tried_again_and_the_message_sent_once() {
    let app = spawn_app().await;
    let key = key(&app).await;
    let busy = SmtpServer::start(Mode::BusyOnce);
    let phone = email_phone(&app, "shop@example.com", &busy.url(None)).await;
    let id = send(&app, &key, &phone).await;
    // Between the two tries the message is still `sending` (never back to `queued`), and says
    // why it waits.
    let waiting = eventually(Duration::from_secs(10), "the retrying note", || async {
        let (_, m) = app.get(&format!("/api/v1/messages/{id}"), &key).await;
        m["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("retrying"))
            .then_some(m)
    })
    .await;
    assert_eq!(waiting["status"], "sending", "{waiting}");
    assert!(
        waiting["error"]
            .as_str()
            .unwrap_or_default()
            .contains("421"),
        "{waiting}"
    );
    let m = settled(&app, &key, &id).await;
    assert_eq!(m["status"], "sent", "{m}");
    assert!(m["error"].is_null(), "a sent message carries no error: {m}");
    assert_eq!(busy.received().len(), 1, "sent once");
}

#[tokio::test]
async fn connect_checks_the_credentials_and_says_what_it_found() {
    let app = spawn_app().await;
    let smtp = SmtpServer::start(Mode::Auth);
    let right = email_phone(&app, "shop@example.com", &smtp.url(Some("shop:right"))).await;
    let (status, found) = app
        .post(
            &format!("/v1/accounts/{right}/connect"),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["connected"], true);
    assert!(
        found["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("credentials"),
        "{found}"
    );
    let wrong = email_phone(&app, "shop@example.com", &smtp.url(Some("shop:wrong"))).await;
    let (status, refused) = app
        .post(
            &format!("/v1/accounts/{wrong}/connect"),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("535"),
        "{refused}"
    );
}
