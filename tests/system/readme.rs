//! The README's `ai_send` snippet, run as written by Python against `switchboard serve` (the
//! real binary), with only the base URL, key and phone given in the environment as the tour does.

use serde_json::{Value, json};
use std::process::Command;
use std::time::Duration;
use switchboard_tests::{ServerProcess, eventually};

/// The Python block that follows the `ai_send` marker in README.md.
fn snippet() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let (_, after) = readme
        .split_once("<!-- ai_send:")
        .expect("the ai_send marker");
    let (_, block) = after.split_once("```python\n").expect("a python block");
    let (code, _) = block.split_once("```").expect("the block's end");
    code.to_string()
}

fn run(code: &str, base: &str, key: &str, phone: &str) -> String {
    let out = Command::new("python3")
        .args(["-c", code])
        .env("SB", base)
        .env("SB_KEY", key)
        .env("ACC", phone)
        .output()
        .expect("python3 (scripts/test installs requests)");
    assert!(
        out.status.success(),
        "the snippet failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn the_readme_ai_send_snippet_sends_once_against_switchboard_serve() {
    let dir = tempfile::tempdir().expect("dir");
    let server = ServerProcess::start(dir.path(), &[]).await;
    let admin = server.printed_after("admin token").expect("admin token");
    let phone = server
        .stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("sandbox account "))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the sandbox account in the banner")
        .to_string();
    let client = reqwest::Client::new();
    let created: Value = client
        .post(format!("{}/v1/api-keys", server.base))
        .bearer_auth(&admin)
        .json(
            &json!({"name": "assistant", "phone_ids": [phone], "channels": ["sms", "wa"],
            "recipient_allowlist": ["+15551234567"], "rate_limit_per_minute": 30,
            "require_confirmation": false}),
        )
        .send()
        .await
        .expect("create a key")
        .json()
        .await
        .expect("json");
    let key = created["key"].as_str().expect("key").to_string();

    let code = snippet();
    let first = run(&code, &server.base, &key, &phone);
    assert!(first.contains("'status': 'queued'"), "{first}");
    let again = run(&code, &server.base, &key, &phone);
    assert_eq!(
        first, again,
        "the same idempotency key answers the first answer"
    );

    let id = first
        .split("'id': '")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("the message id")
        .to_string();
    let url = format!("{}/api/v1/messages/{id}", server.base);
    let sent = eventually(Duration::from_secs(10), "the message sent", || {
        let request = client.get(&url).bearer_auth(&key);
        async move {
            let m: Value = request.send().await.ok()?.json().await.ok()?;
            (m["status"] == "sent").then_some(m)
        }
    })
    .await;
    assert_eq!(sent["text"], "Your bike is ready.", "{sent}");
    let audit: Value = client
        .get(format!("{}/api/v1/audit", server.base))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("audit")
        .json()
        .await
        .expect("json");
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|r| r["action"].as_str())
        .collect();
    assert_eq!(actions, ["replay", "send", "key_create"], "{audit}");
}

/// The snippet's `ai_send` as written, on every channel, with a key that allows them all: each
/// is accepted (a notification with the empty `to` the snippet sends for it).
#[tokio::test]
async fn the_readme_ai_send_snippet_sends_on_every_channel() {
    let dir = tempfile::tempdir().expect("dir");
    let server = ServerProcess::start(dir.path(), &[]).await;
    let admin = server.printed_after("admin token").expect("admin token");
    let phone = server
        .stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("sandbox account "))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the sandbox account in the banner")
        .to_string();
    let created: Value = reqwest::Client::new()
        .post(format!("{}/v1/api-keys", server.base))
        .bearer_auth(&admin)
        .json(
            &json!({"name": "every channel", "phone_ids": ["*"], "channels": ["*"],
            "recipient_allowlist": null, "rate_limit_per_minute": 100,
            "require_confirmation": false}),
        )
        .send()
        .await
        .expect("create a key")
        .json()
        .await
        .expect("json");
    let key = created["key"].as_str().expect("key");
    let (definition, _) = snippet()
        .rsplit_once("print(")
        .map(|(def, call)| (def.to_string(), call.to_string()))
        .expect("the snippet ends with its example call");
    let sends = [
        ("sms", "+15551234567"),
        ("wa", "+15551234567"),
        ("tg", "@ann_smith"),
        ("email", "ann@example.com"),
        ("notify", "ignored for notify"),
        ("tg_bot", "123456789"),
        ("pchat", "ann-7"),
    ];
    let calls: String = sends
        .iter()
        .map(|(ch, to)| {
            format!(
                "print({ch:?}, ai_send(os.environ['ACC'], {ch:?}, {to:?}, 'Your bike is ready.', subject='Your bike'))\n"
            )
        })
        .collect();
    let out = run(&format!("{definition}{calls}"), &server.base, key, &phone);
    for (ch, _) in sends {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("{ch} ")))
            .unwrap_or_else(|| panic!("no answer for {ch}: {out}"));
        assert!(line.contains("'status': 'queued'"), "{ch}: {line}");
        assert!(line.contains(&format!("'channel': '{ch}'")), "{ch}: {line}");
    }
}
