//! `POST /mcp` through a real MCP client (rmcp's streamable HTTP client): the tools it lists
//! (and the confirm tool it does not), a send that goes out, a refusal as a tool error, and the
//! key and host checks before any tool runs.

use crate::client_api::{key, wait_status};
use reqwest::StatusCode;
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use switchboard_tests::{TestApp, spawn_app, str_at};

const CUSTOMER: &str = "+15551234567";

pub(crate) async fn connect(app: &TestApp, key: &str) -> RunningService<RoleClient, ()> {
    let config = StreamableHttpClientTransportConfig::with_uri(format!("{}/mcp", app.base))
        .auth_header(key.to_string());
    ().serve(StreamableHttpClientTransport::from_config(config))
        .await
        .expect("the MCP handshake")
}

pub(crate) async fn call(
    client: &RunningService<RoleClient, ()>,
    tool: &str,
    args: Value,
) -> CallToolResult {
    let args = args.as_object().cloned().expect("an object");
    client
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(args))
        .await
        .expect("the tool call")
}

pub(crate) fn error_text(result: &CallToolResult) -> String {
    assert_eq!(result.is_error, Some(true), "{result:?}");
    serde_json::to_string(&result.content).expect("content")
}

#[tokio::test]
async fn an_assistant_lists_the_tools_and_sends_through_its_key() {
    let app = spawn_app().await;
    let (_, secret) = key(
        &app,
        json!({"phone_ids": [app.sandbox_id], "recipient_allowlist": [CUSTOMER]}),
    )
    .await;
    let client = connect(&app, &secret).await;

    let mut tools: Vec<String> = client
        .list_all_tools()
        .await
        .expect("tools/list")
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    tools.sort();
    assert_eq!(
        tools,
        [
            "cancel_message",
            "draft_message",
            "get_message",
            "list_phones",
            "list_templates",
            "send_message"
        ],
        "and no confirm tool: a person confirms"
    );

    let phones = call(&client, "list_phones", json!({})).await;
    let phones = phones.structured_content.expect("structured");
    assert_eq!(
        phones["phones"][0]["phone_id"],
        app.sandbox_id.as_str(),
        "{phones}"
    );
    assert_eq!(
        phones["phones"].as_array().map(Vec::len),
        Some(1),
        "only its phones"
    );

    let args = json!({"phone_id": app.sandbox_id, "channel": "sms", "to": CUSTOMER,
        "text": "Your order shipped", "idempotency_key": "order-1"});
    let sent = call(&client, "send_message", args.clone()).await;
    assert_ne!(sent.is_error, Some(true), "{sent:?}");
    let sent = sent.structured_content.expect("structured");
    let id = str_at(&sent, "id");
    assert_eq!(sent["replayed"], false, "{sent}");
    let delivered = wait_status(&app, &secret, &id, "sent").await;
    assert_eq!(delivered["to"], CUSTOMER, "{delivered}");

    let again = call(&client, "send_message", args).await;
    let again = again.structured_content.expect("structured");
    assert_eq!(
        (str_at(&again, "id"), &again["replayed"]),
        (id.clone(), &json!(true))
    );

    let got = call(&client, "get_message", json!({"id": id})).await;
    assert_eq!(
        got.structured_content.expect("structured")["status"],
        "sent"
    );

    let refused = call(
        &client,
        "send_message",
        json!({"phone_id": app.sandbox_id, "channel": "sms", "to": "+15559999999", "text": "hi"}),
    )
    .await;
    assert!(
        error_text(&refused).contains("recipient_not_allowed"),
        "{refused:?}"
    );
    let (_, audit) = app.get("/api/v1/audit?outcome=refused", &app.admin).await;
    assert!(
        audit.to_string().contains("recipient_not_allowed"),
        "audited like a REST refusal: {audit}"
    );
    client.cancel().await.expect("closing");
}

#[tokio::test]
async fn mcp_needs_a_client_key_and_a_known_host() {
    let app = spawn_app().await;
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "curl", "version": "1"}}});
    let post = |token: Option<&str>, host: Option<&str>| {
        let mut request = app
            .client
            .post(format!("{}/mcp", app.base))
            .header("accept", "application/json, text/event-stream")
            .json(&initialize);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(host) = host {
            request = request.header("host", host);
        }
        request.send()
    };
    let anonymous = post(None, None).await.expect("request");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let admin = post(Some(&app.admin), None).await.expect("request");
    assert_eq!(
        admin.status(),
        StatusCode::UNAUTHORIZED,
        "an admin token is no client key"
    );

    let (_, secret) = key(&app, json!({})).await;
    let ok = post(Some(&secret), None).await.expect("request");
    assert_eq!(ok.status(), StatusCode::OK);
    let answer: Value = ok.json().await.expect("a JSON answer, not a stream");
    assert_eq!(
        answer["result"]["serverInfo"]["name"], "switchboard",
        "{answer}"
    );
    let rebound = post(Some(&secret), Some("attacker.example"))
        .await
        .expect("request");
    assert!(rebound.status().is_client_error(), "{}", rebound.status());
}

/// `/mcp` keeps the API's contract, which the MCP library does not know: refusals in the
/// error body, the 1 MiB body limit, and deeply nested JSON as malformed (400).
#[tokio::test]
async fn mcp_answers_within_the_contract() {
    let app = spawn_app().await;
    let (_, secret) = key(&app, json!({})).await;
    let post = |body: Vec<u8>, host: Option<&str>| {
        let mut request = app
            .client
            .post(format!("{}/mcp", app.base))
            .bearer_auth(&secret)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(body);
        if let Some(host) = host {
            request = request.header("host", host);
        }
        request.send()
    };
    let in_error_body = |status: StatusCode, body: &Value, what: &str| {
        assert!(status.is_client_error(), "{what}: {status}");
        assert!(
            body["error"]["code"].is_string() && body["error"]["message"].is_string(),
            "{what}: {body}"
        );
    };
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string();

    let foreign = post(ping.clone().into_bytes(), Some("attacker.example"))
        .await
        .expect("request");
    let status = foreign.status();
    in_error_body(
        status,
        &foreign.json().await.unwrap_or_default(),
        "a foreign host",
    );

    let large = format!(
        r#"{{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {{"pad": "{}"}}}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    let too_large = post(large.into_bytes(), None).await.expect("request");
    let status = too_large.status();
    assert_eq!(
        status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "above 1 MiB as everywhere"
    );
    in_error_body(
        status,
        &too_large.json().await.unwrap_or_default(),
        "too large",
    );

    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let nested = format!(r#"{{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {deep}}}"#);
    let malformed = post(nested.into_bytes(), None).await.expect("request");
    let status = malformed.status();
    assert_eq!(status, StatusCode::BAD_REQUEST);
    in_error_body(
        status,
        &malformed.json().await.unwrap_or_default(),
        "nested",
    );

    let get = app
        .client
        .get(format!("{}/mcp", app.base))
        .bearer_auth(&secret)
        .header("accept", "text/event-stream")
        .send()
        .await
        .expect("request");
    let status = get.status();
    in_error_body(status, &get.json().await.unwrap_or_default(), "a GET");
}
