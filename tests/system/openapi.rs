//! The API document: committed and served as generated, and every operation in it is a real
//! route.

use reqwest::StatusCode;
use switchboard_tests::{PRIVATE_CHAT, fill_path, operations, spawn_app};

#[tokio::test]
async fn the_served_document_is_the_generated_one_and_each_operation_is_routed() {
    let app = spawn_app().await;
    let (status, doc) = app.call("GET", "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc, switchboard_core::http::openapi());
    for scheme in ["admin", "account", "api_key"] {
        assert!(
            doc["components"]["securitySchemes"][scheme].is_object(),
            "{scheme}"
        );
    }
    let body = &doc["components"]["schemas"]["AiSettingsBody"]["properties"];
    assert!(body["temperature"].is_object() && body["max_replies_per_chat_per_hour"].is_object());

    let operations = operations();
    assert!(operations.len() >= 30, "{operations:?}");
    for op in operations {
        let path = fill_path(&op.path, &app.sandbox_id, PRIVATE_CHAT);
        let (status, answer) = app.call(&op.method, &path, None, None).await;
        // Unauthenticated: a routed operation answers for itself (401, or its own answer for
        // the open ones), never the router's "no such route" or "no such method".
        let unrouted = status == StatusCode::METHOD_NOT_ALLOWED
            || answer["error"]["message"] == "route not found";
        assert!(
            !unrouted,
            "{} {} is documented but not routed: {status} {answer}",
            op.method, op.path
        );
    }
}

/// `/openapi.json` serves `docs/openapi.json`, so that no binary carries the code that
/// generates it; this keeps the file equal to what the handlers' annotations generate.
/// `UPDATE_OPENAPI=1` writes the generated document there first.
#[test]
fn the_committed_document_is_the_generated_one() {
    let generated = switchboard_core::http::openapi();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        let text = serde_json::to_string_pretty(&generated).expect("a document") + "\n";
        std::fs::write(path, text).expect("docs/openapi.json written");
    }
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("docs/openapi.json"))
            .expect("docs/openapi.json is JSON");
    assert!(
        committed == generated,
        "docs/openapi.json is not the document the handlers generate: write it anew with \
         `UPDATE_OPENAPI=1 cargo test -p switchboard-tests --test system openapi::`"
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(switchboard_core::http::DOCUMENT)
            .expect("the served document is JSON"),
        committed,
        "the served document is the committed one (the binaries embed the file when they are \
         built: after `UPDATE_OPENAPI=1`, run the tests once more)"
    );
}

/// Derived from the document, so a new route is held to it without an edit.
#[test]
fn every_operation_documents_the_errors_it_can_answer() {
    let doc = switchboard_core::http::openapi();
    let shared = doc["components"]["responses"]
        .as_object()
        .expect("shared responses");
    let mut ids = std::collections::HashSet::new();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let responses = op["responses"].as_object().expect("responses");
            let listed = |status: &str| responses.contains_key(status);
            let label = format!("{method} {path}");
            assert!(
                ids.insert(op["operationId"].as_str().expect("operationId").to_string()),
                "{label}: operationId used twice"
            );
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            if secured {
                assert!(listed("401"), "{label} is secured but does not list 401");
            }
            let roles: Vec<&str> = op["security"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|r| r.as_object().expect("requirement").keys())
                .map(String::as_str)
                .collect();
            if roles == ["admin"] {
                assert!(listed("403"), "{label} is admin only but does not list 403");
                let words = op["description"].as_str().unwrap_or_default();
                assert!(words.contains("Admin only"), "{label}: {words:?}");
            }
            if op.get("requestBody").is_some() {
                for status in ["400", "413", "415", "422"] {
                    assert!(
                        listed(status),
                        "{label} takes a body but does not list {status}"
                    );
                }
            }
            let parameters = op["parameters"].as_array().cloned().unwrap_or_default();
            if parameters.iter().any(|p| p["in"] == "query") {
                for status in ["400", "422"] {
                    assert!(
                        listed(status),
                        "{label} takes a query but does not list {status}"
                    );
                }
            }
            if parameters.iter().any(|p| p["in"] == "path") {
                assert!(
                    listed("404"),
                    "{label} looks up an id but does not list 404"
                );
            }
            for p in parameters.iter().filter(|p| p["name"] == "limit") {
                let schema = &p["schema"];
                assert_eq!(schema["minimum"], 1, "{label} limit");
                assert!(
                    schema["maximum"].as_u64().is_some_and(|m| m <= 200),
                    "{label} limit"
                );
            }
            // Shared answers are references, not copies.
            for (status, response) in responses {
                if let Some(target) = response["$ref"].as_str() {
                    let name = target.trim_start_matches("#/components/responses/");
                    assert!(shared.contains_key(name), "{label} {status}: {target}");
                } else if !status.starts_with('2') {
                    let words = response["description"].as_str().unwrap_or_default();
                    assert!(
                        !words.is_empty(),
                        "{label} {status}: a copy of a shared answer"
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 40, "{checked}");
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["CreateAccountBody"]["oneOf"]
            .as_array()
            .map(Vec::len),
        Some(6)
    );
    assert!(
        doc.to_string().contains("#/components/schemas/ChatJid"),
        "chat ids are described once"
    );
    let shared_429 = &doc["components"]["responses"]["TooManyRequests"];
    assert!(shared_429["headers"]["Retry-After"].is_object());
    for path in ["/api/v1/messages", "/v1/accounts/{id}/messages"] {
        let replay = &doc["paths"][path]["post"]["responses"]["200"];
        assert!(
            replay["headers"]["Idempotent-Replayed"].is_object(),
            "{path}"
        );
    }
    let links = &doc["paths"]["/v1/accounts"]["post"]["responses"]["201"]["links"];
    assert_eq!(links["GetAccount"]["operationId"], "get_account");
}
