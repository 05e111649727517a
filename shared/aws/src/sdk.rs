//! The SDK configuration every client shares: region, credentials and endpoint from the
//! environment (`AWS_ENDPOINT_URL` points the clients at an emulator), an explicit behavior
//! version, and timeouts on every call.

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{
    BehaviorVersion, Credentials, Region, SharedAsyncSleep, SharedCredentialsProvider,
    SharedHttpClient,
};
use aws_smithy_async::rt::sleep::TokioSleep;
use aws_types::SdkConfig;
use std::time::Duration;
use switchboard_core::settings::{EnvSource, SettingsError};

/// Pinned, so an SDK upgrade does not change retry or timeout behavior unseen.
pub fn behavior_version() -> BehaviorVersion {
    BehaviorVersion::v2026_01_12()
}

/// A DynamoDB or SQS call answers in milliseconds; a call that has not answered in seconds is
/// retried (attempt timeout) and given up on (operation timeout) well inside a function's own
/// timeout, so a stuck connection fails a job instead of freezing it.
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(3))
        .operation_timeout(Duration::from_secs(10))
        .build()
}

/// HTTPS on reqwest (rustls with ring), the HTTP client and crypto every function links
/// already: the SDK's default client would bring a second HTTP stack and a second crypto
/// library (aws-lc) into every bootstrap.
pub fn https() -> SharedHttpClient {
    crate::transport::client()
}

/// A Lambda function's configuration, from what Lambda puts in its environment: the region and
/// the execution role's credentials. A function needs nothing of the SDK's provider chain
/// (profiles, SSO, STS, instance metadata), which would take half a megabyte of every bootstrap
/// and look for files at start; `switchboard serve` on AWS uses the whole chain instead.
pub fn from_lambda_env(env: &dyn EnvSource) -> Result<SdkConfig, SettingsError> {
    // Set by Lambda, not by the template.
    let from_lambda = |variable: &'static str| {
        env.var(variable).ok_or(SettingsError {
            variable,
            message: "is required (Lambda sets it)".into(),
        })
    };
    let credentials = Credentials::new(
        from_lambda("AWS_ACCESS_KEY_ID")?,
        from_lambda("AWS_SECRET_ACCESS_KEY")?,
        env.var("AWS_SESSION_TOKEN"),
        None,
        "lambda environment",
    );
    let config = SdkConfig::builder()
        .behavior_version(behavior_version())
        .region(Region::new(from_lambda("AWS_REGION")?))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(https())
        .sleep_impl(SharedAsyncSleep::new(TokioSleep::new()))
        .retry_config(RetryConfig::standard())
        .timeout_config(timeouts());
    Ok(match env.var("AWS_ENDPOINT_URL") {
        Some(url) => config.endpoint_url(url),
        None => config,
    }
    .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_function_takes_its_region_credentials_and_endpoint_from_lambda() {
        let env = |name: &str| match name {
            "AWS_REGION" => Some("eu-west-1".to_string()),
            "AWS_ACCESS_KEY_ID" => Some("AKIDEXAMPLE".to_string()),
            "AWS_SECRET_ACCESS_KEY" => Some("secret".to_string()),
            "AWS_ENDPOINT_URL" => Some("http://127.0.0.1:5000".to_string()),
            _ => None,
        };
        let config = from_lambda_env(&env).expect("config");
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:5000"));
        assert!(config.credentials_provider().is_some());
        let missing = |name: &str| env(name).filter(|_| name != "AWS_REGION");
        let e = from_lambda_env(&missing).err().map(|e| e.variable);
        assert_eq!(e, Some("AWS_REGION"));
    }
}
