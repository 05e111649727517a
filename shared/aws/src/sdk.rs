//! The SDK configuration every client shares: region, credentials and endpoint from the
//! environment (`AWS_ENDPOINT_URL` points the clients at an emulator), an explicit behavior
//! version, and timeouts on every call.

use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;
use std::time::Duration;

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

pub async fn load() -> aws_config::SdkConfig {
    aws_config::defaults(behavior_version())
        .timeout_config(timeouts())
        .load()
        .await
}
