//! `GET /api/v1/audit` (admin): every decision of the client API, newest first.

use crate::domain::audit::{AuditEntry, AuditOutcome};
use crate::domain::ids::ApiKeyId;
use crate::domain::page::ListBody;
use crate::domain::page::{cursor_schema, limit_schema};
use crate::domain::validation::ValidationError;
use crate::error::AppError;
use crate::http::ErrorBody;
use crate::http::extract::{Admin, ListQuery, QueryParams};
use crate::ports::AuditFilter;
use crate::services::AppState;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this key's rows.
    #[param(schema_with = ApiKeyId::request_schema)]
    key_id: Option<String>,
    /// `accepted` or `refused`.
    #[param(value_type = Option<AuditOutcome>)]
    outcome: Option<String>,
    #[param(schema_with = limit_schema)]
    limit: Option<String>,
    #[param(schema_with = cursor_schema)]
    cursor: Option<String>,
}

super::area!([list_audit]);

#[utoipa::path(
    get, path = "/api/v1/audit", tag = "client", params(AuditQuery), security(("admin" = [])),
    responses(
        (status = 200, body = ListBody<AuditEntry>),
        (status = 422, body = ErrorBody),
    )
)]
async fn list_audit(
    State(s): State<AppState>,
    _admin: Admin,
    QueryParams(q): QueryParams<AuditQuery>,
) -> Result<Json<ListBody<AuditEntry>>, AppError> {
    let page = ListQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .page()?;
    let key_id = q
        .key_id
        .as_deref()
        .map(|k| {
            ApiKeyId::parse(k)
                .ok_or_else(|| ValidationError::new("key_id", "is not an API key id (key_...)"))
        })
        .transpose()?;
    let outcome = q
        .outcome
        .as_deref()
        .map(|o| match o {
            "accepted" => Ok(AuditOutcome::Accepted),
            "refused" => Ok(AuditOutcome::Refused),
            _ => Err(ValidationError::new(
                "outcome",
                "must be accepted or refused",
            )),
        })
        .transpose()?;
    let filter = AuditFilter { key_id, outcome };
    Ok(Json(s.store.list_audit(&filter, &page).await?.into()))
}
