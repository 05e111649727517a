//! Media downloads: bounded reads shared by the providers, and the `Downloads` port for URLs a
//! bridge or relay phone sends, fetched through the URL guard at every redirect.

use crate::guard::UrlGuard;
use crate::http::error_chain;
use async_trait::async_trait;
use switchboard_core::domain::media::MediaError;
use switchboard_core::ports::{Downloads, Fetched, MediaFailure};

/// Redirects followed before a URL is given up on.
const MAX_REDIRECTS: usize = 5;

/// A request that got no answer: worth another try. The URL is left out of the words (a bot
/// token travels in Telegram's).
pub fn unanswered(e: reqwest::Error) -> MediaFailure {
    if let Some(refused) = UrlGuard::refusal(&e) {
        return MediaFailure::final_(
            MediaError::DownloadFailed(String::new()),
            format!("refused by the URL guard: {refused}"),
        );
    }
    MediaFailure::transient(
        MediaError::DownloadFailed(String::new()),
        error_chain(e.without_url()),
    )
}

/// An answer that is not the file: a 5xx or 429 may mend, a 404 or 410 says the file is gone,
/// anything else is final.
pub fn refused(status: u16, what: &str) -> MediaFailure {
    let detail = format!("{what} answered HTTP {status}");
    match status {
        429 | 500.. => MediaFailure::transient(MediaError::DownloadFailed(String::new()), detail),
        404 | 410 => MediaFailure::final_(MediaError::Expired, detail),
        _ => MediaFailure::final_(MediaError::DownloadFailed(String::new()), detail),
    }
}

/// The file an answer carries, within `limit`, or why there is none.
pub async fn file(
    response: reqwest::Response,
    limit: u64,
    what: &str,
) -> Result<Fetched, MediaFailure> {
    let status = response.status().as_u16();
    if !(200..300).contains(&status) {
        return Err(refused(status, what));
    }
    read_bounded(response, limit).await
}

/// Reads a file's bytes, stopping at `limit`: a `Content-Length` above it is refused before
/// the body is read, and a body that runs past it is cut there.
pub async fn read_bounded(
    mut response: reqwest::Response,
    limit: u64,
) -> Result<Fetched, MediaFailure> {
    let too_large =
        || MediaFailure::final_(MediaError::TooLarge, format!("larger than {limit} bytes"));
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mime_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let expected = response.content_length();
    let mut bytes = Vec::with_capacity(expected.unwrap_or(0).min(limit) as usize);
    while let Some(chunk) = response.chunk().await.map_err(unanswered)? {
        if (bytes.len() + chunk.len()) as u64 > limit {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    // A connection closed early is a download that failed, not a shorter file.
    if expected.is_some_and(|n| n != bytes.len() as u64) {
        return Err(MediaFailure::transient(
            MediaError::DownloadFailed(String::new()),
            format!("the body ended after {} of {expected:?} bytes", bytes.len()),
        ));
    }
    Ok(Fetched { bytes, mime_type })
}

/// URLs of media from bridges and relay phones: user-controlled, so every hop goes through the
/// guard (its resolver refuses private addresses; literal ones are checked here).
pub struct GuardedDownloads {
    http: reqwest::Client,
    guard: UrlGuard,
}

impl GuardedDownloads {
    pub fn new(guard: UrlGuard) -> Result<Self, String> {
        let http = guard
            .client_builder()
            .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(std::time::Duration::from_secs(5))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { http, guard })
    }
}

#[async_trait]
impl Downloads for GuardedDownloads {
    async fn fetch(&self, url: &str, limit: u64) -> Result<Fetched, MediaFailure> {
        let failed = |detail: String| {
            MediaFailure::final_(MediaError::DownloadFailed(String::new()), detail)
        };
        let mut url = url::Url::parse(url).map_err(|e| failed(format!("not a URL: {e}")))?;
        for _ in 0..=MAX_REDIRECTS {
            self.guard
                .check_url(&url)
                .map_err(|r| failed(format!("refused by the URL guard: {r}")))?;
            let response = self
                .http
                .get(url.clone())
                .send()
                .await
                .map_err(unanswered)?;
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| failed(format!("a {status} without a Location")))?;
                url = url
                    .join(location)
                    .map_err(|e| failed(format!("a redirect to no URL: {e}")))?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(failed("a redirect away from http(s)".into()));
                }
                continue;
            }
            return file(response, limit, "the media URL").await;
        }
        Err(failed(format!("more than {MAX_REDIRECTS} redirects")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server on loopback that answers every connection with `answer(port)` as raw bytes,
    /// then closes it.
    async fn raw_server(answer: impl Fn(u16) -> Vec<u8> + Send + Sync + 'static) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let _ = socket.write_all(&answer(port)).await;
                let _ = socket.shutdown().await;
            }
        });
        port
    }

    fn downloads(allow_private: bool) -> GuardedDownloads {
        GuardedDownloads::new(UrlGuard::new(allow_private)).expect("client")
    }

    #[tokio::test]
    async fn a_body_cut_short_is_a_failed_download_worth_another_try() {
        let port = raw_server(|_| {
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nOggS-only-part".to_vec()
        })
        .await;
        let failure = downloads(true)
            .fetch(&format!("http://127.0.0.1:{port}/v.ogg"), 1000)
            .await
            .expect_err("truncated");
        assert_eq!(failure.error, MediaError::DownloadFailed(String::new()));
        assert!(failure.transient, "{failure:?}");
    }

    #[tokio::test]
    async fn no_more_than_the_limit_is_read_whatever_the_length_says() {
        let told =
            raw_server(|_| b"HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n".to_vec()).await;
        let failure = downloads(true)
            .fetch(&format!("http://127.0.0.1:{told}/big"), 1000)
            .await
            .expect_err("too large");
        assert_eq!(failure.error, MediaError::TooLarge);
        // No length told: the body is cut at the limit as it streams.
        let untold = raw_server(|_| {
            let mut answer = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
            answer.extend(vec![b'x'; 5000]);
            answer
        })
        .await;
        let failure = downloads(true)
            .fetch(&format!("http://127.0.0.1:{untold}/big"), 1000)
            .await
            .expect_err("too large");
        assert_eq!(failure.error, MediaError::TooLarge);
    }

    #[tokio::test]
    async fn redirects_are_followed_a_few_times_and_only_to_http() {
        let file = raw_server(|_| {
            b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Type: audio/ogg\r\n\r\nOggS".to_vec()
        })
        .await;
        let hop = raw_server(move |_| {
            format!("HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{file}/v.ogg\r\nContent-Length: 0\r\n\r\n").into_bytes()
        })
        .await;
        let fetched = downloads(true)
            .fetch(&format!("http://127.0.0.1:{hop}/start"), 1000)
            .await
            .expect("followed");
        assert_eq!(fetched.bytes, b"OggS");
        assert_eq!(fetched.mime_type.as_deref(), Some("audio/ogg"));
        let away = raw_server(|_| {
            b"HTTP/1.1 302 Found\r\nLocation: file:///etc/passwd\r\nContent-Length: 0\r\n\r\n"
                .to_vec()
        })
        .await;
        let failure = downloads(true)
            .fetch(&format!("http://127.0.0.1:{away}/x"), 1000)
            .await
            .expect_err("refused");
        assert!(
            !failure.transient && failure.detail.contains("away from http"),
            "{failure:?}"
        );
        let endless = raw_server(|port| {
            format!("HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{port}/again\r\nContent-Length: 0\r\n\r\n").into_bytes()
        })
        .await;
        let failure = downloads(true)
            .fetch(&format!("http://127.0.0.1:{endless}/x"), 1000)
            .await
            .expect_err("refused");
        assert!(failure.detail.contains("redirects"), "{failure:?}");
    }

    #[tokio::test]
    async fn a_private_address_is_refused_before_any_request_at_every_hop() {
        let failure = downloads(false)
            .fetch("http://127.0.0.1:9/v.ogg", 1000)
            .await
            .expect_err("refused");
        assert!(failure.detail.contains("URL guard"), "{failure:?}");
        assert!(!failure.transient);
        // Each hop of a redirect goes through the same check first: the metadata address is
        // refused however it is reached.
        let guard = UrlGuard::new(false);
        let next = url::Url::parse("http://169.254.169.254/latest/meta-data").expect("url");
        assert!(guard.check_url(&next).is_err());
    }
}
