//! Extractors: who is calling and what they may act on (a handler's signature says it), and
//! request bodies and queries turned into typed values with the API's error codes (400 for
//! malformed JSON or wrong types, 422 for unknown fields, missing fields and bad values, 413 for
//! oversized bodies, 415 for non-JSON).

use crate::auth::Caller;
use crate::domain::account::Account;
use crate::domain::chat::ChatJid;
use crate::domain::ids::AccountId;
use crate::domain::page::PageRequest;
use crate::domain::validation::ValidationError;
use crate::error::AppError;
use crate::services::AppState;
use crate::usecases::accounts;
use crate::usecases::api_keys::{self, Client};
use axum::extract::path::ErrorKind;
use axum::extract::rejection::{BytesRejection, PathRejection, RawPathParamsRejection};
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use bytes::Bytes;
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Request bodies above this are refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A JSON body parsed into `T` (which denies unknown fields).
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json"
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            });
        if is_json != Some(true) {
            return Err(AppError::UnsupportedMediaType);
        }
        let bytes =
            Bytes::from_request(req, state)
                .await
                .map_err(|rejection: BytesRejection| {
                    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        AppError::PayloadTooLarge {
                            limit: MAX_BODY_BYTES,
                        }
                    } else {
                        AppError::bad_request("unreadable_body", rejection.body_text())
                    }
                })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// A body as raw bytes, for a provider whose signature covers them exactly; any content type.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(|rejection: BytesRejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::PayloadTooLarge {
                        limit: MAX_PROVIDER_BODY_BYTES,
                    }
                } else {
                    AppError::bad_request("unreadable_body", rejection.body_text())
                }
            })
    }
}

/// Provider notifications may be larger than the API's bodies (Meta batches up to 3 MB).
pub const MAX_PROVIDER_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Parses JSON, classifying errors the way the API promises and naming the field. Every body is
/// an object: serde's derive would also read a struct from an array of its fields in order,
/// which no client means (and which would answer with Rust's names for things).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let first = bytes
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    if first != Some(&b'{') && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() {
        return Err(AppError::bad_request(
            "invalid_type",
            "body must be a JSON object",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(classify)?;
    de.end()
        .map_err(|e| AppError::bad_request("malformed_json", e.to_string()))?;
    Ok(value)
}

fn classify(e: serde_path_to_error::Error<serde_json::Error>) -> AppError {
    let path = e.path().to_string();
    let inner = e.inner();
    let text = inner.to_string();
    let field = |name: Option<&str>| -> String {
        let base = if path == "." {
            String::new()
        } else {
            path.clone()
        };
        match name {
            Some(n) if !base.ends_with(n) => {
                if base.is_empty() {
                    n.to_string()
                } else {
                    format!("{base}.{n}")
                }
            }
            _ => base,
        }
    };
    let quoted = |t: &str| t.split('`').nth(1).map(str::to_string);
    if inner.is_syntax() || inner.is_eof() || inner.is_io() {
        return AppError::bad_request("malformed_json", text);
    }
    // serde's messages are the only signal that tells these data errors apart.
    let message = text.split(" at line ").next().unwrap_or(&text).to_string();
    if text.starts_with("unknown field") {
        let name = quoted(&text);
        return ValidationError::new(field(name.as_deref()), message)
            .with_code("unknown_field")
            .into();
    }
    if text.starts_with("missing field") {
        let name = quoted(&text);
        return ValidationError::new(field(name.as_deref()), message)
            .with_code("missing_field")
            .into();
    }
    if text.starts_with("unknown variant") {
        return ValidationError::new(field(None), message).into();
    }
    AppError::BadRequest {
        code: "invalid_type",
        message,
        field: Some(field(None)).filter(|f| !f.is_empty()),
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Authenticates once per request: the caller is kept in the request's extensions, so that
/// `Admin` and `AccountPath` in one handler check the token once.
impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let token = bearer(parts).ok_or(AppError::Unauthorized)?;
        let caller = match state.admin_tokens.verify(token) {
            Some(subject) => Caller::Admin { subject },
            None => match accounts::authenticate(state, token).await? {
                Some(account) => Caller::Account(Box::new(account)),
                None => return Err(AppError::Unauthorized),
            },
        };
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

/// An admin caller; a valid account token is 403 here, anything else 401.
pub struct Admin {
    pub subject: String,
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        match Caller::from_request_parts(parts, state).await? {
            Caller::Admin { subject } => Ok(Admin { subject }),
            Caller::Account(_) => Err(AppError::Forbidden("this endpoint needs an admin token")),
        }
    }
}

/// The account a request with an account token comes from; an admin token is 403 here.
pub struct AccountCaller(pub Account);

impl FromRequestParts<AppState> for AccountCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        match Caller::from_request_parts(parts, state).await? {
            Caller::Account(account) => Ok(AccountCaller(*account)),
            Caller::Admin { .. } => Err(AppError::Forbidden(
                "this endpoint acts as an account: use that account's token",
            )),
        }
    }
}

/// The account named in the path (`{phone_id}`, `{account_id}` or `{id}`), loaded, when the caller may act on
/// it: an admin on any account, an account token on its own. Anything else, another tenant's
/// account included, reads as not found.
pub struct AccountPath(pub Account);

impl FromRequestParts<AppState> for AccountPath {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let raw = path_param(parts, state, &["phone_id", "account_id", "id"]).await?;
        let id = AccountId::parse(&raw).ok_or(AppError::NotFound("account"))?;
        match caller {
            // Its token was checked against this very account's row: no second read.
            Caller::Account(own) if own.id == id => Ok(AccountPath(*own)),
            Caller::Account(_) => Err(AppError::NotFound("account")),
            Caller::Admin { .. } => Ok(AccountPath(accounts::require(state, &id).await?)),
        }
    }
}

/// The chat named in the path (`{chat_jid}`); a malformed one is 422 on `chat_jid`.
pub struct ChatPath(pub ChatJid);

impl FromRequestParts<AppState> for ChatPath {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let raw = path_param(parts, state, &["chat_jid"]).await?;
        ChatJid::parse(&raw).map(ChatPath).map_err(|e| {
            AppError::Invalid(ValidationError {
                field: "chat_jid".into(),
                ..e
            })
        })
    }
}

/// Path parameters as text, for the routes that parse them themselves. A parameter that is not
/// UTF-8 names nothing that exists: 404 in the API's error body (axum's own answer would be a
/// plain-text 400).
pub struct PathText<T>(pub T);

impl<T, S> FromRequestParts<S> for PathText<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(PathText(value)),
            Err(PathRejection::FailedToDeserializePathParams(e))
                if matches!(e.kind(), ErrorKind::InvalidUtf8InPathParam { .. }) =>
            {
                Err(AppError::NotFound("resource"))
            }
            Err(e) => Err(AppError::Internal(format!("path parameters: {e}"))),
        }
    }
}

/// The first of `names` among the route's path parameters.
async fn path_param(
    parts: &mut Parts,
    state: &AppState,
    names: &[&str],
) -> Result<String, AppError> {
    let params = match RawPathParams::from_request_parts(parts, state).await {
        Ok(params) => params,
        // Bytes that are not text name no account and no chat: read as an empty name, which
        // every parser refuses (404, or 422 for a chat), as a client's mistake.
        Err(RawPathParamsRejection::InvalidUtf8InPathParam(_)) => return Ok(String::new()),
        Err(e) => return Err(AppError::Internal(format!("path parameters: {e}"))),
    };
    names
        .iter()
        .find_map(|name| params.iter().find(|(k, _)| k == name))
        .map(|(_, v)| v.to_string())
        .ok_or_else(|| AppError::Internal(format!("no path parameter among {names:?}")))
}

/// `?limit=&cursor=` (and `before=` where lists run newest first).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// 1..=200, default 50.
    #[param(schema_with = crate::domain::page::limit_schema)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(schema_with = crate::domain::page::cursor_schema)]
    pub cursor: Option<String>,
}

impl ListQuery {
    pub fn page(&self) -> Result<PageRequest, AppError> {
        let limit = self
            .limit
            .as_deref()
            .map(|l| {
                l.trim().parse::<i64>().map_err(|_| AppError::BadRequest {
                    code: "invalid_type",
                    message: "limit must be an integer".into(),
                    field: Some("limit".into()),
                })
            })
            .transpose()?;
        Ok(PageRequest::new(limit, self.cursor.as_deref())?)
    }
}

/// Query strings, with a bad one answered as 400 in the API's error body.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(query)
            .map(QueryParams)
            .map_err(|e| AppError::bad_request("invalid_query", e.to_string()))
    }
}

/// A caller of the client API: a client API key (read on every request, so a deleted key is
/// refused at once on every instance), or an admin.
impl FromRequestParts<AppState> for Client {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if let Some(client) = parts.extensions.get::<Client>() {
            return Ok(client.clone());
        }
        let token = bearer(parts).ok_or(AppError::Unauthorized)?;
        let client = match api_keys::authenticate(state, token).await? {
            Some(key) => Client::Key(Box::new(key)),
            None => match state.admin_tokens.verify(token) {
                Some(subject) => Client::Admin { subject },
                None => return Err(AppError::Unauthorized),
            },
        };
        parts.extensions.insert(client.clone());
        Ok(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        n: Option<i64>,
        kind: Option<Kind>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        A,
    }

    fn code(r: Result<Body, AppError>) -> (u16, String) {
        match r {
            Ok(_) => (200, String::new()),
            Err(AppError::BadRequest { code, .. }) => (400, code.to_string()),
            Err(AppError::Invalid(e)) => (422, format!("{}:{}", e.code, e.field)),
            Err(other) => (0, other.to_string()),
        }
    }

    #[test]
    fn errors_are_classified_as_the_contract_says() {
        assert_eq!(code(parse_json(br#"{"name":"x"}"#)).0, 200);
        assert_eq!(
            code(parse_json(br#"{"name":"x""#)),
            (400, "malformed_json".into())
        );
        assert_eq!(
            code(parse_json(br#"{"name":"x"} trailing"#)),
            (400, "malformed_json".into())
        );
        assert_eq!(
            code(parse_json(br#"{"name":5}"#)),
            (400, "invalid_type".into())
        );
        assert_eq!(
            code(parse_json(br#"{"name":"x","nme":1}"#)),
            (422, "unknown_field:nme".into())
        );
        assert_eq!(
            code(parse_json(br#"{}"#)),
            (422, "missing_field:name".into())
        );
        assert_eq!(
            code(parse_json(br#"{"name":"x","kind":"b"}"#)),
            (422, "invalid_value:kind".into())
        );
        for not_an_object in [&br#"["x", 1, "a"]"#[..], b"[]", b" \"x\" ", b"null", b"7"] {
            assert_eq!(
                code(parse_json(not_an_object)),
                (400, "invalid_type".into()),
                "{}",
                String::from_utf8_lossy(not_an_object)
            );
        }
        assert_eq!(code(parse_json(b"[")), (400, "malformed_json".into()));
    }

    proptest! {
        #[test]
        fn parsing_any_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = code(parse_json(&bytes));
        }

        #[test]
        fn parsing_json_like_text_never_panics(s in r#"[{}\[\]":,a-z0-9 .\-]{0,120}"#) {
            let _ = code(parse_json(s.as_bytes()));
        }
    }
}
