//! `/v1/webhooks`: where events go (admin only).

use crate::domain::event::EventType;
use crate::domain::ids::{AccountId, WebhookId};
use crate::domain::page::ListBody;
use crate::domain::schema::{all_or, schema_of};
use crate::domain::validation::{HttpUrl, ValidationError};
use crate::domain::webhook::{DeliveryAttempt, EventFilter, Subscription};
use crate::error::AppError;
use crate::http::ErrorBody;
use crate::http::extract::{Admin, JsonBody, ListQuery, PathText, QueryParams};
use crate::services::AppState;
use crate::usecases::webhooks::{self, NewWebhook};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::openapi::{RefOr, schema::Schema};

/// Most event types one subscription may name (there are fewer; this bounds the input).
const MAX_EVENT_NAMES: usize = 32;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookBody {
    #[schema(schema_with = url_schema)]
    url: String,
    /// Event types, or `["*"]` for all.
    #[schema(schema_with = events_schema)]
    events: Vec<String>,
    /// Only this account's events; all accounts' when absent.
    #[schema(schema_with = AccountId::optional_request_schema)]
    account_id: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    id: WebhookId,
    url: String,
    events: Vec<String>,
    account_id: Option<AccountId>,
    disabled: bool,
    /// Why it was disabled (410 from the endpoint, or failing for too long).
    #[serde(skip_serializing_if = "Option::is_none")]
    disabled_reason: Option<String>,
    /// Since when every attempt failed, while it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    failing_since: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl From<&Subscription> for WebhookView {
    fn from(w: &Subscription) -> Self {
        Self {
            id: w.id.clone(),
            url: w.url.as_str().to_string(),
            events: w.events.names(),
            account_id: w.account_id.clone(),
            disabled: w.disabled,
            disabled_reason: w.disabled_reason.clone(),
            failing_since: w.failing_since,
            created_at: w.created_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedWebhookView {
    #[serde(flatten)]
    webhook: WebhookView,
    /// `whsec_...`: verifies the signatures; shown only here.
    secret: String,
}

super::area!(
    [create_webhook, list_webhooks],
    [get_webhook, delete_webhook],
    [enable_webhook],
    [test_webhook],
    [list_deliveries]
);

fn url_schema() -> RefOr<Schema> {
    let mut url = HttpUrl::schema();
    url["examples"] = json!(["https://example.com/hooks/switchboard"]);
    schema_of(url)
}

/// What `parse_events` takes: `["*"]`, or event types a subscription can ask for.
fn events_schema() -> RefOr<Schema> {
    schema_of(all_or(
        json!({"type": "string", "enum": subscribable()}),
        MAX_EVENT_NAMES,
    ))
}

/// Every event type but the test event (which goes to the one webhook tested).
fn subscribable() -> Vec<&'static str> {
    EventType::ALL
        .iter()
        .filter(|t| **t != EventType::WebhookTest)
        .map(|t| t.as_str())
        .collect()
}

fn parse_events(names: &[String]) -> Result<EventFilter, ValidationError> {
    if names.is_empty() || names.len() > MAX_EVENT_NAMES {
        return Err(ValidationError::new(
            "events",
            format!("name between 1 and {MAX_EVENT_NAMES} event types, or [\"*\"]"),
        ));
    }
    if names.iter().any(|n| n == "*") {
        return if names.len() == 1 {
            Ok(EventFilter::All)
        } else {
            Err(ValidationError::new("events", "\"*\" stands alone"))
        };
    }
    let mut types = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let t = EventType::parse(name).filter(|t| *t != EventType::WebhookTest);
        let Some(t) = t else {
            let known = subscribable();
            return Err(ValidationError::new(
                format!("events[{i}]"),
                format!("unknown event type; one of {}", known.join(", ")),
            ));
        };
        if !types.contains(&t) {
            types.push(t);
        }
    }
    Ok(EventFilter::Only(types))
}

fn webhook_id(raw: &str) -> Result<WebhookId, AppError> {
    WebhookId::parse(raw).ok_or(AppError::NotFound("webhook"))
}

#[utoipa::path(
    post, path = "/v1/webhooks", tag = "webhooks", request_body = CreateWebhookBody,
    security(("admin" = [])),
    responses(
        (status = 201, body = CreatedWebhookView),
        (status = 404, body = ErrorBody, description = "no such account"),
    )
)]
async fn create_webhook(
    State(s): State<AppState>,
    _admin: Admin,
    JsonBody(body): JsonBody<CreateWebhookBody>,
) -> Result<(StatusCode, Json<CreatedWebhookView>), AppError> {
    let url = HttpUrl::parse("url", &body.url)?;
    let events = parse_events(&body.events)?;
    let account_id = body
        .account_id
        .map(|raw| {
            AccountId::parse(&raw)
                .ok_or_else(|| ValidationError::new("account_id", "not an account id"))
        })
        .transpose()?;
    let created = webhooks::create(
        &s,
        NewWebhook {
            url,
            events,
            account_id,
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhookView {
            webhook: WebhookView::from(&created.webhook),
            secret: created.secret.expose_secret().to_string(),
        }),
    ))
}

#[utoipa::path(
    get, path = "/v1/webhooks", tag = "webhooks", params(ListQuery), security(("admin" = [])),
    responses((status = 200, body = ListBody<WebhookView>))
)]
async fn list_webhooks(
    State(s): State<AppState>,
    _admin: Admin,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<Json<ListBody<WebhookView>>, AppError> {
    let page = webhooks::list(&s, &q.page()?).await?;
    Ok(Json(page.map(|w| WebhookView::from(&w)).into()))
}

#[utoipa::path(
    get, path = "/v1/webhooks/{id}", tag = "webhooks", security(("admin" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = WebhookView))
)]
async fn get_webhook(
    State(s): State<AppState>,
    _admin: Admin,
    PathText(id): PathText<String>,
) -> Result<Json<WebhookView>, AppError> {
    let webhook = webhooks::get(&s, &webhook_id(&id)?).await?;
    Ok(Json(WebhookView::from(&webhook)))
}

#[utoipa::path(
    delete, path = "/v1/webhooks/{id}", tag = "webhooks", security(("admin" = [])),
    params(("id" = String, Path)),
    responses((status = 204, description = "deleted with its delivery records"))
)]
async fn delete_webhook(
    State(s): State<AppState>,
    _admin: Admin,
    PathText(id): PathText<String>,
) -> Result<StatusCode, AppError> {
    webhooks::delete(&s, &webhook_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post, path = "/v1/webhooks/{id}/enable", tag = "webhooks", security(("admin" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = WebhookView, description = "enabled again, its failing streak cleared"))
)]
async fn enable_webhook(
    State(s): State<AppState>,
    _admin: Admin,
    PathText(id): PathText<String>,
) -> Result<Json<WebhookView>, AppError> {
    let webhook = webhooks::enable(&s, &webhook_id(&id)?).await?;
    Ok(Json(WebhookView::from(&webhook)))
}

#[utoipa::path(
    post, path = "/v1/webhooks/{id}/test", tag = "webhooks", security(("admin" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = DeliveryAttempt, description = "one signed `webhook.test` event, sent now; how it went"))
)]
async fn test_webhook(
    State(s): State<AppState>,
    _admin: Admin,
    PathText(id): PathText<String>,
) -> Result<Json<DeliveryAttempt>, AppError> {
    Ok(Json(webhooks::test(&s, &webhook_id(&id)?).await?))
}

#[utoipa::path(
    get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks", security(("admin" = [])),
    params(("id" = String, Path), ListQuery),
    responses((status = 200, body = ListBody<DeliveryAttempt>, description = "every attempt, newest first"))
)]
async fn list_deliveries(
    State(s): State<AppState>,
    _admin: Admin,
    PathText(id): PathText<String>,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<Json<ListBody<DeliveryAttempt>>, AppError> {
    let page = webhooks::attempts(&s, &webhook_id(&id)?, &q.page()?).await?;
    Ok(Json(page.into()))
}
