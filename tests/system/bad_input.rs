//! Bad input never gets a 5xx or writes anything: classified body errors, and property tests
//! of every operation of the API document with any body, path segment and query.

use axum::body::Body;
use http_body_util::BodyExt;
use proptest::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_tests::{PRIVATE_CHAT, TestApp, fill_path, operations, spawn_app};
use tower::ServiceExt;

async fn raw(
    app: &TestApp,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let mut req = app
        .client
        .post(format!("{}{path}", app.base))
        .bearer_auth(&app.sandbox_token)
        .body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn malformed_wrong_typed_unknown_and_oversized_bodies_get_their_codes() {
    let app = spawn_app().await;
    let path = format!("/v1/ingest/{}", app.sandbox_id);
    let json_ct = Some("application/json");

    let (status, body) = raw(&app, &path, json_ct, b"{\"message_id\": ".to_vec()).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("malformed_json"))
    );

    let wrong_type = json!({"message_id": 5, "chat_id": PRIVATE_CHAT, "from": "x", "text": "t"});
    let (status, body) = raw(&app, &path, json_ct, wrong_type.to_string().into_bytes()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"],
        json!({"code": "invalid_type", "message": body["error"]["message"], "field": "message_id"})
    );

    let unknown = json!({"message_id": "1", "chat_id": PRIVATE_CHAT, "from": "x", "txt": "t"});
    let (status, body) = raw(&app, &path, json_ct, unknown.to_string().into_bytes()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["code"], "unknown_field");
    assert_eq!(body["error"]["field"], "txt");

    let bad_jid = json!({"message_id": "1", "chat_id": "someone", "from": "x", "text": "t"});
    let (status, body) = raw(&app, &path, json_ct, bad_jid.to_string().into_bytes()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "chat_id");

    let (status, body) = raw(&app, &path, Some("text/plain"), b"{}".to_vec()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(body["error"]["code"], "unsupported_media_type");

    let mut big =
        br#"{"message_id":"1","chat_id":"15551234567@s.whatsapp.net","from":"x","text":""#.to_vec();
    big.extend(std::iter::repeat_n(b'a', 2 * 1024 * 1024));
    big.extend(br#""}"#);
    let (status, body) = raw(&app, &path, json_ct, big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"]["code"], "payload_too_large");

    assert!(
        app.messages(&app.sandbox_id, PRIVATE_CHAT).await.is_empty(),
        "no rejected request stored anything"
    );

    let (status, body) = app.get("/v1/no-such-route", &app.admin).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::NOT_FOUND, json!("not_found"))
    );
    let (status, _) = app
        .call("DELETE", "/v1/ai/global", Some(&app.admin), None)
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, body) = app.get("/v1/accounts?limit=500", &app.admin).await;
    assert_eq!(
        (status, body["error"]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("limit"))
    );
    let (status, _) = app.get("/v1/accounts?limit=ten", &app.admin).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = app.get("/v1/accounts?cursor=%%%", &app.admin).await;
    assert!(
        status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY,
        "{status} {body}"
    );
}

#[tokio::test]
async fn a_body_that_is_not_a_json_object_changes_nothing() {
    let app = spawn_app().await;
    let account = format!("/v1/accounts/{}", app.sandbox_id);
    let (_, before) = app.get(&account, &app.admin).await;
    let (_, ai_before) = app.get(&format!("{account}/ai"), &app.admin).await;
    // serde's derive would read these as the struct's fields in order.
    for (method, path, body) in [
        ("PATCH", account.clone(), json!(["renamed", null])),
        ("PUT", format!("{account}/ai"), json!([true])),
        (
            "PUT",
            format!("{account}/ai"),
            json!([true, null, null, null, null]),
        ),
        (
            "POST",
            "/v1/accounts".to_string(),
            json!(["x", "sandbox", null]),
        ),
        ("PUT", "/v1/ai/global".to_string(), json!("enabled")),
        ("PUT", "/v1/ai/global".to_string(), json!(null)),
    ] {
        let (status, err) = app.call(method, &path, Some(&app.admin), Some(&body)).await;
        assert_eq!(
            (
                status,
                err["error"]["code"].clone(),
                err["error"]["message"].clone()
            ),
            (
                StatusCode::BAD_REQUEST,
                json!("invalid_type"),
                json!("body must be a JSON object")
            ),
            "{method} {path} {body}"
        );
    }
    assert_eq!(app.get(&account, &app.admin).await.1, before);
    assert_eq!(
        app.get(&format!("{account}/ai"), &app.admin).await.1,
        ai_before
    );
}

#[tokio::test]
async fn blank_required_text_is_refused_and_whole_numbers_are_integers() {
    let app = spawn_app().await;
    for blank in ["   ", "\t\n", "\u{1}\u{7f}", "\u{3000}"] {
        let (status, err) = app
            .put("/v1/ai/global", &app.admin, json!({"model_name": blank}))
            .await;
        assert_eq!(
            (status, err["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("model_name")),
            "{blank:?} -> {err}"
        );
        let (status, err) = app
            .post(
                "/v1/accounts",
                &app.admin,
                json!({"name": blank, "provider": "sandbox"}),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{blank:?} -> {err}"
        );
    }
    let (status, saved) = app
        .put(
            "/v1/ai/global",
            &app.admin,
            json!({"max_tokens": 37.0, "reply_delay_seconds": 2e0}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(
        (
            saved["max_tokens"].clone(),
            saved["reply_delay_seconds"].clone()
        ),
        (json!(37), json!(2))
    );
    let (status, err) = app
        .put("/v1/ai/global", &app.admin, json!({"max_tokens": 37.5}))
        .await;
    assert_eq!(
        (
            status,
            err["error"]["code"].clone(),
            err["error"]["field"].clone()
        ),
        (
            StatusCode::BAD_REQUEST,
            json!("invalid_type"),
            json!("max_tokens")
        )
    );
    let (status, err) = app
        .put("/v1/ai/global", &app.admin, json!({"max_tokens": 1e30}))
        .await;
    assert_eq!(
        (status, err["error"]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("max_tokens"))
    );
}

#[tokio::test]
async fn a_rejected_account_creation_creates_nothing() {
    let app = spawn_app().await;
    let count = |v: &Value| v["items"].as_array().map(Vec::len).unwrap_or(0);
    let (_, before) = app.get("/v1/accounts", &app.admin).await;
    for body in [
        json!({"name": "x", "provider": "telegram_bot", "provider_config": {}}),
        json!({"name": "x", "provider": "whatsapp_cloud", "provider_config": {"phone_number_id": "1", "access_token": "a", "app_secret": "s", "extra": "no"}}),
        json!({"name": "", "provider": "sandbox"}),
        json!({"name": "x", "provider": "carrier_pigeon"}),
        json!({"name": "x", "provider": "bridge", "provider_config": {"url": "gopher://x"}}),
    ] {
        let (status, err) = app.post("/v1/accounts", &app.admin, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} -> {err}");
        assert!(err["error"]["field"].is_string(), "{err}");
    }
    let (_, after) = app.get("/v1/accounts", &app.admin).await;
    assert_eq!(count(&after), count(&before));
}

fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("message_id".to_string()),
        Just("chat_id".to_string()),
        Just("from".to_string()),
        Just("text".to_string()),
        Just("from_me".to_string()),
        Just("timestamp".to_string()),
        Just("enabled".to_string()),
        Just("temperature".to_string()),
        Just("max_tokens".to_string()),
        Just("api_key".to_string()),
        Just("base_url".to_string()),
        Just("mode".to_string()),
        Just("name".to_string()),
        Just("provider".to_string()),
        Just("provider_config".to_string()),
        Just("blocked".to_string()),
        Just("idempotency_key".to_string()),
        Just("password".to_string()),
        "[a-z_]{1,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "\\PC{0,24}".prop_map(Value::String),
        Just(json!(PRIVATE_CHAT)),
        Just(json!("120363025246125486@g.us")),
        Just(json!("sandbox")),
        Just(json!("2026-01-01T00:00:00Z")),
    ];
    leaf.prop_recursive(3, 24, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Any JSON (or any bytes) sent to any write route gets a non-5xx answer, and an error answer
/// always has the API's error shape.
#[test]
fn no_route_fails_or_panics_on_any_body() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let app = rt.block_on(spawn_app());
    let router = switchboard_core::http::router(app.state.clone(), axum::Router::new());
    let config = ProptestConfig {
        cases: 400,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let as_admin = any::<bool>();
    let body = prop_oneof![
        4 => json_value().prop_map(|v| v.to_string().into_bytes()),
        1 => proptest::collection::vec(any::<u8>(), 0..64),
    ];
    let routes: Vec<_> = operations().into_iter().filter(|op| op.has_body).collect();
    assert!(routes.len() >= 10, "{routes:?}");
    proptest!(config, |(route in 0..routes.len(), body in body, admin in as_admin)| {
        let method = routes[route].method.as_str();
        let path = fill_path(&routes[route].path, &app.sandbox_id, PRIVATE_CHAT);
        let token = if admin { &app.admin } else { &app.sandbox_token };
        let request = axum::http::Request::builder()
            .method(method)
            .uri(&path)
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::from(body.clone()))
            .expect("request");
        let (status, bytes) = rt.block_on(async {
            let res = router.clone().oneshot(request).await.expect("infallible");
            let status = res.status();
            (status, res.into_body().collect().await.expect("body").to_bytes())
        });
        prop_assert!(status.as_u16() < 500, "{method} {path} answered {status} to {}", String::from_utf8_lossy(&body));
        if status.as_u16() >= 400 {
            let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            prop_assert!(v["error"]["code"].is_string() && v["error"]["message"].is_string(), "{status}: {v}");
        }
    });
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.@~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Any path segment and query string on the read routes gets a non-5xx answer in the error shape.
#[test]
fn no_route_fails_on_any_path_or_query() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let app = rt.block_on(spawn_app());
    let router = switchboard_core::http::router(app.state.clone(), axum::Router::new());
    let config = ProptestConfig {
        cases: 300,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let segment = prop_oneof![
        Just(app.sandbox_id.clone()),
        Just(PRIVATE_CHAT.to_string()),
        "\\PC{0,40}"
    ];
    let query = prop_oneof![
        Just(String::new()),
        "(limit|cursor|before)=[a-zA-Z0-9%_=-]{0,30}",
        "[a-z=&%0-9]{0,40}",
    ];
    let routes: Vec<_> = operations()
        .into_iter()
        .filter(|op| op.method == "GET")
        .collect();
    assert!(routes.len() >= 10, "{routes:?}");
    proptest!(config, |(route in 0..routes.len(), id in segment.clone(), chat in segment, query in query, admin in any::<bool>())| {
        let path = format!(
            "{}?{query}",
            fill_path(&routes[route].path, &percent_encode(&id), &percent_encode(&chat))
        );
        let token = if admin { &app.admin } else { &app.sandbox_token };
        let request = axum::http::Request::builder()
            .uri(&path)
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .expect("request");
        let (status, bytes) = rt.block_on(async {
            let res = router.clone().oneshot(request).await.expect("infallible");
            let status = res.status();
            (status, res.into_body().collect().await.expect("body").to_bytes())
        });
        prop_assert!(status.as_u16() < 500, "GET {path} answered {status}");
        if status.as_u16() >= 400 {
            let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            prop_assert!(v["error"]["code"].is_string(), "GET {path}: {status}: {v}");
        }
    });
}

/// A path parameter that is not UTF-8 (`%FF%FE`) names nothing: every operation answers with
/// a 4xx in the API's error body, never a 5xx or axum's plain text.
#[tokio::test]
async fn a_path_parameter_that_is_not_text_is_a_4xx_in_the_error_body() {
    let app = spawn_app().await;
    let mut checked = 0;
    for op in operations().into_iter().filter(|op| op.path.contains('{')) {
        let path = fill_path(&op.path, "%FF%FE", "%FF%FE");
        for token in [&app.admin, &app.sandbox_token] {
            let body = op.has_body.then(|| json!({}));
            let (status, answer) = app
                .call(&op.method, &path, Some(token), body.as_ref())
                .await;
            assert!(
                status.is_client_error(),
                "{} {path}: {status} {answer}",
                op.method
            );
            assert!(
                answer["error"]["code"].is_string(),
                "{} {path}: {status} answered outside the error body: {answer}",
                op.method
            );
        }
        checked += 1;
    }
    assert!(checked >= 20, "{checked} operations with path parameters");
}
