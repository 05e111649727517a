//! The SDK's HTTP client on reqwest, the client every function already links for providers,
//! LLMs and webhooks. The SDK's own client (aws-smithy-http-client: hyper with HTTP/2, its own
//! connector and TLS set-up) would be a second HTTP stack in every bootstrap, 0.3 MB of each.
//!
//! DynamoDB, SQS and KMS speak HTTP/1.1 with small bodies held in memory, so a request is sent
//! whole and its answer read whole. Timeouts and retries stay the SDK's: this client applies
//! the connect and read timeouts it is given, and tells the SDK which failures are the
//! network's (retried) and which are not.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use std::sync::Mutex;
use std::time::Duration;

/// The SDK's client: one reqwest client (its pool of connections) per timeout settings, which
/// are the same for every call of one process.
pub fn client() -> SharedHttpClient {
    SharedHttpClient::new(Clients::default())
}

type Timeouts = (Option<Duration>, Option<Duration>);

#[derive(Debug, Default)]
struct Clients {
    built: Mutex<Vec<(Timeouts, SharedHttpConnector)>>,
}

impl HttpClient for Clients {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let timeouts = (settings.connect_timeout(), settings.read_timeout());
        let mut built = self
            .built
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, connector)) = built.iter().find(|(t, _)| *t == timeouts) {
            return connector.clone();
        }
        let connector = SharedHttpConnector::new(Connector::new(timeouts));
        built.push((timeouts, connector.clone()));
        connector
    }
}

#[derive(Debug)]
struct Connector {
    client: Result<reqwest::Client, String>,
}

impl Connector {
    fn new((connect, read): Timeouts) -> Self {
        // No proxy from the environment: the SDK's calls go to AWS (or `AWS_ENDPOINT_URL`),
        // as with the SDK's own client.
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none());
        if let Some(connect) = connect {
            builder = builder.connect_timeout(connect);
        }
        if let Some(read) = read {
            builder = builder.read_timeout(read);
        }
        Self {
            client: builder.build().map_err(|e| e.to_string()),
        }
    }
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.client.clone();
        HttpConnectorFuture::new(async move {
            let client = client.map_err(|e| ConnectorError::other(e.into(), None))?;
            let response = send(&client, request).await.map_err(failure)?;
            answer(response).await
        })
    }
}

async fn send(
    client: &reqwest::Client,
    request: HttpRequest,
) -> Result<reqwest::Response, Failure> {
    let request = request
        .try_into_http1x()
        .map_err(|e| Failure::Request(e.to_string()))?;
    let (parts, body) = request.into_parts();
    let body = body
        .bytes()
        .ok_or_else(|| Failure::Request("a streaming body is not sent by this client".into()))?
        .to_vec();
    client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(Failure::Network)
}

/// The answer, read whole; a connection lost while reading it is the network's failure.
async fn answer(mut response: reqwest::Response) -> Result<HttpResponse, ConnectorError> {
    let mut answer = http::Response::builder().status(response.status());
    if let Some(headers) = answer.headers_mut() {
        *headers = std::mem::take(response.headers_mut());
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| failure(Failure::Network(e)))?;
    let answer = answer
        .body(SdkBody::from(body))
        .map_err(|e| ConnectorError::other(e.into(), None))?;
    HttpResponse::try_from(answer).map_err(|e| ConnectorError::other(e.into(), None))
}

enum Failure {
    /// A request this client cannot send: not retried.
    Request(String),
    Network(reqwest::Error),
}

/// What the SDK's retry strategy needs to know: a timeout and a broken or refused connection
/// are transient (retried, as with the SDK's own client), anything else is not.
fn failure(failure: Failure) -> ConnectorError {
    match failure {
        Failure::Request(message) => ConnectorError::other(message.into(), None),
        Failure::Network(e) if e.is_timeout() => ConnectorError::timeout(e.into()),
        Failure::Network(e) if e.is_connect() || e.is_request() || e.is_body() => {
            ConnectorError::io(e.into())
        }
        Failure::Network(e) => ConnectorError::other(e.into(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn post(url: &str) -> HttpRequest {
        let request = http::Request::post(url)
            .header("x-amz-target", "DynamoDB_20120810.GetItem")
            .body(SdkBody::from("{\"TableName\":\"t\"}"))
            .expect("a request");
        HttpRequest::try_from(request).expect("an SDK request")
    }

    async fn listener() -> (TcpListener, String) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let url = format!("http://{}/", listener.local_addr().expect("an address"));
        (listener, url)
    }

    fn connector(read: Option<Duration>) -> Connector {
        Connector::new((Some(Duration::from_secs(2)), read))
    }

    #[tokio::test]
    async fn a_request_goes_out_whole_and_its_answer_comes_back_whole() {
        let (listener, url) = listener().await;
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("a connection");
            let mut seen = Vec::new();
            let mut buffer = [0u8; 1024];
            while !String::from_utf8_lossy(&seen).contains("\"t\"}") {
                let n = socket.read(&mut buffer).await.expect("the request");
                seen.extend_from_slice(&buffer[..n]);
            }
            let body = "{\"__type\":\"ResourceNotFoundException\"}";
            let head = format!(
                "HTTP/1.1 400 Bad Request\r\nx-amzn-requestid: R1\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            socket
                .write_all((head + body).as_bytes())
                .await
                .expect("the answer");
            String::from_utf8_lossy(&seen).to_lowercase()
        });
        let answer = connector(None).call(post(&url)).await.expect("an answer");
        assert_eq!(answer.status().as_u16(), 400);
        assert_eq!(answer.headers().get("x-amzn-requestid"), Some("R1"));
        assert_eq!(
            answer.body().bytes(),
            Some(&b"{\"__type\":\"ResourceNotFoundException\"}"[..])
        );
        let seen = server.await.expect("the server");
        assert!(seen.starts_with("post / http/1.1"), "{seen}");
        assert!(
            seen.contains("x-amz-target: dynamodb_20120810.getitem"),
            "{seen}"
        );
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_network_failure_the_sdk_retries() {
        let (listener, url) = listener().await;
        drop(listener);
        let e = connector(None).call(post(&url)).await.expect_err("refused");
        assert!(e.is_io(), "{e:?}");
    }

    #[tokio::test]
    async fn an_answer_that_does_not_come_is_a_timeout() {
        let (listener, url) = listener().await;
        // Accepts and reads, never answers.
        let _server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("a connection");
            let mut sink = Vec::new();
            let _ = socket.read_to_end(&mut sink).await;
        });
        let e = connector(Some(Duration::from_millis(200)))
            .call(post(&url))
            .await
            .expect_err("no answer");
        assert!(e.is_timeout(), "{e:?}");
    }
}
