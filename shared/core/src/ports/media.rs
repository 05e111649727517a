//! Media: fetching a medium's bytes, from a provider or from a URL through the URL guard.
//! Bytes are handed over, bounded, and never stored (what the stores keep of media is in
//! `store.rs`, `MediaStore`).

use crate::domain::media::MediaError;
use async_trait::async_trait;

/// A failed fetch or understanding: what to name it, and whether another try may help (a 5xx,
/// a timeout, a dropped connection); a 4xx is final.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFailure {
    pub error: MediaError,
    pub transient: bool,
    /// For the process log: what went wrong, in the other side's words (never a token).
    pub detail: String,
}

impl MediaFailure {
    pub fn final_(error: MediaError, detail: impl Into<String>) -> Self {
        Self {
            error,
            transient: false,
            detail: detail.into(),
        }
    }

    pub fn transient(error: MediaError, detail: impl Into<String>) -> Self {
        Self {
            error,
            transient: true,
            detail: detail.into(),
        }
    }
}

/// Bytes fetched, never more than the limit asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub bytes: Vec<u8>,
    /// The type the server gave, when it gave one.
    pub mime_type: Option<String>,
}

/// Fetches a URL a bridge or relay phone gave, through the URL guard at every redirect,
/// reading no more than `limit` bytes.
#[async_trait]
pub trait Downloads: Send + Sync {
    async fn fetch(&self, url: &str, limit: u64) -> Result<Fetched, MediaFailure>;
}
