//! The HTTP server of `switchboard serve`: hyper's HTTP/1.1 connections with a bound on how long
//! a client may take to send a request's headers. axum's own `serve` sets no timer, so a client
//! that opens a connection and then sends nothing, or its headers a byte at a time (a
//! slowloris), would hold a socket and a task forever; a few hundred of them would exhaust the
//! process's file descriptors.

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// How long a client has to send a request's headers, counted from when the server is ready
/// to read them: from the connection's start, and between requests on a kept-alive connection
/// (so it also ends idle connections). A real client sends its headers in milliseconds, even
/// over a slow mobile link; ten seconds leaves room for that, and holds a slowloris
/// connection ten seconds instead of forever.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a graceful stop waits for requests in progress before it drops them.
const DRAIN_WITHIN: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `shutdown` completes, then lets the requests in progress
/// finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors, or a connection reset before it was taken:
                    // waiting a moment lets the first pass; the second needs nothing.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            app.clone().oneshot(request)
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // A client that went away, or was too slow: nothing to report to anyone.
            let _ = connection.await;
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN_WITHIN, graceful.shutdown()).await;
    Ok(())
}
