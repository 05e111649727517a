use reqwest::StatusCode;
use switchboard_tests::spawn_app;

/// The document is generated from the handlers, so every route is in it with its methods.
#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    let app = spawn_app().await;
    let (status, doc) = app.call("GET", "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let expected = [
        ("/healthz", "get"),
        ("/v1/auth/login", "post"),
        ("/v1/accounts", "post"),
        ("/v1/accounts", "get"),
        ("/v1/accounts/{id}", "get"),
        ("/v1/accounts/{id}", "patch"),
        ("/v1/accounts/{id}", "delete"),
        ("/v1/accounts/{id}/token", "post"),
        ("/v1/ai/global", "get"),
        ("/v1/ai/global", "put"),
        ("/v1/accounts/{id}/ai", "get"),
        ("/v1/accounts/{id}/ai", "put"),
        ("/v1/accounts/{id}/chats/{chat_jid}/ai", "get"),
        ("/v1/accounts/{id}/chats/{chat_jid}/ai", "put"),
        ("/v1/accounts/{id}/chats/{chat_jid}/ai/effective", "get"),
        ("/v1/accounts/{id}/chats", "get"),
        ("/v1/accounts/{id}/chats/{chat_jid}/messages", "get"),
        ("/v1/accounts/{id}/chats/{chat_jid}/block", "put"),
        ("/v1/accounts/{id}/messages", "post"),
        ("/v1/ingest/{account_id}", "post"),
        ("/v1/ai/chat/test", "post"),
        ("/v1/ai/admin/test", "post"),
        ("/v1/ai/logs", "get"),
        ("/v1/webhooks", "post"),
        ("/v1/webhooks", "get"),
        ("/v1/webhooks/{id}", "get"),
        ("/v1/webhooks/{id}", "delete"),
        ("/v1/webhooks/{id}/enable", "post"),
        ("/v1/webhooks/{id}/test", "post"),
        ("/v1/webhooks/{id}/deliveries", "get"),
    ];
    for (path, method) in expected {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is missing from /openapi.json"
        );
    }
    let body = &doc["components"]["schemas"]["AiSettingsBody"]["properties"];
    assert!(body["temperature"].is_object() && body["max_replies_per_chat_per_hour"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}
