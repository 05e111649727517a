//! Outbound HTTP to addresses users control: the URL guard every such client goes through, and
//! the OpenAI-compatible LLM client and the webhook client.

pub mod guard;
pub mod openai;
pub mod webhook_client;

/// An HTTP client error with its causes (refused connection, DNS failure ...), which the
/// error alone does not name.
pub fn describe(e: &reqwest::Error) -> String {
    let mut cause = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause = format!("{cause}: {s}");
        source = s.source();
    }
    cause
}
