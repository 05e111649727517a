//! Accounts end to end: their lifecycle and token, credentials (admin JWT, account token,
//! login) and the isolation of one account from another.

use reqwest::StatusCode;
use serde_json::json;
use switchboard_tests::{spawn_app, spawn_app_with, str_at};

#[tokio::test]
async fn account_lifecycle_with_a_token_shown_once_and_rotated() {
    let app = spawn_app().await;
    let (status, created) = app
        .post(
            "/v1/accounts",
            &app.admin,
            json!({"name": "Front desk", "provider": "whatsapp_cloud",
                   "provider_config": {"phone_number_id": "123", "access_token": "EAAG-secret", "app_secret": "app-secret"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = str_at(&created, "id");
    let token = str_at(&created, "token");
    assert_eq!(
        created["provider_config"],
        json!({"phone_number_id": "123", "has_access_token": true, "has_app_secret": true, "has_verify_token": true}),
        "a verify token is made up when none is given"
    );

    let (status, got) = app.get(&format!("/v1/accounts/{id}"), &app.admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        got.get("token").is_none(),
        "the token is shown only at creation"
    );
    assert!(
        !got.to_string().contains("EAAG-secret"),
        "secrets are never returned"
    );

    let (status, list) = app.get("/v1/accounts?limit=1", &app.admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    let cursor = str_at(&list, "next_cursor");
    let (_, rest) = app
        .get(&format!("/v1/accounts?limit=1&cursor={cursor}"), &app.admin)
        .await;
    assert_eq!(rest["items"].as_array().map(Vec::len), Some(1));
    assert_ne!(rest["items"][0]["id"], list["items"][0]["id"]);

    let (status, patched) = app
        .patch(
            &format!("/v1/accounts/{id}"),
            &app.admin,
            json!({"name": "Desk 2", "provider_config": {"verify_token": "v"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["name"], "Desk 2");
    assert_eq!(patched["provider_config"]["has_verify_token"], true);
    assert_eq!(patched["provider_config"]["has_access_token"], true);

    let chats = format!("/v1/accounts/{id}/chats");
    assert_eq!(app.get(&chats, &token).await.0, StatusCode::OK);
    let (status, rotated) = app
        .post(&format!("/v1/accounts/{id}/token"), &app.admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let new_token = str_at(&rotated, "token");
    assert_eq!(
        app.get(&chats, &token).await.0,
        StatusCode::UNAUTHORIZED,
        "the old token stops working"
    );
    assert_eq!(app.get(&chats, &new_token).await.0, StatusCode::OK);

    let (status, _) = app
        .call(
            "DELETE",
            &format!("/v1/accounts/{id}"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&format!("/v1/accounts/{id}"), &app.admin).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&chats, &new_token).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn credentials_are_checked_and_tenants_are_isolated() {
    let app = spawn_app().await;
    let (a, a_token) = app.create_account("a").await;
    let (b, _) = app.create_account("b").await;

    assert_eq!(
        app.call("GET", "/v1/accounts", None, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/v1/accounts", "not-a-token").await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, body) = app.get("/v1/accounts", &a_token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "forbidden");

    assert_eq!(
        app.get(&format!("/v1/accounts/{a}/chats"), &a_token)
            .await
            .0,
        StatusCode::OK
    );
    let (status, body) = app.get(&format!("/v1/accounts/{b}/chats"), &a_token).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another tenant's resource reads as not found"
    );
    assert_eq!(body["error"]["code"], "not_found");
    let (status, _) = app
        .ingest(
            &b,
            &a_token,
            switchboard_tests::inbound("x", switchboard_tests::PRIVATE_CHAT, "hi"),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A token for account a with a's id but a forged secret.
    let forged = format!("{}_{}", &a_token[..a_token.len() - 44], "A".repeat(43));
    assert_eq!(
        app.get(&format!("/v1/accounts/{a}/chats"), &forged).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn login_issues_an_admin_token_and_throttles_guessing() {
    let app = spawn_app_with(&[("ADMIN_PASSWORD", "correct horse battery staple")]).await;
    let (status, body) = app
        .call(
            "POST",
            "/v1/auth/login",
            None,
            Some(&json!({"password": "correct horse battery staple"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = str_at(&body, "token");
    assert_eq!(app.get("/v1/accounts", &token).await.0, StatusCode::OK);

    for _ in 0..10 {
        let (status, _) = app
            .call(
                "POST",
                "/v1/auth/login",
                None,
                Some(&json!({"password": "guess"})),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let res = app
        .client
        .post(format!("{}/v1/auth/login", app.base))
        .json(&json!({"password": "correct horse battery staple"}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().get("retry-after").is_some());

    let disabled = spawn_app().await;
    let (status, _) = disabled
        .call(
            "POST",
            "/v1/auth/login",
            None,
            Some(&json!({"password": "x"})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "login is disabled without ADMIN_PASSWORD"
    );
}

#[tokio::test]
async fn another_providers_fields_conflict_with_the_account_and_change_nothing() {
    let app = spawn_app().await;
    let path = format!("/v1/accounts/{}", app.sandbox_id);
    let (_, before) = app.get(&path, &app.admin).await;
    let (status, err) = app
        .patch(
            &path,
            &app.admin,
            json!({"provider_config": {"phone_number_id": "1", "access_token": "a"}}),
        )
        .await;
    assert_eq!(
        (status, err["error"]["code"].clone()),
        (StatusCode::CONFLICT, json!("provider_mismatch"))
    );
    // Fields of no provider at all stay a bad request.
    let (status, err) = app
        .patch(
            &path,
            &app.admin,
            json!({"provider_config": {"colour": "red"}}),
        )
        .await;
    assert_eq!(
        (status, err["error"]["code"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("unknown_field"))
    );
    assert_eq!(app.get(&path, &app.admin).await.1, before);
}
