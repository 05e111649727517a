//! Adapters on AWS: the store on DynamoDB (one table), the job queues on SQS, the cipher on
//! KMS. Every client is built once per process and shared; every call is bounded by a timeout.

pub mod consumer;
pub mod dynamo;
pub mod kms;
pub mod sdk;
pub mod settings;
pub mod sqs;
mod transport;

pub use dynamo::DynamoStore;
pub use kms::KmsCipher;
pub use settings::AwsSettings;
pub use sqs::SqsQueue;

/// The three adapters of a deployment, with clients built once from one SDK configuration.
pub struct Adapters {
    pub store: DynamoStore,
    pub queue: SqsQueue,
    pub cipher: KmsCipher,
}

impl Adapters {
    /// The clients of one SDK configuration: `sdk::from_lambda_env` in a function, the SDK's
    /// whole provider chain in `switchboard serve`.
    pub fn new(sdk: &aws_types::SdkConfig, settings: &AwsSettings) -> Self {
        Self {
            store: DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), &settings.table),
            queue: SqsQueue::new(aws_sdk_sqs::Client::new(sdk), settings.clone()),
            cipher: KmsCipher::new(aws_sdk_kms::Client::new(sdk), &settings.kms_key_id),
        }
    }

    /// Opens the DynamoDB and SQS connections (DNS, TCP, TLS) now, during a function's init,
    /// which runs on a full vCPU, rather than inside the first event's time. A failure here
    /// is only logged: the first real call will say what is wrong.
    pub async fn warm_up(&self) {
        let (table, queue) = tokio::join!(self.store.warm_up(), self.queue.warm_up());
        for (what, outcome) in [("table", table), ("queue", queue)] {
            if let Err(e) = outcome {
                tracing::warn!(target: "switchboard::start", "warming up the {what} connection: {e}");
            }
        }
    }
}
