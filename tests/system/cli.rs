//! The `switchboard` binary's commands, run as a user runs them.

use std::process::Command;
use switchboard_tests::switchboard_binary;

#[test]
fn help_lists_the_commands() {
    let out = Command::new(switchboard_binary())
        .arg("--help")
        .output()
        .expect("run --help");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for command in ["serve", "admin-token", "redrive"] {
        assert!(
            text.contains(command),
            "--help does not mention {command}: {text}"
        );
    }
}

#[tokio::test]
async fn admin_token_mints_a_jwt_the_server_accepts() {
    let dir = tempfile::tempdir().expect("dir");
    let server = switchboard_tests::ServerProcess::start(dir.path(), &[]).await;
    let out = Command::new(switchboard_binary())
        .args(["admin-token", "--ttl-hours", "1"])
        .env_clear()
        .env("SWITCHBOARD_DATA_DIR", dir.path())
        .output()
        .expect("run admin-token");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let res = reqwest::Client::new()
        .get(format!("{}/v1/accounts", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), reqwest::StatusCode::OK);

    let bad = Command::new(switchboard_binary())
        .args(["admin-token"])
        .env_clear()
        .env("SWITCHBOARD_DATA_DIR", dir.path())
        .env("ADMIN_JWT_SECRET", "short")
        .output()
        .expect("run admin-token");
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("ADMIN_JWT_SECRET"),
        "a bad setting names its variable"
    );
}

/// With a deployment's variables, `serve` runs on its table, queues and key (here: moto's),
/// its jobs taken from SQS: nothing is kept in the data dir but the generated local secrets.
#[tokio::test]
async fn serve_runs_on_the_aws_backends_when_their_variables_are_set() {
    use serde_json::json;
    use std::time::Duration;
    let deployment = switchboard_tests::aws::deployment(3).await;
    let env: Vec<(String, String)> = deployment.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let dir = tempfile::tempdir().expect("dir");
    let server = switchboard_tests::ServerProcess::start(dir.path(), &env).await;
    assert!(
        server.stdout.contains("on the AWS backends"),
        "{}",
        server.stdout
    );
    let admin = server.printed_after("admin token").expect("admin token");
    let client = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, token: &str, body: serde_json::Value| {
        client
            .request(method, format!("{}{path}", server.base))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let created: serde_json::Value = call(
        reqwest::Method::POST,
        "/v1/accounts",
        &admin,
        json!({"name": "shop", "provider": "sandbox"}),
    )
    .await
    .expect("create")
    .json()
    .await
    .expect("json");
    let (id, token) = (
        created["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{created}: {}", server.logs()))
            .to_string(),
        created["token"].as_str().expect("token").to_string(),
    );
    call(
        reqwest::Method::PUT,
        "/v1/ai/global",
        &admin,
        json!({"enabled": true, "echo_mode": true, "reply_delay_seconds": 0}),
    )
    .await
    .expect("configure");
    let ingested = call(
        reqwest::Method::POST,
        &format!("/v1/ingest/{id}"),
        &token,
        json!({"message_id": "aws-1", "chat_id": switchboard_tests::PRIVATE_CHAT,
               "from": switchboard_tests::PRIVATE_CHAT, "text": "ping"}),
    )
    .await
    .expect("ingest");
    assert_eq!(ingested.status(), reqwest::StatusCode::ACCEPTED);
    // The reply job and the send job went through SQS and this process's consumers.
    let path = format!(
        "/v1/accounts/{id}/chats/{}/messages",
        switchboard_tests::PRIVATE_CHAT
    );
    switchboard_tests::eventually(Duration::from_secs(30), "the reply sent", || async {
        let listed: serde_json::Value = client
            .get(format!("{}{path}", server.base))
            .bearer_auth(&admin)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        listed["items"]
            .as_array()?
            .iter()
            .find(|m| m["from_me"] == true && m["status"] == "sent")
            .cloned()
    })
    .await;
    assert!(
        !dir.path().join("switchboard.db").exists(),
        "nothing stored in the data dir"
    );
}
