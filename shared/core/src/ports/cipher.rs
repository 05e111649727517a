//! Sealing secrets (`api_key`, provider secrets) before they reach the store.

use crate::domain::secret::SealedSecret;
use async_trait::async_trait;
use secrecy::SecretString;

/// Binds a ciphertext to what it belongs to (KMS's encryption context; AES-GCM's associated
/// data locally), so a sealed value copied onto another owner or field does not open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretContext {
    /// `global` or an account id.
    pub owner: String,
    /// The field, e.g. `ai.api_key` or `provider_config.access_token`.
    pub field: String,
}

impl SecretContext {
    pub fn new(owner: impl Into<String>, field: impl Into<String>) -> Self {
        Self {
            owner: owner.into(),
            field: field.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CipherError {
    #[error("sealed value is malformed")]
    Malformed,
    #[error("no key for version {0}")]
    UnknownKey(String),
    #[error("sealed value does not open with its key and context")]
    Tampered,
    #[error("cipher backend: {0}")]
    Backend(String),
}

#[async_trait]
pub trait Cipher: Send + Sync {
    async fn seal(
        &self,
        plaintext: &SecretString,
        context: &SecretContext,
    ) -> Result<SealedSecret, CipherError>;
    async fn open(
        &self,
        sealed: &SealedSecret,
        context: &SecretContext,
    ) -> Result<SecretString, CipherError>;
}
