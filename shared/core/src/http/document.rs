//! The OpenAPI document, completed with what holds for every route: the credentials and the
//! error answers follow from an operation's shape (secured, with a body, with parameters), so
//! they are written once here rather than on each handler, and a new route is documented
//! truthfully without an edit; the server's one rule on free text; and the links from the
//! operations that create things to those that read them, which clients and stateful fuzzers
//! follow. What a field takes is said by its type, beside the check (`written_schema!`,
//! `schema_with`), never here.

use crate::domain::ai_log::AiLog;
use crate::domain::event::ConsentChanged;
use crate::domain::event::{EventType, Payload, WebhookDisabled, WebhookTest};
use crate::domain::media::MediaProcessed;
use crate::domain::message::{MessageView, StatusEvent};
use crate::domain::schema::put_in_place;
use crate::domain::validation::{NO_NUL_PATTERN, VISIBLE_TEXT_PATTERN};
use serde_json::{Map, Value, json};

/// The credentials, as security schemes: an operation lists those it accepts.
const SCHEMES: &[(&str, &str)] = &[
    (
        ADMIN,
        "An admin JWT (`POST /v1/auth/login`, or minted by the CLI)",
    ),
    (
        ACCOUNT,
        "An account token: shown once when the account is created or its token rotated",
    ),
    (
        API_KEY,
        "A client API key (`POST /v1/api-keys`): shown once, carries its policy",
    ),
];
const ADMIN: &str = "admin";
const ACCOUNT: &str = "account";
const API_KEY: &str = "api_key";

/// The shared error answers, by status: (component name, status, description).
const ERRORS: &[(&str, &str, &str)] = &[
    (
        "BadRequest",
        "400",
        "Malformed JSON, a body that is not a JSON object, a value of the wrong type, or a bad query string (`error.field` names the field)",
    ),
    (
        "Unauthorized",
        "401",
        "No credential, or one that is not valid for this operation",
    ),
    (
        "Forbidden",
        "403",
        "The credential is valid but lacks the role this operation needs",
    ),
    (
        "NotFound",
        "404",
        "No such resource (another tenant's reads as missing)",
    ),
    (
        "Conflict",
        "409",
        "The resource is not in a state that allows this",
    ),
    (
        "PayloadTooLarge",
        "413",
        "The body is larger than the limit",
    ),
    (
        "UnsupportedMediaType",
        "415",
        "The body is not `application/json`",
    ),
    (
        "Unprocessable",
        "422",
        "Well-formed, but a value is out of range, unknown, missing or not allowed (`error.field` names it)",
    ),
    (
        "TooManyRequests",
        "429",
        "Rate limited: `Retry-After` says in how many seconds to try again",
    ),
];

/// Links from a created resource to the operations that read or change it: the target
/// operations take their parameters from the same places, and each link is named after its
/// target (`get_account` → `GetAccount`).
struct Links {
    from: &'static str,
    status: &'static str,
    /// The targets' parameters, and where each one's value is.
    parameters: &'static [(&'static str, &'static str)],
    targets: &'static [&'static str],
}

const CREATED_ID: &[(&str, &str)] = &[("id", "$response.body#/id")];

const LINKS: &[Links] = &[
    Links {
        from: "create_account",
        status: "201",
        parameters: CREATED_ID,
        targets: &[
            "get_account",
            "update_account",
            "get_account_ai",
            "list_chats",
            "rotate_token",
            "delete_account",
        ],
    },
    Links {
        from: "ingest_message",
        status: "202",
        parameters: &[
            ("id", "$request.path.account_id"),
            ("chat_jid", "$request.body#/chat_id"),
        ],
        targets: &["list_chat_messages", "get_chat_ai", "get_effective"],
    },
    Links {
        from: "create_webhook",
        status: "201",
        parameters: CREATED_ID,
        targets: &[
            "get_webhook",
            "list_deliveries",
            "enable_webhook",
            "delete_webhook",
        ],
    },
    Links {
        from: "create_key",
        status: "201",
        parameters: CREATED_ID,
        targets: &["delete_key"],
    },
    Links {
        from: "send_message",
        status: "202",
        parameters: CREATED_ID,
        targets: &["get_message", "confirm_message", "cancel_message"],
    },
];

/// `get_account` → `GetAccount`.
fn link_name(operation: &str) -> String {
    operation
        .split('_')
        .flat_map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase())
                .into_iter()
                .chain(chars)
        })
        .collect()
}

const METHODS: &[&str] = &["get", "put", "post", "patch", "delete"];

/// Adds the credentials, the shared error answers and the links to a generated document.
/// The events sent to subscriptions, as OpenAPI 3.1 `webhooks`: the envelope of every event,
/// with the one shape of `data` its name has (`EventType::payload`).
fn webhooks() -> Value {
    use utoipa::ToSchema;
    let mut out = Map::new();
    for t in EventType::ALL {
        let data = match t.payload() {
            Payload::Message => MessageView::name(),
            Payload::Status => StatusEvent::name(),
            Payload::AiLog => AiLog::name(),
            Payload::MediaProcessed => MediaProcessed::name(),
            Payload::Consent => ConsentChanged::name(),
            Payload::WebhookDisabled => WebhookDisabled::name(),
            Payload::WebhookTest => WebhookTest::name(),
        };
        let envelope = json!({
            "type": "object",
            "required": ["id", "type", "created_at", "account_id", "data"],
            "properties": {
                "id": {"type": "string", "description": "`evt_...`, the same on every retry"},
                "type": {"type": "string", "const": t.as_str()},
                "created_at": {"type": "string", "format": "date-time"},
                "account_id": {"type": ["string", "null"]},
                "data": {"$ref": format!("#/components/schemas/{data}")},
            },
        });
        out.insert(
            t.as_str().to_string(),
            json!({"post": {
                "summary": format!("`{}`", t.as_str()),
                "description": "Signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`); retried on non-2xx with growing delays.",
                "requestBody": {"required": true, "content": {"application/json": {"schema": envelope}}},
                "responses": {"2XX": {"description": "Received; any other answer is retried"}},
            }}),
        );
    }
    Value::Object(out)
}

pub fn complete(doc: &mut Value) {
    if let Some(document) = doc.as_object_mut() {
        document.insert("webhooks".into(), webhooks());
    }
    let components = doc
        .as_object_mut()
        .map(|d| d.entry("components").or_insert_with(|| json!({})));
    let Some(components) = components.and_then(Value::as_object_mut) else {
        return;
    };
    let schemes: Map<String, Value> = SCHEMES
        .iter()
        .map(|(name, what)| {
            let scheme = json!({"type": "http", "scheme": "bearer", "description": what});
            (name.to_string(), scheme)
        })
        .collect();
    components.insert("securitySchemes".into(), Value::Object(schemes));
    let responses: Map<String, Value> = ERRORS
        .iter()
        .map(|(name, status, what)| (name.to_string(), shared_error(status, what)))
        .collect();
    components.insert("responses".into(), Value::Object(responses));

    put_in_place(doc);
    string_rules(doc);

    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut() {
        for method in METHODS {
            if let Some(op) = item.get_mut(*method).and_then(Value::as_object_mut) {
                complete_operation(op);
            }
        }
    }
    for links in LINKS {
        let parameters: Map<String, Value> = links
            .parameters
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let Some(response) = operation_mut(paths, links.from)
            .and_then(|op| op.get_mut("responses"))
            .and_then(|r| r.get_mut(links.status))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        let out = response.entry("links").or_insert_with(|| json!({}));
        for target in links.targets {
            out[link_name(target)] = json!({"operationId": target, "parameters": parameters});
        }
    }
}

/// The server's rule on free text, stated once for every field it covers: a bounded text
/// (`maxLength`) holds no NUL and, when required (`minLength` ≥ 1), is not blank
/// (`bounded_text`).
fn string_rules(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let text = map.get("type").is_some_and(|t| {
                t == "string" || t.as_array().is_some_and(|a| a.contains(&json!("string")))
            });
            let required = map.get("minLength").and_then(Value::as_u64).unwrap_or(0) >= 1;
            let bounded = map.contains_key("maxLength");
            let open = !["pattern", "format", "enum", "const"]
                .iter()
                .any(|k| map.contains_key(*k));
            if text && required && open {
                map.insert("pattern".into(), json!(VISIBLE_TEXT_PATTERN));
            } else if text && bounded && open {
                map.insert("pattern".into(), json!(NO_NUL_PATTERN));
            }
            map.values_mut().for_each(string_rules);
        }
        Value::Array(items) => items.iter_mut().for_each(string_rules),
        _ => {}
    }
}

fn shared_error(status: &str, description: &str) -> Value {
    let mut response = json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    });
    if status == "429" {
        response["headers"] = json!({"Retry-After": {
            "description": "Seconds to wait before trying again",
            "required": true,
            "schema": {"type": "integer", "minimum": 1},
        }});
    }
    response
}

fn operation_mut<'a>(paths: &'a mut Map<String, Value>, id: &str) -> Option<&'a mut Value> {
    paths.values_mut().find_map(|item| {
        let item = item.as_object_mut()?;
        item.iter_mut()
            .find(|(method, op)| {
                METHODS.contains(&method.as_str()) && op["operationId"].as_str() == Some(id)
            })
            .map(|(_, op)| op)
    })
}

fn complete_operation(op: &mut Map<String, Value>) {
    let accepted: Vec<String> = op
        .get("security")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|requirement| requirement.keys().cloned())
        .collect();
    let mut statuses: Vec<&str> = Vec::new();
    if !accepted.is_empty() {
        statuses.push("401");
    }
    // One credential alone: the others are valid credentials without the role.
    let only = match accepted.as_slice() {
        [one] if one == ADMIN => Some("Admin only."),
        [one] if one == ACCOUNT => Some("Account token only (an admin token is 403)."),
        _ => None,
    };
    if let Some(only) = only {
        statuses.push("403");
        let description = match op.get("description").and_then(Value::as_str) {
            Some(d) if !d.is_empty() => format!("{only}\n\n{d}"),
            _ => only.to_string(),
        };
        op.insert("description".into(), json!(description));
    }
    if op.contains_key("requestBody") {
        statuses.extend(["400", "413", "415", "422"]);
    }
    let parameters = op.get("parameters").and_then(Value::as_array);
    let located = |place: &str| {
        parameters
            .into_iter()
            .flatten()
            .filter(move |p| p["in"] == place)
            .map(|p| p["name"].as_str().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
    };
    let (query, path) = (located("query"), located("path"));
    if !query.is_empty() {
        // A bad value, a repeated key, a bad cursor.
        statuses.extend(["400", "422"]);
    }
    if !path.is_empty() {
        statuses.push("404");
    }
    if path.iter().any(|p| p == "chat_jid") {
        statuses.push("422");
    }
    let responses = op.entry("responses").or_insert_with(|| json!({}));
    let Some(responses) = responses.as_object_mut() else {
        return;
    };
    // What the handler declared without words of its own is the shared answer too.
    for (name, status, _) in ERRORS {
        let shared = json!({"$ref": format!("#/components/responses/{name}")});
        let declared = responses.get(*status);
        let plain = declared.is_some_and(|r| r["description"].as_str().is_none_or(str::is_empty));
        if plain || (declared.is_none() && statuses.contains(status)) {
            responses.insert(status.to_string(), shared);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document() -> Value {
        json!({
            "paths": {
                "/v1/things": {"post": {
                    "operationId": "create_thing",
                    "security": [{"admin": []}],
                    "requestBody": {"content": {}},
                    "responses": {
                        "201": {"description": "made"},
                        "409": {"description": "", "content": {}},
                        "422": {"description": "the provider refused", "content": {}},
                    },
                }},
                "/v1/things/{id}": {"get": {
                    "operationId": "get_thing",
                    "security": [{"admin": []}, {"account": []}],
                    "parameters": [{"name": "id", "in": "path"}, {"name": "limit", "in": "query"}],
                    "responses": {"200": {"description": "it"}},
                }},
                "/healthz": {"get": {"operationId": "healthz", "responses": {"200": {"description": "up"}}}},
            }
        })
    }

    #[test]
    fn links_are_named_after_their_targets() {
        assert_eq!(link_name("list_chat_messages"), "ListChatMessages");
        let mut doc = document();
        complete(&mut doc);
        assert!(
            doc["paths"]["/v1/things"]["post"]["responses"]["201"]
                .get("links")
                .is_none(),
            "no link from an operation no table names"
        );
    }

    fn codes(doc: &Value, path: &str, method: &str) -> Vec<String> {
        let responses = doc["paths"][path][method]["responses"]
            .as_object()
            .expect("an object");
        let mut codes: Vec<String> = responses.keys().cloned().collect();
        codes.sort();
        codes
    }

    #[test]
    fn errors_follow_from_the_operation_shape_and_are_shared() {
        let mut doc = document();
        complete(&mut doc);
        let post = &doc["paths"]["/v1/things"]["post"];
        assert_eq!(
            codes(&doc, "/v1/things", "post"),
            ["201", "400", "401", "403", "409", "413", "415", "422"]
        );
        assert_eq!(
            post["responses"]["401"]["$ref"],
            "#/components/responses/Unauthorized"
        );
        assert_eq!(
            post["responses"]["409"]["$ref"],
            "#/components/responses/Conflict"
        );
        // Words of the handler's own are kept.
        assert_eq!(
            post["responses"]["422"]["description"],
            "the provider refused"
        );
        assert!(
            post["description"]
                .as_str()
                .expect("present")
                .starts_with("Admin only.")
        );
        assert_eq!(
            codes(&doc, "/v1/things/{id}", "get"),
            ["200", "400", "401", "404", "422"]
        );
        assert!(doc["paths"]["/v1/things/{id}"]["get"]["description"].is_null());
        assert_eq!(codes(&doc, "/healthz", "get"), ["200"]);
        let shared = &doc["components"]["responses"];
        assert_eq!(shared.as_object().expect("an object").len(), ERRORS.len());
        assert!(shared["TooManyRequests"]["headers"]["Retry-After"].is_object());
        assert_eq!(
            doc["components"]["securitySchemes"]
                .as_object()
                .expect("present")
                .len(),
            3
        );
    }
}
