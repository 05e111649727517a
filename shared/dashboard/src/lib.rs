//! The dashboard at `/dashboard/`: static files from the repository's `dashboard/` folder,
//! embedded in the binary at build time (no build step, nothing read from disk at run time).
//! It is a client of the public API only: every page reads and writes through `/v1` and
//! `/api/v1` with the operator's token, so it can do nothing the API forbids.
//!
//! Any path under `/dashboard/` that is not an asset is the single page (`index.html`), which
//! routes on the path itself, so `/dashboard/confirm/{id}` (a message's `confirm_url`) opens
//! its page directly.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

/// The files of `dashboard/assets/`, as served under `/dashboard/assets/`.
macro_rules! assets {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_bytes!(concat!("../../../dashboard/assets/", $name)))),*]
    };
}

const ASSETS: &[(&str, &[u8])] = assets![
    "app.js",
    "api.js",
    "dom.js",
    "live.js",
    "names.js",
    "style.css",
    "pages/overview.js",
    "pages/ai.js",
    "pages/accounts.js",
    "pages/account.js",
    "pages/chat.js",
    "pages/logs.js",
    "pages/webhooks.js",
    "pages/keys.js",
    "pages/confirm.js",
    "pages/pending.js",
    "pages/audit.js",
    "pages/signin.js",
];

const INDEX: &[u8] = include_bytes!("../../../dashboard/index.html");

/// Scripts, styles and API calls from this origin only; no inline script or style, no frames,
/// no forms posted elsewhere. The token lives in the tab's `sessionStorage`, so what matters most
/// is that no other script can run on the page.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// `/dashboard` and everything under it, to be mounted beside the API's routes.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/dashboard",
            get(|| async { Redirect::permanent("/dashboard/") }),
        )
        .route("/dashboard/", get(|| async { page() }))
        .route("/dashboard/assets/{*file}", get(asset))
        .route("/dashboard/{*path}", get(|| async { page() }))
}

fn page() -> Response {
    served("text/html; charset=utf-8", INDEX)
}

async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _)| *name == file) {
        Some((name, bytes)) => served(content_type(name), bytes),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

fn served(content_type: &'static str, bytes: &'static [u8]) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        // A new release's files are fetched again at once; they are small.
        (header::CACHE_CONTROL, "no-cache"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file in `dashboard/assets/` is served, so a new page cannot be forgotten here.
    #[test]
    fn every_asset_on_disk_is_embedded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dashboard/assets");
        let mut on_disk = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("dashboard/assets") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    let relative = path.strip_prefix(&root).expect("under root");
                    on_disk.push(relative.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        let mut embedded: Vec<String> = ASSETS.iter().map(|(n, _)| n.to_string()).collect();
        on_disk.sort();
        embedded.sort();
        assert_eq!(on_disk, embedded);
    }

    #[test]
    fn types_follow_the_extension() {
        assert_eq!(
            content_type("pages/ai.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type("style.css"), "text/css; charset=utf-8");
    }
}
