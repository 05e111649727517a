//! Connections that hold the server without asking anything: one that sends nothing, and one
//! that sends its headers a byte a second (a slowloris), are dropped once they have taken the
//! header read timeout, while other clients are served meanwhile.

use std::time::{Duration, Instant};
use switchboard_tests::spawn_app;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes the connection; how long that took.
async fn closed_after(mut stream: TcpStream, started: Instant) -> Duration {
    let mut buf = [0u8; 256];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return started.elapsed(),
            Ok(_) => {}
        }
    }
}

#[tokio::test]
async fn connections_that_never_finish_their_headers_are_dropped() {
    let app = spawn_app().await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let started = Instant::now();
    let silent = TcpStream::connect(&addr).await.expect("connect");
    let slow = TcpStream::connect(&addr).await.expect("connect");
    let (mut reader, mut writer) = slow.into_split();
    let drip = tokio::spawn(async move {
        for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\n".iter().cycle() {
            if writer.write_all(&[*byte]).await.is_err() {
                return;
            }
            // The attacker's pace (one byte a second), not a wait for the server.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    // Others are served meanwhile.
    let (status, _) = app.call("GET", "/healthz", None, None).await;
    assert!(status.is_success());

    let bound = Duration::from_secs(30);
    let silent_closed = tokio::time::timeout(bound, closed_after(silent, started))
        .await
        .expect("the silent connection is dropped");
    let mut buf = [0u8; 256];
    let slow_closed = tokio::time::timeout(bound, async {
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return started.elapsed(),
                Ok(_) => {}
            }
        }
    })
    .await
    .expect("the slow connection is dropped");
    drip.abort();
    for closed in [silent_closed, slow_closed] {
        assert!(
            closed >= Duration::from_secs(8) && closed < Duration::from_secs(20),
            "dropped after {closed:?}, expected about the 10 s header read timeout"
        );
    }
}
