//! `/v1/api-keys` (admin): client API keys with their policy. The key is shown once.

use crate::domain::api_key::{ApiKey, Policy, Scope};
use crate::domain::channel::{self, Channel};
use crate::domain::ids::{AccountId, ApiKeyId};
use crate::domain::page::ListBody;
use crate::domain::schema::{all_or, schema_of};
use crate::domain::validation::{ValidationError, Whole, bounded_text, text_schema};
use crate::error::AppError;
use crate::http::ErrorBody;
use crate::http::extract::{Admin, JsonBody, ListQuery, PathText, QueryParams};
use crate::services::AppState;
use crate::usecases::api_keys;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::openapi::{RefOr, schema::Schema};

const MAX_RATE_PER_MINUTE: i64 = 100_000;
const MAX_LIST: usize = 1000;
const MAX_NAME_CHARS: usize = 200;
/// The channels whose recipients an allowlist may name (`allowlisted`).
const ALLOWLISTED: [Channel; 5] = [
    Channel::Sms,
    Channel::Tg,
    Channel::Email,
    Channel::TgBot,
    Channel::Pchat,
];

fn name_schema() -> RefOr<Schema> {
    schema_of(text_schema(MAX_NAME_CHARS))
}

fn phones_schema() -> RefOr<Schema> {
    schema_of(all_or(
        json!({"type": "string", "pattern": AccountId::PATTERN}),
        MAX_LIST,
    ))
}

fn channels_schema() -> RefOr<Schema> {
    let names: Vec<&str> = Channel::ALL.iter().map(|c| c.as_str()).collect();
    schema_of(all_or(json!({"type": "string", "enum": names}), MAX_LIST))
}

/// What `allowlisted` takes: a recipient as one of the channels writes it.
fn allowlist_schema() -> RefOr<Schema> {
    let recipients: Vec<Value> = ALLOWLISTED
        .iter()
        .filter_map(|c| channel::to_pattern(*c))
        .map(|p| json!({"type": "string", "pattern": p}))
        .collect();
    schema_of(json!({"anyOf": [
        {"type": "array", "maxItems": MAX_LIST, "items": {"anyOf": recipients}},
        {"type": "null"},
    ]}))
}

fn rate_schema() -> RefOr<Schema> {
    schema_of(
        json!({"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_RATE_PER_MINUTE}),
    )
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKeyBody {
    #[schema(schema_with = name_schema)]
    name: String,
    /// Phone (account) ids, or `["*"]` for every phone.
    #[schema(schema_with = phones_schema)]
    phone_ids: Vec<String>,
    /// Channels, or `["*"]` for every channel.
    #[schema(schema_with = channels_schema)]
    channels: Vec<String>,
    /// Who the key may write to, as each channel writes recipients (`+15551234567`,
    /// `ann@example.com`, `@name`); `null`: anyone. Never applies to `notify`.
    #[schema(schema_with = allowlist_schema)]
    recipient_allowlist: Option<Vec<String>>,
    #[schema(schema_with = rate_schema)]
    rate_limit_per_minute: Whole,
    require_confirmation: bool,
}

/// A key as listed: its policy, never its secret.
#[derive(Serialize, utoipa::ToSchema)]
pub struct KeyView {
    id: ApiKeyId,
    name: String,
    phone_ids: Vec<String>,
    channels: Vec<String>,
    recipient_allowlist: Option<Vec<String>>,
    rate_limit_per_minute: u32,
    require_confirmation: bool,
    created_at: DateTime<Utc>,
}

impl From<&ApiKey> for KeyView {
    fn from(k: &ApiKey) -> Self {
        let p = &k.policy;
        Self {
            id: k.id.clone(),
            name: k.name.clone(),
            phone_ids: match &p.phones {
                Scope::All => vec!["*".into()],
                Scope::Only(ids) => ids.iter().map(|i| i.to_string()).collect(),
            },
            channels: match &p.channels {
                Scope::All => vec!["*".into()],
                Scope::Only(cs) => cs.iter().map(|c| c.as_str().to_string()).collect(),
            },
            recipient_allowlist: p.recipient_allowlist.clone(),
            rate_limit_per_minute: p.rate_limit_per_minute,
            require_confirmation: p.require_confirmation,
            created_at: k.created_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedKey {
    #[serde(flatten)]
    key: KeyView,
    /// `sbk_...`: shown only here; store it now.
    #[serde(rename = "key")]
    secret: String,
}

super::area!([create_key, list_keys], [delete_key]);

/// `["*"]` or a list of distinct items, each read by `parse`.
fn scope<T: PartialEq>(
    field: &str,
    raw: &[String],
    parse: impl Fn(&str) -> Option<T>,
    what: &str,
) -> Result<Scope<T>, AppError> {
    if raw.len() == 1 && raw[0] == "*" {
        return Ok(Scope::All);
    }
    if raw.is_empty() || raw.len() > MAX_LIST {
        return Err(ValidationError::new(
            field,
            format!("must be [\"*\"] or 1 to {MAX_LIST} {what}"),
        )
        .into());
    }
    let mut items = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        let item = parse(r).ok_or_else(|| {
            ValidationError::new(format!("{field}[{i}]"), format!("`{r}` is not {what}"))
        })?;
        if !items.contains(&item) {
            items.push(item);
        }
    }
    Ok(Scope::Only(items))
}

/// An allowlist entry is normalized as a recipient of some channel would be.
fn allowlisted(i: usize, raw: &str) -> Result<String, AppError> {
    let as_channel = |c: Channel| channel::recipient(c, Some(raw)).ok().map(|r| r.to);
    ALLOWLISTED.into_iter().find_map(as_channel).ok_or_else(|| {
        ValidationError::new(
            format!("recipient_allowlist[{i}]"),
            format!("`{raw}` is not a recipient of any channel"),
        )
        .into()
    })
}

#[utoipa::path(
    post, path = "/v1/api-keys", tag = "client", request_body = NewKeyBody, security(("admin" = [])),
    responses(
        (status = 201, body = CreatedKey, description = "the key, shown only here"),
        (status = 404, body = ErrorBody, description = "a phone that does not exist"),
    )
)]
async fn create_key(
    State(s): State<AppState>,
    admin: Admin,
    JsonBody(body): JsonBody<NewKeyBody>,
) -> Result<(StatusCode, Json<CreatedKey>), AppError> {
    bounded_text("name", &body.name, 1, MAX_NAME_CHARS)?;
    let phones = scope("phone_ids", &body.phone_ids, AccountId::parse, "a phone id")?;
    let channels = scope("channels", &body.channels, Channel::parse, "a channel")?;
    let recipient_allowlist = body
        .recipient_allowlist
        .map(|list| {
            if list.len() > MAX_LIST {
                return Err(ValidationError::new(
                    "recipient_allowlist",
                    format!("must have at most {MAX_LIST} entries"),
                )
                .into());
            }
            list.iter()
                .enumerate()
                .map(|(i, r)| allowlisted(i, r))
                .collect::<Result<Vec<_>, AppError>>()
        })
        .transpose()?;
    if !(1..=MAX_RATE_PER_MINUTE).contains(&body.rate_limit_per_minute.0) {
        return Err(ValidationError::new(
            "rate_limit_per_minute",
            format!("must be an integer from 1 to {MAX_RATE_PER_MINUTE}"),
        )
        .into());
    }
    let policy = Policy {
        phones,
        channels,
        recipient_allowlist,
        rate_limit_per_minute: body.rate_limit_per_minute.0 as u32,
        require_confirmation: body.require_confirmation,
    };
    let (key, secret) = api_keys::create(&s, &admin.subject, body.name, policy).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKey {
            key: KeyView::from(&key),
            secret: secret.expose_secret().to_string(),
        }),
    ))
}

#[utoipa::path(
    get, path = "/v1/api-keys", tag = "client", params(ListQuery), security(("admin" = [])),
    responses((status = 200, body = ListBody<KeyView>))
)]
async fn list_keys(
    State(s): State<AppState>,
    _admin: Admin,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<Json<ListBody<KeyView>>, AppError> {
    let page = api_keys::list(&s, &q.page()?).await?;
    Ok(Json(ListBody {
        items: page.items.iter().map(KeyView::from).collect(),
        next_cursor: page.next.as_deref().map(crate::domain::page::encode_cursor),
    }))
}

#[utoipa::path(
    delete, path = "/v1/api-keys/{id}", tag = "client", security(("admin" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "deleted: refused from now on, everywhere"),
    )
)]
async fn delete_key(
    State(s): State<AppState>,
    admin: Admin,
    PathText(id): PathText<String>,
) -> Result<StatusCode, AppError> {
    let id = ApiKeyId::parse(&id).ok_or(AppError::NotFound("api key"))?;
    api_keys::delete(&s, &admin.subject, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
