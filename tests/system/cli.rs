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
