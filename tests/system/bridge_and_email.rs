//! Bridges and e-mail: a bridge gets its sends and "typing…" signed as Standard Webhooks, behind
//! the URL guard; e-mail goes out through any SMTP server, and a refused recipient is final.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use switchboard_core::domain::chat::ChatJid;
use switchboard_core::domain::ids::{AccountId, MessageId};
use switchboard_core::domain::provider::{OpenedConfig, ProviderKind};
use switchboard_core::ports::{
    ConnectError, OutgoingText, Provider, ProviderAccount, ProviderError,
};
use switchboard_net::guard::UrlGuard;
use switchboard_net::providers::Email;
use switchboard_tests::fake_smtp::FakeSmtp;
use switchboard_tests::receiver::{Received, verify};
use switchboard_tests::{
    PRIVATE_CHAT, TestApp, inbound, serve_on_loopback, spawn_app, spawn_app_with, str_at,
};

const BRIDGE_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A bridge on loopback: records each request by its path, answers `/messages` with a provider id.
#[derive(Clone, Default)]
struct FakeBridge {
    seen: Arc<Mutex<Vec<(String, Received)>>>,
}

async fn bridge_call(
    State(bridge): State<FakeBridge>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::Json<Value> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let received = Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: body.to_vec(),
        at: std::time::Instant::now(),
    };
    let path = uri.path().to_string();
    bridge
        .seen
        .lock()
        .expect("lock")
        .push((path.clone(), received));
    axum::Json(if path == "/wa/messages" {
        json!({"provider_message_id": "3EB0C767D097B7C7C030"})
    } else {
        json!({})
    })
}

async fn start_bridge() -> (FakeBridge, String) {
    let bridge = FakeBridge::default();
    let app = axum::Router::new()
        .route("/wa/{kind}", axum::routing::post(bridge_call))
        .with_state(bridge.clone());
    let addr = serve_on_loopback(app).await;
    (bridge, format!("http://{addr}/wa"))
}

async fn bridge_account(app: &TestApp, url: &str) -> (String, String) {
    let (status, created) = app
        .post(
            "/v1/accounts",
            &app.admin,
            json!({"name": "WA Web", "provider": "bridge",
            "provider_config": {"url": url, "secret": BRIDGE_SECRET}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    (str_at(&created, "id"), str_at(&created, "token"))
}

#[tokio::test]
async fn a_bridge_gets_typing_then_the_reply_both_signed() {
    let app = spawn_app().await;
    let (bridge, url) = start_bridge().await;
    let (account, token) = bridge_account(&app, &url).await;
    app.put_global_ai(json!({"enabled": true, "echo_mode": true, "reply_delay_seconds": 1}))
        .await;
    let (status, _) = app
        .ingest(
            &account,
            &token,
            inbound("3EB0INBOUND", PRIVATE_CHAT, "hola"),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let sent = app.wait_sent_replies_of(&account, PRIVATE_CHAT, 1).await;
    assert_eq!(sent[0]["provider_message_id"], "3EB0C767D097B7C7C030");
    let seen = bridge.seen.lock().expect("lock").clone();
    let paths: Vec<_> = seen.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, vec!["/wa/typing", "/wa/messages"]);
    for (path, request) in &seen {
        assert!(verify(BRIDGE_SECRET, request), "{path} is not signed");
    }
    let message = seen[1].1.json();
    assert_eq!(message["account_id"], account.as_str());
    assert_eq!(message["chat_id"], PRIVATE_CHAT);
    assert_eq!(message["text"], "hola");
    assert_eq!(message["reply_to_message_id"], "3EB0INBOUND");
    assert_eq!(
        message["id"],
        json!(seen[1].1.id),
        "webhook-id is the message id"
    );
    assert_eq!(seen[0].1.json(), json!({"chat_id": PRIVATE_CHAT}));
}

#[tokio::test]
async fn a_bridge_on_a_private_address_is_refused_by_the_guard() {
    let app = spawn_app_with(&[("ALLOW_PRIVATE_NETWORK_URLS", "false")]).await;
    let (bridge, url) = start_bridge().await;
    let (account, token) = bridge_account(&app, &url).await;
    let (status, _) = app
        .post(
            &format!("/v1/accounts/{account}/messages"),
            &token,
            json!({"chat_id": PRIVATE_CHAT, "text": "hi"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    app.until_idle().await;
    let stored = app.messages(&account, PRIVATE_CHAT).await;
    assert_eq!(stored[0]["status"], "failed");
    assert!(
        str_at(&stored[0], "error").contains("loopback"),
        "{stored:?}"
    );
    assert!(
        bridge.seen.lock().expect("lock").is_empty(),
        "nothing reached it"
    );
}

fn email_account(smtp: &FakeSmtp) -> ProviderAccount {
    ProviderAccount {
        id: AccountId::from_trusted("acc_01JABCDEFGHJKMNPQRSTVWXYZ0"),
        kind: ProviderKind::Email,
        config: OpenedConfig {
            fields: BTreeMap::from([("from".to_string(), "shop@example.com".to_string())]),
            secrets: BTreeMap::from([(
                "smtp_url".to_string(),
                SecretString::from(format!("smtp://127.0.0.1:{}", smtp.port)),
            )]),
        },
    }
}

fn text<'a>(id: &'a MessageId, chat: &'a ChatJid, to: &'a str) -> OutgoingText<'a> {
    OutgoingText {
        id,
        chat,
        text: "Your order has shipped.",
        reply_to: None,
        to: Some(to),
        subject: Some("Order 1042"),
        template: None,
    }
}

#[tokio::test]
async fn email_goes_out_through_smtp_and_a_refused_recipient_is_final() {
    let smtp = FakeSmtp::start(false).await;
    let provider = Email::new(UrlGuard::new(true));
    let account = email_account(&smtp);
    let id = MessageId::from_trusted("msg_01JABCDEFGHJKMNPQRSTVWXYZ0");
    let chat = ChatJid::parse(PRIVATE_CHAT).expect("jid");
    assert!(
        provider.connect(&account, "").await.is_ok(),
        "the server answers"
    );
    let receipt = provider
        .send(&account, text(&id, &chat, "ann@example.org"))
        .await
        .expect("sent");
    assert_eq!(receipt.provider_message_id, format!("<{id}@example.com>"));
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].from, "shop@example.com");
    assert_eq!(mails[0].to, vec!["ann@example.org".to_string()]);
    assert!(
        mails[0].data.contains("Subject: Order 1042"),
        "{}",
        mails[0].data
    );
    assert!(mails[0].data.contains("Your order has shipped."));

    let refusing = FakeSmtp::start(true).await;
    let refused = provider
        .send(
            &email_account(&refusing),
            text(&id, &chat, "nobody@example.org"),
        )
        .await;
    assert!(
        matches!(refused, Err(ProviderError::GiveUp { .. })),
        "{refused:?}"
    );
    let guarded = Email::new(UrlGuard::new(false))
        .send(&account, text(&id, &chat, "ann@example.org"))
        .await;
    assert!(
        matches!(guarded, Err(ProviderError::GiveUp { ref reason, .. }) if reason.contains("loopback")),
        "{guarded:?}"
    );
    assert!(
        provider
            .send(
                &account,
                OutgoingText {
                    to: None,
                    ..text(&id, &chat, "x")
                }
            )
            .await
            .is_err(),
        "an e-mail needs an address"
    );
}

#[tokio::test]
async fn an_smtp_host_that_does_not_resolve_is_unreachable_and_retried() {
    let smtp = FakeSmtp::start(false).await;
    let provider = Email::new(UrlGuard::new(true));
    let mut account = email_account(&smtp);
    // `.invalid` never resolves (RFC 2606).
    account.config.secrets.insert(
        "smtp_url".to_string(),
        SecretString::from("smtp://mail.example.invalid:2525".to_string()),
    );
    assert!(
        matches!(
            provider.connect(&account, "").await,
            Err(ConnectError::Unreachable(_))
        ),
        "not a refusal: the name may resolve later"
    );
    let id = MessageId::from_trusted("msg_01JABCDEFGHJKMNPQRSTVWXYZ0");
    let chat = ChatJid::parse(PRIVATE_CHAT).expect("jid");
    let sent = provider
        .send(&account, text(&id, &chat, "ann@example.org"))
        .await;
    assert!(matches!(sent, Err(ProviderError::Retry { .. })), "{sent:?}");
    assert!(smtp.mails().is_empty());
}
