//! What every Lambda function shares: start-up from the environment (`boot`), and the two kinds
//! of entry point: API Gateway requests into the core's router (`http`), SQS batches into the
//! core's job runner (`sqs`).

pub mod boot;
pub mod http;
pub mod sqs;

pub use lambda_runtime::Error;
pub use switchboard_core::ports::QueueName;
