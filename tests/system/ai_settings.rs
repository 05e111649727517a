//! AI settings at the global, account and chat levels: merging PUTs, the write-only key,
//! range checks, and the effective configuration with the level of each field.

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_core::domain::ai_settings::{Kind, fields};
use switchboard_tests::{PRIVATE_CHAT, spawn_app, spawn_app_with};

fn files_contain(dir: &std::path::Path, needle: &str) -> bool {
    std::fs::read_dir(dir)
        .expect("data dir")
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read(e.path()).ok())
        .any(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
}

#[tokio::test]
async fn global_put_merges_and_the_api_key_is_write_only_and_sealed() {
    let app = spawn_app().await;
    let body = app
        .put_global_ai(json!({"enabled": true, "api_key": "sk-live-0123456789", "model_name": "gpt-4o-mini", "temperature": 0.3}))
        .await;
    assert_eq!(body["has_api_key"], true);
    assert!(
        !body.to_string().contains("sk-live"),
        "the key is never returned"
    );

    let body = app.put_global_ai(json!({"max_tokens": 256})).await;
    assert_eq!(
        body["model_name"], "gpt-4o-mini",
        "a field left out keeps its value"
    );
    assert_eq!(body["temperature"], 0.3);
    assert_eq!(body["max_tokens"], 256);
    assert_eq!(body["has_api_key"], true);

    let (_, read) = app.get("/v1/ai/global", &app.admin).await;
    assert_eq!(read["has_api_key"], true);
    assert!(read.get("api_key").is_none());
    assert!(
        !files_contain(&app.data_dir, "sk-live-0123456789"),
        "the key is encrypted at rest"
    );

    let body = app
        .put_global_ai(json!({"api_key": null, "model_name": null}))
        .await;
    assert_eq!(body["has_api_key"], false, "null clears the key");
    assert_eq!(body["model_name"], Value::Null);
}

#[tokio::test]
async fn every_out_of_range_value_is_422_and_changes_nothing() {
    let app = spawn_app().await;
    let before = app
        .put_global_ai(json!({"temperature": 1.0, "max_tokens": 100}))
        .await;
    let bad = [
        ("temperature", json!(2.5)),
        ("temperature", json!(-0.1)),
        ("max_tokens", json!(0)),
        ("max_tokens", json!(32769)),
        ("timeout_seconds", json!(0)),
        ("timeout_seconds", json!(301)),
        ("reply_delay_seconds", json!(-1)),
        ("reply_delay_seconds", json!(901)),
        ("human_takeover_minutes", json!(10081)),
        ("debounce_seconds", json!(121)),
        ("max_replies_per_chat_per_hour", json!(0)),
        ("max_replies_per_chat_per_hour", json!(1001)),
        ("base_url", json!("ftp://example.com")),
        ("base_url", json!("not a url")),
        ("model_name", json!("")),
    ];
    for (field, value) in bad {
        // A valid field beside the bad one must not be written either.
        let (status, body) = app
            .put(
                "/v1/ai/global",
                &app.admin,
                json!({"max_tokens": 999, field: value}),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}={value}: {body}"
        );
        assert_eq!(body["error"]["field"], field, "{body}");
        assert_eq!(body["error"]["code"], "invalid_value");
    }
    let (status, body) = app
        .put("/v1/ai/global", &app.admin, json!({"enabled": "yes"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "wrong type: {body}");
    assert_eq!(body["error"]["field"], "enabled");
    let (_, after) = app.get("/v1/ai/global", &app.admin).await;
    assert_eq!(after, before);
}

#[tokio::test]
async fn effective_config_names_the_level_of_every_field() {
    let app = spawn_app_with(&[("AI_MODEL", "env-model")]).await;
    let acc = &app.sandbox_id;
    let effective = format!("/v1/accounts/{acc}/chats/{PRIVATE_CHAT}/ai/effective");

    let (status, e) = app.get(&effective, &app.admin).await;
    assert_eq!(status, StatusCode::OK, "{e}");
    assert_eq!(
        e["model_name"],
        json!({"value": "env-model", "source": "env"})
    );
    assert_eq!(e["temperature"], json!({"value": 0.7, "source": "default"}));
    assert_eq!(e["would_reply"], false);
    assert_eq!(e["reason"], "AI is disabled globally");

    app.put_global_ai(json!({"enabled": true, "temperature": 1.1}))
        .await;
    let (_, e) = app.get(&effective, &app.sandbox_token).await;
    assert_eq!(
        e["reason"], "no API key configured",
        "an account token may read its own"
    );

    let (status, _) = app
        .put(
            &format!("/v1/accounts/{acc}/ai"),
            &app.admin,
            json!({"api_key": "sk-acc", "temperature": 0.2}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, e) = app.get(&effective, &app.admin).await;
    assert_eq!(e["temperature"], json!({"value": 0.2, "source": "account"}));
    assert_eq!(
        e["has_api_key"],
        json!({"value": true, "source": "account"})
    );
    assert_eq!(e["enabled"], json!({"value": true, "source": "global"}));
    assert_eq!(e["would_reply"], true);
    assert_eq!(e["reason"], Value::Null);

    let chat_ai = format!("/v1/accounts/{acc}/chats/{PRIVATE_CHAT}/ai");
    let (status, body) = app
        .put(
            &chat_ai,
            &app.admin,
            json!({"mode": "disabled", "custom_system_prompt": "Answer as a pirate."}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, e) = app.get(&effective, &app.admin).await;
    assert_eq!(e["enabled"], json!({"value": false, "source": "chat"}));
    assert_eq!(
        e["default_system_prompt"],
        json!({"value": "Answer as a pirate.", "source": "chat"})
    );
    assert_eq!(e["reason"], "AI is disabled for this chat");

    app.put(&chat_ai, &app.admin, json!({"mode": "inherit"}))
        .await;
    app.put(
        &format!("/v1/accounts/{acc}/ai"),
        &app.admin,
        json!({"enabled": false}),
    )
    .await;
    let (_, e) = app.get(&effective, &app.admin).await;
    assert_eq!(e["reason"], "AI is disabled for this account");

    app.put(
        &format!("/v1/accounts/{acc}/ai"),
        &app.admin,
        json!({"enabled": null}),
    )
    .await;
    let (status, _) = app
        .put(
            &format!("/v1/accounts/{acc}/chats/{PRIVATE_CHAT}/block"),
            &app.admin,
            json!({"blocked": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, e) = app.get(&effective, &app.admin).await;
    assert_eq!(e["reason"], "chat is blocked");

    let group = "120363025246125486@g.us";
    let (_, e) = app
        .get(
            &format!("/v1/accounts/{acc}/chats/{group}/ai/effective"),
            &app.admin,
        )
        .await;
    assert_eq!(
        e["reason"],
        "replies to group chats are off (reply_to_groups)"
    );
}

#[tokio::test]
async fn chat_level_validates_its_fields() {
    let app = spawn_app().await;
    let acc = &app.sandbox_id;
    let (status, body) = app
        .put(
            &format!("/v1/accounts/{acc}/chats/{PRIVATE_CHAT}/ai"),
            &app.admin,
            json!({"mode": "sometimes"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown enum: {body}"
    );
    assert_eq!(body["error"]["field"], "mode");
    let (status, body) = app
        .put(
            &format!("/v1/accounts/{acc}/chats/not-a-jid/ai"),
            &app.admin,
            json!({"mode": "enabled"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "chat_jid");
    let (status, _) = app
        .put(
            &format!("/v1/accounts/acc_01JABCDEFGHJKMNPQRSTVWXYZ0/chats/{PRIVATE_CHAT}/ai"),
            &app.admin,
            json!({"mode": "enabled"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn concurrent_changes_to_different_fields_all_survive() {
    let app = spawn_app().await;
    let acc = app.sandbox_id.clone();
    let chat = format!("/v1/accounts/{acc}/chats/{PRIVATE_CHAT}");
    let fields = [
        json!({"enabled": true}),
        json!({"echo_mode": true}),
        json!({"temperature": 1.5}),
        json!({"max_tokens": 77}),
        json!({"timeout_seconds": 12}),
        json!({"reply_delay_seconds": 9}),
        json!({"model_name": "m"}),
        json!({"debounce_seconds": 4}),
    ];
    let level = format!("/v1/accounts/{acc}/ai");
    let mut calls = Vec::new();
    for body in fields {
        calls.push(app.put("/v1/ai/global", &app.admin, body.clone()));
        calls.push(app.put(&level, &app.admin, body));
    }
    for (status, body) in futures::future::join_all(calls).await {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    for path in ["/v1/ai/global".to_string(), level] {
        let (_, s) = app.get(&path, &app.admin).await;
        assert_eq!(
            (
                &s["enabled"],
                &s["echo_mode"],
                &s["temperature"],
                &s["max_tokens"],
                &s["timeout_seconds"],
                &s["reply_delay_seconds"],
                &s["model_name"],
                &s["debounce_seconds"]
            ),
            (
                &json!(true),
                &json!(true),
                &json!(1.5),
                &json!(77),
                &json!(12),
                &json!(9),
                &json!("m"),
                &json!(4)
            ),
            "{path}: {s}"
        );
    }
    let (block_path, mode_path) = (format!("{chat}/block"), format!("{chat}/ai"));
    let (block, mode) = tokio::join!(
        app.put(&block_path, &app.admin, json!({"blocked": true})),
        app.put(&mode_path, &app.admin, json!({"mode": "disabled"})),
    );
    assert_eq!((block.0, mode.0), (StatusCode::OK, StatusCode::OK));
    let (_, chats) = app
        .get(&format!("/v1/accounts/{acc}/chats"), &app.admin)
        .await;
    assert_eq!(chats["items"][0]["blocked"], true);
    assert_eq!(chats["items"][0]["ai_mode"], "disabled");
}

/// Values of a setting's kind that the server must take, and ones it must refuse (422), from
/// the kind's own limits.
fn samples(kind: Kind) -> (Vec<Value>, Vec<Value>) {
    match kind {
        Kind::Flag => (vec![json!(true), json!(false)], vec![]),
        Kind::Integer { min, max } => (
            vec![json!(min), json!(max)],
            [i64::from(min) - 1, i64::from(max) + 1]
                .into_iter()
                .map(|n| json!(n))
                .collect(),
        ),
        Kind::Number { min, max } => (
            vec![json!(min), json!(max)],
            vec![json!(min - 0.5), json!(max + 0.5)],
        ),
        Kind::Text { max_chars } => (
            vec![json!("é".repeat(max_chars))],
            vec![json!("é".repeat(max_chars + 1)), json!("  ")],
        ),
        Kind::Url => (
            vec![json!("https://llm.example.com/v1")],
            vec![json!("ftp://llm.example.com"), json!("http://[::1]/")],
        ),
        Kind::Choice(names) => (
            names.iter().map(|n| json!(n)).collect(),
            vec![json!("none of them")],
        ),
        Kind::Secret => (vec![json!("sk-field-test")], vec![json!(" ")]),
    }
}

/// Walks the declared settings (nothing here names one): each is in the PUT with its limits
/// (both ends taken, beyond refused and naming the field), in the GET of the level, in the
/// effective view with the level it came from, and in the API document with the limits of
/// its kind. The dashboard's form is held to the same document by the browser tests.
#[tokio::test]
async fn every_declared_setting_is_in_every_shape_with_the_same_limits() {
    let app = spawn_app().await;
    let (account, _) = app.create_account("fields").await;
    let doc = switchboard_core::http::openapi();
    let schemas = &doc["components"]["schemas"];
    let effective_path = format!("/v1/accounts/{account}/chats/{PRIVATE_CHAT}/ai/effective");
    for field in fields() {
        let name = field.name;
        let shown = field.shown_name();
        let documented = &schemas["AiSettingsBody"]["properties"][name];
        for (limit, value) in field.kind.schema().as_object().expect("an object") {
            // The document writes a limit of `2.0` as `2`.
            let same = match (&documented[limit], value) {
                (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
                // A level may leave a choice unset: the document's names take `null` too.
                (Value::Array(a), Value::Array(b)) if limit == "enum" => {
                    a.iter().filter(|v| !v.is_null()).eq(b.iter()) && a.contains(&Value::Null)
                }
                (a, b) => a == b,
            };
            assert!(limit == "type" || same, "{name}: {limit} in the document");
        }
        assert!(
            schemas["AiSettingsView"]["properties"][&shown].is_object(),
            "{name}: the GET's schema"
        );
        assert!(
            schemas["EffectiveAi"]["properties"][&shown].is_object(),
            "{name}: the effective schema"
        );

        let (good, bad) = samples(field.kind);
        for value in good {
            let (status, level) = app
                .put(
                    &format!("/v1/accounts/{account}/ai"),
                    &app.admin,
                    json!({ name: value }),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{name} = {value}: {level}");
            let (_, read) = app
                .get(&format!("/v1/accounts/{account}/ai"), &app.admin)
                .await;
            let expected = if field.is_secret() {
                json!(true)
            } else {
                value.clone()
            };
            assert_eq!(read[&shown], expected, "{name}: the GET shows what was put");
            let (_, effective) = app.get(&effective_path, &app.admin).await;
            assert_eq!(
                effective[&shown]["source"], "account",
                "{name}: {effective}"
            );
            if !field.is_secret() && name != "enabled" && name != "default_system_prompt" {
                assert_eq!(effective[&shown]["value"], expected, "{name}: in force");
            }
        }
        for value in bad {
            let (status, error) = app
                .put(
                    &format!("/v1/accounts/{account}/ai"),
                    &app.admin,
                    json!({ name: value }),
                )
                .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name} = {value}");
            assert_eq!(error["error"]["field"], name, "{name}: {error}");
        }
        let (status, _) = app
            .put(
                &format!("/v1/accounts/{account}/ai"),
                &app.admin,
                json!({ name: null }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{name}: null inherits");
        let (_, effective) = app.get(&effective_path, &app.admin).await;
        assert_ne!(
            effective[&shown]["source"], "account",
            "{name}: inherited again"
        );
    }
}
