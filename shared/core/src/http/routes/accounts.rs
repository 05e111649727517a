//! `/v1/accounts`: sending identities, their provider configuration and tokens (admin only).

use crate::domain::account::Account;
use crate::domain::consent::{MAX_KEYWORD_CHARS, MAX_KEYWORDS};
use crate::domain::ids::AccountId;
use crate::domain::page::ListBody;
use crate::domain::patch::Change;
use crate::domain::provider::{
    ProviderConfigPatch, ProviderKind, config_schema, public_view, written_for_another,
};
use crate::domain::schema::written_schema;
use crate::domain::validation::{ValidationError, bounded_text, text_schema};
use crate::error::AppError;
use crate::http::ErrorBody;
use crate::http::extract::{AccountPath, Admin, JsonBody, ListQuery, QueryParams};
use crate::services::AppState;
use crate::usecases::accounts::{self, ConsentChange, NewAccount};
use crate::usecases::client_messages::MAX_TEXT_CHARS;
use crate::usecases::connect;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Its document schema is written per provider (`provider_config` depends on `provider`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateAccountBody {
    name: String,
    provider: ProviderKind,
    /// Provider fields; secrets among them are write-only.
    provider_config: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateAccountBody {
    name: Option<String>,
    /// Fields to change; `null` clears an optional field; fields left out keep their value.
    provider_config: Option<serde_json::Value>,
    opt_out_keywords: Option<Vec<String>>,
    opt_in_keywords: Option<Vec<String>>,
    #[serde(default)]
    opt_out_reply: Change<String>,
}

written_schema!(CreateAccountBody, create_account_schema);
written_schema!(UpdateAccountBody, update_account_schema);

/// The longest account name, in characters.
const MAX_NAME_CHARS: usize = 100;

fn name_schema() -> Value {
    let mut name = text_schema(MAX_NAME_CHARS);
    name["examples"] = json!(["Shop front desk"]);
    name
}

/// `POST /v1/accounts`: one shape per provider.
pub fn create_account_schema() -> Value {
    let variants: Vec<Value> = ProviderKind::ALL
        .iter()
        .map(|kind| {
            let mut config = config_schema(*kind, true);
            let mut required = vec![json!("name"), json!("provider")];
            if kind.fields().iter().any(|f| f.required) {
                required.push(json!("provider_config"));
            } else {
                config = json!({"anyOf": [config, {"type": "null"}]});
            }
            json!({
                "type": "object",
                "title": kind.as_str(),
                "required": required,
                "properties": {
                    "name": name_schema(),
                    "provider": {"type": "string", "const": kind.as_str()},
                    "provider_config": config,
                },
                "additionalProperties": false,
            })
        })
        .collect();
    json!({"oneOf": variants, "discriminator": {"propertyName": "provider"}})
}

/// `null` or left out: unchanged.
fn keywords_schema(description: &str) -> Value {
    json!({
        "type": ["array", "null"], "maxItems": MAX_KEYWORDS, "description": description,
        "items": text_schema(MAX_KEYWORD_CHARS),
    })
}

/// `PATCH /v1/accounts/{id}`: a new name, fields of the account's own provider, its consent
/// words.
pub fn update_account_schema() -> Value {
    let mut patches: Vec<Value> = ProviderKind::ALL
        .iter()
        .map(|kind| config_schema(*kind, false))
        .collect();
    patches.push(json!({"type": "null"}));
    json!({
        "type": "object",
        "properties": {
            "name": {"anyOf": [name_schema(), {"type": "null"}], "description": "`null` or left out: unchanged"},
            "provider_config": {
                "description": "Fields of the account's provider to change; `null` clears an optional field; fields left out keep their value. Fields of another provider are 409 `provider_mismatch`.",
                "anyOf": patches,
            },
            "opt_out_keywords": keywords_schema("A contact's whole message (trimmed, case-folded) that opts them out; default STOP, UNSUBSCRIBE."),
            "opt_in_keywords": keywords_schema("A contact's whole message that opts them back in; default START."),
            "opt_out_reply": {
                "anyOf": [text_schema(MAX_TEXT_CHARS), {"type": "null"}],
                "description": "Sent once, when a contact opts out by keyword; `null`: none.",
            },
        },
        "additionalProperties": false,
    })
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AccountView {
    id: AccountId,
    name: String,
    provider: ProviderKind,
    /// Plain fields, and `has_<secret>` for each secret field.
    #[schema(value_type = Object)]
    provider_config: serde_json::Value,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// When a relay phone last polled its outbox.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_seen_at: Option<DateTime<Utc>>,
    opt_out_keywords: Vec<String>,
    opt_in_keywords: Vec<String>,
    opt_out_reply: Option<String>,
}

impl From<&Account> for AccountView {
    fn from(a: &Account) -> Self {
        Self {
            id: a.id.clone(),
            name: a.name.clone(),
            provider: a.provider,
            provider_config: public_view(a.provider, &a.provider_config),
            created_at: a.created_at,
            updated_at: a.updated_at,
            last_seen_at: a.last_seen_at,
            opt_out_keywords: a.consent.opt_out_keywords.clone(),
            opt_in_keywords: a.consent.opt_in_keywords.clone(),
            opt_out_reply: a.consent.opt_out_reply.clone(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedAccountView {
    #[serde(flatten)]
    account: AccountView,
    /// The account token, shown only here.
    token: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenView {
    token: String,
}

super::area!(
    [create_account, list_accounts],
    [get_account, update_account, delete_account],
    [rotate_token],
    [connect_account]
);

/// The base URL a request came to, from its `Host` (and `X-Forwarded-Proto`, which a proxy or
/// API Gateway sets; https otherwise).
fn reached_at(headers: &HeaderMap) -> Option<String> {
    let value = |name: header::HeaderName| headers.get(name)?.to_str().ok().map(str::to_string);
    let host = value(header::HOST).filter(|h| !h.is_empty() && !h.contains(['/', ' ']))?;
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| matches!(*p, "http" | "https"))
        .unwrap_or("https");
    Some(format!("{proto}://{host}"))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ConnectionView {
    provider: ProviderKind,
    /// Where the provider delivers this account's messages (for WhatsApp: the callback URL to
    /// paste into Meta's app settings).
    webhook_url: Option<String>,
    connected: bool,
    detail: String,
    /// WhatsApp: the verify token to paste beside the callback URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    verify_token: Option<String>,
}

#[utoipa::path(
    post, path = "/v1/accounts/{id}/connect", tag = "accounts", security(("admin" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = ConnectionView, description = "the provider delivers to Switchboard (Telegram: its webhook is set), or the credentials work and this is what to register (WhatsApp)"),
        (status = 409, body = ErrorBody, description = "Telegram needs PUBLIC_API_URL, which is not set (code public_url_missing)"),
        (status = 422, body = ErrorBody, description = "the provider refused the credentials (code provider_refused, with its message)"),
        (status = 502, body = ErrorBody, description = "the provider could not be reached (code provider_unreachable)"),
    )
)]
async fn connect_account(
    State(s): State<AppState>,
    _admin: Admin,
    AccountPath(account): AccountPath,
    headers: HeaderMap,
) -> Result<Json<ConnectionView>, AppError> {
    let c = connect::connect(&s, account, reached_at(&headers)).await?;
    Ok(Json(ConnectionView {
        provider: c.provider,
        webhook_url: c.webhook_url,
        connected: c.connected,
        detail: c.detail,
        verify_token: c.verify_token,
    }))
}

/// Keywords as they are kept: trimmed, each 1 to 40 characters, at most 20.
fn check_keywords(field: &str, words: Vec<String>) -> Result<Vec<String>, ValidationError> {
    if words.len() > MAX_KEYWORDS {
        return Err(ValidationError::new(
            field,
            format!("at most {MAX_KEYWORDS} keywords"),
        ));
    }
    words
        .into_iter()
        .map(|w| {
            let w = w.trim().to_string();
            bounded_text(field, &w, 1, MAX_KEYWORD_CHARS).map(|()| w)
        })
        .collect()
}

fn check_name(name: &str) -> Result<(), ValidationError> {
    bounded_text("name", name.trim(), 1, MAX_NAME_CHARS)
}

#[utoipa::path(
    post, path = "/v1/accounts", tag = "accounts", request_body = CreateAccountBody,
    security(("admin" = [])),
    responses(
        (status = 201, body = CreatedAccountView),
    )
)]
async fn create_account(
    State(s): State<AppState>,
    _admin: Admin,
    JsonBody(body): JsonBody<CreateAccountBody>,
) -> Result<(StatusCode, Json<CreatedAccountView>), AppError> {
    check_name(&body.name)?;
    let provider_config =
        ProviderConfigPatch::parse(body.provider, body.provider_config.as_ref(), true)?;
    let created = accounts::create(
        &s,
        NewAccount {
            name: body.name.trim().to_string(),
            provider: body.provider,
            provider_config,
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedAccountView {
            account: AccountView::from(&created.account),
            token: created.token.expose_secret().to_string(),
        }),
    ))
}

#[utoipa::path(
    get, path = "/v1/accounts", tag = "accounts", params(ListQuery), security(("admin" = [])),
    responses((status = 200, body = ListBody<AccountView>))
)]
async fn list_accounts(
    State(s): State<AppState>,
    _admin: Admin,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<Json<ListBody<AccountView>>, AppError> {
    let page = accounts::list(&s, &q.page()?).await?;
    Ok(Json(page.map(|a| AccountView::from(&a)).into()))
}

#[utoipa::path(
    get, path = "/v1/accounts/{id}", tag = "accounts", security(("admin" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = AccountView))
)]
async fn get_account(
    _admin: Admin,
    AccountPath(account): AccountPath,
) -> Result<Json<AccountView>, AppError> {
    Ok(Json(AccountView::from(&account)))
}

#[utoipa::path(
    patch, path = "/v1/accounts/{id}", tag = "accounts", request_body = UpdateAccountBody,
    security(("admin" = [])), params(("id" = String, Path)),
    responses(
        (status = 200, body = AccountView),
        (status = 409, body = ErrorBody, description = "provider_config names another provider's fields (code provider_mismatch)"),
    )
)]
async fn update_account(
    State(s): State<AppState>,
    _admin: Admin,
    AccountPath(account): AccountPath,
    JsonBody(body): JsonBody<UpdateAccountBody>,
) -> Result<Json<AccountView>, AppError> {
    if let Some(name) = &body.name {
        check_name(name)?;
    }
    let other = body
        .provider_config
        .as_ref()
        .and_then(|c| written_for_another(account.provider, c));
    if let Some(other) = other {
        return Err(AppError::conflict(
            "provider_mismatch",
            format!(
                "these are {} fields; this account's provider is {}",
                other.as_str(),
                account.provider.as_str()
            ),
        ));
    }
    let name = body.name.map(|n| n.trim().to_string());
    let consent = ConsentChange {
        opt_out_keywords: body
            .opt_out_keywords
            .map(|k| check_keywords("opt_out_keywords", k))
            .transpose()?,
        opt_in_keywords: body
            .opt_in_keywords
            .map(|k| check_keywords("opt_in_keywords", k))
            .transpose()?,
        opt_out_reply: body
            .opt_out_reply
            .try_map(|r| bounded_text("opt_out_reply", &r, 1, MAX_TEXT_CHARS).map(|()| r))?,
    };
    let account = accounts::update(&s, account, name, body.provider_config, consent).await?;
    Ok(Json(AccountView::from(&account)))
}

#[utoipa::path(
    delete, path = "/v1/accounts/{id}", tag = "accounts", security(("admin" = [])),
    params(("id" = String, Path)),
    responses((status = 204, description = "deleted with its chats, messages and configuration"))
)]
async fn delete_account(
    State(s): State<AppState>,
    _admin: Admin,
    AccountPath(account): AccountPath,
) -> Result<StatusCode, AppError> {
    accounts::delete(&s, &account.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post, path = "/v1/accounts/{id}/token", tag = "accounts", security(("admin" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = TokenView, description = "the new token; the old one stops working"))
)]
async fn rotate_token(
    State(s): State<AppState>,
    _admin: Admin,
    AccountPath(account): AccountPath,
) -> Result<Json<TokenView>, AppError> {
    let token = accounts::rotate_token(&s, &account.id).await?;
    Ok(Json(TokenView {
        token: token.expose_secret().to_string(),
    }))
}
