//! `GET /v1/ai/logs`: what the reply pipeline decided for each inbound message, newest first.

use crate::auth::Caller;
use crate::domain::ai_log::{AiLog, AiLogStatus};
use crate::domain::chat::ChatJid;
use crate::domain::ids::AccountId;
use crate::domain::page::ListBody;
use crate::domain::page::{cursor_schema, limit_schema};
use crate::domain::validation::ValidationError;
use crate::error::AppError;
use crate::http::ErrorBody;
use crate::http::extract::{ListQuery, QueryParams};
use crate::ports::AiLogFilter;
use crate::services::AppState;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogsQuery {
    /// Required for nobody; an account token sees only its own account's rows.
    #[param(schema_with = AccountId::request_schema)]
    account_id: Option<String>,
    #[param(value_type = Option<ChatJid>)]
    chat_id: Option<String>,
    /// skipped, generated, sent or failed.
    #[param(value_type = Option<AiLogStatus>)]
    status: Option<String>,
    #[param(schema_with = limit_schema)]
    limit: Option<String>,
    #[param(schema_with = cursor_schema)]
    cursor: Option<String>,
}

super::area!([list_logs]);

fn status(raw: &str) -> Result<AiLogStatus, ValidationError> {
    serde_json::from_value(serde_json::Value::String(raw.to_string())).map_err(|_| {
        ValidationError::new("status", "must be one of skipped, generated, sent, failed")
    })
}

#[utoipa::path(
    get, path = "/v1/ai/logs", tag = "ai", params(LogsQuery), security(("admin" = []), ("account" = [])),
    responses(
        (status = 200, body = ListBody<AiLog>),
        (status = 404, body = ErrorBody, description = "no such account (or, to an account token, another account)"),
    )
)]
async fn list_logs(
    State(s): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<LogsQuery>,
) -> Result<Json<ListBody<AiLog>>, AppError> {
    let page = ListQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .page()?;
    let requested = q
        .account_id
        .as_deref()
        .map(|id| AccountId::parse(id).ok_or(AppError::NotFound("account")))
        .transpose()?;
    let account_id = match (&caller, requested) {
        (Caller::Account(own), Some(id)) if id != own.id => {
            return Err(AppError::NotFound("account"));
        }
        (Caller::Account(own), _) => Some(own.id.clone()),
        (Caller::Admin { .. }, requested) => requested,
    };
    let filter = AiLogFilter {
        account_id,
        chat_id: q.chat_id.as_deref().map(ChatJid::parse).transpose()?,
        status: q.status.as_deref().map(status).transpose()?,
    };
    Ok(Json(s.store.list_ai_logs(&filter, &page).await?.into()))
}
