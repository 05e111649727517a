//! What every client here shares: an error with its causes, a short quote of an answer, and a
//! body read only up to a limit.

/// An HTTP client error with its causes (refused connection, DNS failure ...), which the
/// error alone does not name. Without its URL: a Bot API URL carries the bot's token, and
/// these messages are logged, stored on messages and returned.
pub fn error_chain(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut cause = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        cause = format!("{cause}: {s}");
        source = s.source();
    }
    cause
}

/// A request header's value as text, when it is there and is text.
pub fn header_text<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The start of an answer's body, as text, for an error message.
pub fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    let cut: String = text.chars().take(300).collect();
    if cut.len() < text.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

/// Reads a response body up to `limit` bytes; `Ok(None)` when it is longer.
pub async fn read_at_most(
    response: &mut reqwest::Response,
    limit: usize,
) -> Result<Option<Vec<u8>>, reqwest::Error> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > limit {
            return Ok(None);
        }
    }
    Ok(Some(bytes))
}

/// The whole exchange with a provider's API is cut at this.
pub const PROVIDER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// A client for the providers' own APIs (the Graph API, Telegram's Bot API): the operator's
/// addresses, not user input, so not behind the URL guard; no redirects, bounded in time.
pub fn operator_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(PROVIDER_TIMEOUT)
        .pool_idle_timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())
}

/// `Retry-After` in seconds, when an answer gives it so.
pub fn retry_after(response: &reqwest::Response) -> Option<std::time::Duration> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(std::time::Duration::from_secs)
}

/// Why a request got no answer, as a provider failure worth retrying.
pub fn unanswered(e: reqwest::Error) -> switchboard_core::ports::ProviderError {
    let reason = if e.is_timeout() {
        format!("no answer within {} s", PROVIDER_TIMEOUT.as_secs())
    } else {
        format!("cannot reach the provider: {}", error_chain(e))
    };
    switchboard_core::ports::ProviderError::retry(reason)
}
