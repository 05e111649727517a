//! What every client here shares: an error with its causes, a short quote of an answer, and a
//! body read only up to a limit.

/// An HTTP client error with its causes (refused connection, DNS failure ...), which the
/// error alone does not name.
pub fn error_chain(e: &reqwest::Error) -> String {
    let mut cause = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause = format!("{cause}: {s}");
        source = s.source();
    }
    cause
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
