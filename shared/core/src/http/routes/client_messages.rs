//! `/api/v1/messages` and `/api/v1/assistant/draft`: sends of AI assistants and backends on
//! any channel, under their key's policy.

use crate::domain::ids::{AccountId, MessageId};
use crate::domain::page::ListBody;
use crate::domain::page::{cursor_schema, limit_schema};
use crate::domain::validation::ValidationError;
use crate::error::AppError;
use crate::http::ErrorBody;
use crate::http::extract::{Admin, JsonBody, ListQuery, PathText, QueryParams};
use crate::services::AppState;
use crate::usecases::api_keys::Client;
use crate::usecases::client_messages::{self, Accepted, ClientMessageView, Drafted, Order};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode};

super::area!(
    [send_message, list_messages],
    [get_message],
    [confirm_message],
    [cancel_message],
    [draft_message]
);

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftBody {
    #[schema(schema_with = AccountId::request_schema)]
    phone_id: String,
    /// What to send, in plain words ("tell Ann her order shipped").
    #[schema(schema_with = instruction_schema)]
    instruction: String,
}

#[utoipa::path(
    post, path = "/api/v1/assistant/draft", tag = "client", request_body = DraftBody, security(("api_key" = []), ("admin" = [])),
    responses(
        (status = 200, body = Drafted, description = "the draft, stored `pending_confirmation` when the policy allows it (never sent unconfirmed), `cancelled` with `decision.allowed: false` when it does not"),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no such phone"),
        (status = 409, body = ErrorBody, description = "the phone has no LLM configured (code no_api_key)"),
        (status = 429, body = ErrorBody),
        (status = 502, body = ErrorBody, description = "the LLM failed, or its answer is not a draft (llm_invalid_output)"),
    )
)]
async fn draft_message(
    State(s): State<AppState>,
    client: Client,
    JsonBody(body): JsonBody<DraftBody>,
) -> Result<Json<Drafted>, AppError> {
    let drafted = client_messages::draft(&s, &client, &body.phone_id, &body.instruction).await?;
    Ok(Json(drafted))
}

fn instruction_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    crate::domain::schema::schema_of(crate::domain::validation::text_schema(
        client_messages::MAX_INSTRUCTION_CHARS,
    ))
}

const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

#[utoipa::path(
    post, path = "/api/v1/messages", tag = "client", request_body = Order, security(("api_key" = []), ("admin" = [])),
    responses(
        (status = 202, body = Accepted, description = "queued, or `pending_confirmation` (with `confirm_url`) when the key requires confirmation", headers(("Idempotent-Replayed" = String, description = "`true` when this answer is a replay, `false` otherwise"))),
        (status = 200, body = Accepted, description = "a replay: the first answer to this idempotency_key (header Idempotent-Replayed: true)", headers(("Idempotent-Replayed" = String, description = "`true` when this answer is a replay, `false` otherwise"))),
        (status = 403, body = ErrorBody, description = "phone_not_allowed, channel_not_allowed or recipient_not_allowed"),
        (status = 404, body = ErrorBody, description = "no such phone"),
        (status = 409, body = ErrorBody, description = "idempotency_key_reused or idempotency_in_progress"),
        (status = 422, body = ErrorBody, description = "a bad field, or channel_not_supported"),
        (status = 429, body = ErrorBody, description = "rate_limited, with Retry-After"),
    )
)]
async fn send_message(
    State(s): State<AppState>,
    client: Result<Client, AppError>,
    body: Result<JsonBody<Order>, AppError>,
) -> Result<
    (
        StatusCode,
        [(HeaderName, HeaderValue); 1],
        Json<serde_json::Value>,
    ),
    AppError,
> {
    let client = match client {
        Ok(client) => client,
        Err(AppError::Unauthorized) => return Err(client_messages::refuse_unknown(&s).await),
        Err(e) => return Err(e),
    };
    let answer = client_messages::send(&s, &client, body.map(|JsonBody(o)| o)).await?;
    let (status, replayed) = if answer.replayed {
        (StatusCode::OK, "true")
    } else {
        (StatusCode::ACCEPTED, "false")
    };
    Ok((
        status,
        [(REPLAYED, HeaderValue::from_static(replayed))],
        Json(answer.body),
    ))
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessagesQuery {
    /// Which messages: `pending_confirmation` (the only list there is: what waits for a person).
    #[param(value_type = String, required = true, pattern = "^pending_confirmation$")]
    status: Option<String>,
    #[param(schema_with = limit_schema)]
    limit: Option<String>,
    #[param(schema_with = cursor_schema)]
    cursor: Option<String>,
}

#[utoipa::path(
    get, path = "/api/v1/messages", tag = "client", params(MessagesQuery), security(("admin" = [])),
    responses(
        (status = 200, body = ListBody<ClientMessageView>, description = "oldest first"),
        (status = 422, body = ErrorBody),
    )
)]
async fn list_messages(
    State(s): State<AppState>,
    _admin: Admin,
    QueryParams(q): QueryParams<MessagesQuery>,
) -> Result<Json<ListBody<ClientMessageView>>, AppError> {
    if q.status.as_deref() != Some("pending_confirmation") {
        return Err(ValidationError::new("status", "must be pending_confirmation").into());
    }
    let page = ListQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .page()?;
    let found = client_messages::pending(&s, &page).await?;
    Ok(Json(ListBody {
        items: found
            .items
            .iter()
            .map(|m| client_messages::view(&s, m))
            .collect(),
        next_cursor: found
            .next
            .as_deref()
            .map(crate::domain::page::encode_cursor),
    }))
}

fn message_id(raw: &str) -> Result<MessageId, AppError> {
    MessageId::parse(raw).ok_or(AppError::NotFound("message"))
}

#[utoipa::path(
    get, path = "/api/v1/messages/{id}", tag = "client", security(("api_key" = []), ("admin" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = ClientMessageView),
        (status = 404, body = ErrorBody, description = "no such message, or another key's"),
    )
)]
async fn get_message(
    State(s): State<AppState>,
    client: Client,
    PathText(id): PathText<String>,
) -> Result<Json<ClientMessageView>, AppError> {
    let m = client_messages::get(&s, &client, &message_id(&id)?).await?;
    Ok(Json(client_messages::view(&s, &m)))
}

#[utoipa::path(
    post, path = "/api/v1/messages/{id}/confirm", tag = "client", security(("api_key" = []), ("admin" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = ClientMessageView, description = "queued for sending (confirming twice is harmless)"),
        (status = 409, body = ErrorBody, description = "message_cancelled: cancelled or expired"),
    )
)]
async fn confirm_message(
    State(s): State<AppState>,
    client: Client,
    PathText(id): PathText<String>,
) -> Result<Json<ClientMessageView>, AppError> {
    let m = client_messages::confirm(&s, &client, &message_id(&id)?).await?;
    Ok(Json(client_messages::view(&s, &m)))
}

#[utoipa::path(
    post, path = "/api/v1/messages/{id}/cancel", tag = "client", security(("api_key" = []), ("admin" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = ClientMessageView, description = "cancelled (cancelling twice is harmless)"),
        (status = 409, body = ErrorBody, description = "message_not_cancellable: already on its way"),
    )
)]
async fn cancel_message(
    State(s): State<AppState>,
    client: Client,
    PathText(id): PathText<String>,
) -> Result<Json<ClientMessageView>, AppError> {
    let m = client_messages::cancel(&s, &client, &message_id(&id)?).await?;
    Ok(Json(client_messages::view(&s, &m)))
}
