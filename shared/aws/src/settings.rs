//! Where the AWS resources are, from the environment the template sets.

use switchboard_core::ports::QueueName;
use switchboard_core::settings::{EnvSource, SettingsError};

#[derive(Debug, Clone)]
pub struct AwsSettings {
    pub table: String,
    pub kms_key_id: String,
    pub ai_reply_queue_url: String,
    pub outbound_queue_url: String,
    pub webhook_queue_url: String,
}

impl AwsSettings {
    pub fn from_env(env: &dyn EnvSource) -> Result<Self, SettingsError> {
        let required = |variable: &'static str| {
            env.var(variable)
                .filter(|v| !v.trim().is_empty())
                .ok_or(SettingsError {
                    variable,
                    message: "is required".into(),
                })
        };
        Ok(Self {
            table: required("TABLE_NAME")?,
            kms_key_id: required("KMS_KEY_ID")?,
            ai_reply_queue_url: required("AI_REPLY_QUEUE_URL")?,
            outbound_queue_url: required("OUTBOUND_QUEUE_URL")?,
            webhook_queue_url: required("WEBHOOK_QUEUE_URL")?,
        })
    }

    pub fn queue_url(&self, queue: QueueName) -> &str {
        match queue {
            QueueName::AiReply => &self.ai_reply_queue_url,
            QueueName::Outbound => &self.outbound_queue_url,
            QueueName::Webhook => &self.webhook_queue_url,
        }
    }
}
