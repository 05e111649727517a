//! `POST /mcp`: a Model Context Protocol server (streamable HTTP, stateless, JSON answers) over
//! the client messages API, authenticated by a client API key. Its tools run the same use-cases
//! as the REST routes, so the checks, idempotency and audit are the same. There is no confirm
//! tool: a pending send is confirmed by a person or by the key's backend.

mod tools;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequest, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use std::sync::Arc;
use switchboard_core::error::AppError;
use switchboard_core::http::extract::JsonBody;
use switchboard_core::http::{ErrorBody, ErrorDetail};
use switchboard_core::services::AppState;
use switchboard_core::usecases::api_keys::{self, Client};

/// Where the server is reached, which decides the `Host` names it answers (against DNS
/// rebinding of a server on loopback).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// A process on this machine: loopback, and `PUBLIC_API_URL`'s host when set.
    Direct,
    /// A function behind API Gateway, which answers only for its own domain names; without
    /// `PUBLIC_API_URL` the function does not know that name, so any host is accepted.
    Gateway,
}

/// `/mcp`, to be mounted beside the API's routes.
pub fn routes(state: &AppState, reach: Reach) -> Router<AppState> {
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None);
    let config = match (allowed_hosts(state), reach) {
        (Some(hosts), _) => config.with_allowed_hosts(hosts),
        (None, Reach::Direct) => config,
        (None, Reach::Gateway) => config.disable_allowed_hosts(),
    };
    let tools_state = state.clone();
    let service = StreamableHttpService::new(
        move || Ok(tools::Tools::new(tools_state.clone())),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    Router::new()
        .nest_service("/mcp", service)
        .layer(middleware::from_fn(within_contract))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
}

/// Keeps `/mcp` within the API's contract, which rmcp does not know: a body is JSON within the
/// API's 1 MiB limit, read (and its malformations answered) as every route reads one, and every
/// refusal is in the API's error body (rmcp answers its own in plain text).
async fn within_contract(request: Request, next: Next) -> Response {
    let request = if request.method() == http::Method::POST {
        let (parts, body) = request.into_parts();
        let read = JsonBody::<serde_json::Value>::from_request(
            Request::from_parts(parts.clone(), body),
            &(),
        )
        .await;
        match read.and_then(|JsonBody(value)| {
            serde_json::to_vec(&value).map_err(|e| AppError::Internal(e.to_string()))
        }) {
            Ok(bytes) => Request::from_parts(parts, Body::from(bytes)),
            Err(refusal) => return refusal.into_response(),
        }
    } else {
        request
    };
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if status.is_success() || is_json {
        return response;
    }
    let said = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let code = status
        .canonical_reason()
        .unwrap_or("error")
        .to_ascii_lowercase()
        .replace([' ', '-'], "_");
    let message = if said.is_empty() { code.clone() } else { said };
    let body = ErrorBody {
        error: ErrorDetail {
            code,
            message,
            field: None,
            expires_at: None,
        },
    };
    (status, axum::Json(body)).into_response()
}

/// Loopback and `PUBLIC_API_URL`'s host, when it is set.
fn allowed_hosts(state: &AppState) -> Option<Vec<String>> {
    let public = state.settings.providers.public_api_url.as_ref()?;
    let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1"]
        .into_iter()
        .map(str::to_string)
        .collect();
    if let Some(host) = public.as_url().host_str() {
        hosts.push(host.trim_matches(['[', ']']).to_string());
    }
    Some(hosts)
}

/// Only a client API key may use the tools; the key goes with the request to them.
async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_string());
    let Some(token) = token else {
        return AppError::Unauthorized.into_response();
    };
    match api_keys::authenticate(&state, &token).await {
        Ok(Some(key)) => {
            request.extensions_mut().insert(Client::Key(Box::new(key)));
            next.run(request).await
        }
        Ok(None) => AppError::Unauthorized.into_response(),
        Err(e) => e.into_response(),
    }
}
