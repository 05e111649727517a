//! The AWS side of the tests: the real SDK clients pointed at the moto server the test command
//! started (`AWS_ENDPOINT_URL`). Each test makes its own table, queues and key, so tests run
//! side by side without seeing each other's data.

use aws_config::SdkConfig;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_sqs::types::QueueAttributeName;
use std::sync::Arc;
use switchboard_aws::{AwsSettings, DynamoStore, KmsCipher, SqsQueue};
use switchboard_core::ports::Store;

/// The emulator's address; a run without one fails here, loudly: these tests are not skipped.
pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!(
            "AWS_ENDPOINT_URL is not set: the AWS adapter tests run against a moto server, \
             which ./scripts/test starts (or start one: `moto_server -p 5000` and set \
             AWS_ENDPOINT_URL=http://127.0.0.1:5000)"
        )
    })
}

pub async fn sdk() -> SdkConfig {
    aws_config::defaults(switchboard_aws::sdk::behavior_version())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint())
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .timeout_config(switchboard_aws::sdk::timeouts())
        .http_client(switchboard_aws::sdk::https())
        .load()
        .await
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new().to_string().to_lowercase())
}

pub async fn fresh_table(sdk: &SdkConfig) -> String {
    let name = unique("switchboard");
    let client = aws_sdk_dynamodb::Client::new(sdk);
    switchboard_aws::dynamo::schema::create_table(&client, &name)
        .await
        .expect("create table");
    name
}

pub async fn dynamo_store() -> Arc<dyn Store> {
    let sdk = sdk().await;
    let table = fresh_table(&sdk).await;
    Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table))
}

/// A queue with its dead-letter queue, which takes a message after `max_receives` receives.
pub async fn queue_with_dlq(sdk: &SdkConfig, name: &str, max_receives: u32) -> (String, String) {
    let client = aws_sdk_sqs::Client::new(sdk);
    let name = unique(name);
    let dlq = client
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .send()
        .await
        .expect("create dlq")
        .queue_url
        .expect("dlq url");
    let dlq_arn = client
        .get_queue_attributes()
        .queue_url(&dlq)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("dlq attributes")
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("dlq arn");
    let redrive =
        serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives});
    let url = client
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("queue url");
    (url, dlq)
}

pub async fn kms_key(sdk: &SdkConfig) -> String {
    aws_sdk_kms::Client::new(sdk)
        .create_key()
        .description("switchboard tests")
        .send()
        .await
        .expect("create key")
        .key_metadata
        .expect("key metadata")
        .key_id
}

/// A whole deployment's resources: table, three queues with DLQs, a key.
pub struct Deployment {
    pub settings: AwsSettings,
    pub dead_letters: [String; 3],
    pub sdk: SdkConfig,
}

pub async fn deployment(max_receives: u32) -> Deployment {
    let sdk = sdk().await;
    let table = fresh_table(&sdk).await;
    let (ai, ai_dlq) = queue_with_dlq(&sdk, "ai-reply", max_receives).await;
    let (out, out_dlq) = queue_with_dlq(&sdk, "outbound", max_receives).await;
    let (hook, hook_dlq) = queue_with_dlq(&sdk, "webhook", max_receives).await;
    let kms_key_id = kms_key(&sdk).await;
    Deployment {
        settings: AwsSettings {
            table,
            kms_key_id,
            ai_reply_queue_url: ai,
            outbound_queue_url: out,
            webhook_queue_url: hook,
        },
        dead_letters: [ai_dlq, out_dlq, hook_dlq],
        sdk,
    }
}

impl Deployment {
    pub fn queue(&self) -> SqsQueue {
        SqsQueue::new(aws_sdk_sqs::Client::new(&self.sdk), self.settings.clone())
    }

    pub fn cipher(&self) -> KmsCipher {
        KmsCipher::new(
            aws_sdk_kms::Client::new(&self.sdk),
            &self.settings.kms_key_id,
        )
    }

    /// The variables of a function whose AWS requests go through `endpoint` (a proxy in front
    /// of the emulator).
    pub fn env_through(&self, endpoint: &str) -> Vec<(String, String)> {
        self.env()
            .into_iter()
            .map(|(k, v)| match k.as_str() {
                "AWS_ENDPOINT_URL" => (k, endpoint.to_string()),
                _ => (k, v),
            })
            .collect()
    }

    /// The variables a function reads to find this deployment.
    pub fn env(&self) -> Vec<(String, String)> {
        let s = &self.settings;
        [
            ("TABLE_NAME", s.table.as_str()),
            ("KMS_KEY_ID", &s.kms_key_id),
            ("AI_REPLY_QUEUE_URL", &s.ai_reply_queue_url),
            ("OUTBOUND_QUEUE_URL", &s.outbound_queue_url),
            ("WEBHOOK_QUEUE_URL", &s.webhook_queue_url),
            ("AWS_ENDPOINT_URL", &endpoint()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }
}
