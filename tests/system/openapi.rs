//! The API document: served as generated, and every operation in it is a real route.

use reqwest::StatusCode;
use switchboard_tests::{PRIVATE_CHAT, fill_path, operations, spawn_app};

#[tokio::test]
async fn the_served_document_is_the_generated_one_and_each_operation_is_routed() {
    let app = spawn_app().await;
    let (status, doc) = app.call("GET", "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let generated =
        serde_json::to_value(switchboard_core::http::openapi()).expect("generated document");
    assert_eq!(doc, generated);
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
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
