//! Delivers a signed event over HTTP through the URL guard: no redirects (a 3xx is a failure),
//! the whole exchange bounded by the timeout, and at most a little of the answer read.

use crate::guard::UrlGuard;
use crate::http::error_chain;
use async_trait::async_trait;
use std::time::Duration;
use switchboard_core::ports::{SendFailure, WebhookRequest, WebhookResponse, WebhookSender};

/// The receiver's answer matters only by its status; the rest is read up to this and dropped.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

pub struct WebhookClient {
    http: reqwest::Client,
    guard: UrlGuard,
}

impl WebhookClient {
    pub fn new(guard: UrlGuard) -> Result<Self, String> {
        let http = guard
            .client_builder()
            .user_agent(concat!("switchboard-webhooks/", env!("CARGO_PKG_VERSION")))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { http, guard })
    }

    async fn exchange(&self, req: WebhookRequest) -> Result<WebhookResponse, SendFailure> {
        let mut request = self
            .http
            .post(req.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(req.body);
        for (name, value) in req.headers {
            request = request.header(name, value);
        }
        let mut response = request.send().await.map_err(classify)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let mut read = 0;
        while let Ok(Some(chunk)) = response.chunk().await {
            read += chunk.len();
            if read >= MAX_RESPONSE_BYTES {
                break;
            }
        }
        Ok(WebhookResponse {
            status,
            retry_after,
        })
    }
}

fn classify(e: reqwest::Error) -> SendFailure {
    match UrlGuard::refusal(&e) {
        Some(refused) => SendFailure::Refused(refused.to_string()),
        None => SendFailure::Connection(error_chain(e)),
    }
}

#[async_trait]
impl WebhookSender for WebhookClient {
    async fn post(&self, req: WebhookRequest) -> Result<WebhookResponse, SendFailure> {
        self.guard
            .check_url(&req.url)
            .map_err(|r| SendFailure::Refused(r.to_string()))?;
        let limit = req.timeout;
        match tokio::time::timeout(limit, self.exchange(req)).await {
            Ok(result) => result,
            Err(_) => Err(SendFailure::Timeout(limit)),
        }
    }
}
