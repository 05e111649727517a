//! The cipher on KMS: each secret encrypted under the stack's key with an encryption context
//! naming its owner and field (the key policy can require it). Opened values are kept in
//! memory for a few minutes, so a warm function does not call KMS per job.

use async_trait::async_trait;
use aws_sdk_kms::Client;
use aws_sdk_kms::error::{DisplayErrorContext, SdkError};
use aws_sdk_kms::operation::decrypt::DecryptError;
use aws_sdk_kms::primitives::Blob;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use switchboard_core::domain::secret::SealedSecret;
use switchboard_core::ports::{Cipher, CipherError, SecretContext};

const PREFIX: &str = "kms:v1:";
const CACHE_FOR: Duration = Duration::from_secs(300);
const CACHE_SIZE: usize = 1024;

pub struct KmsCipher {
    client: Client,
    key_id: String,
    /// Keyed by a digest of the sealed value and its context, never by the secret.
    opened: Mutex<HashMap<[u8; 32], (SecretString, Instant)>>,
}

fn context_map(c: &SecretContext) -> HashMap<String, String> {
    HashMap::from([
        ("owner".to_string(), c.owner.clone()),
        ("field".to_string(), c.field.clone()),
    ])
}

fn cache_key(sealed: &SealedSecret, c: &SecretContext) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in [sealed.0.as_str(), &c.owner, &c.field] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().into()
}

impl KmsCipher {
    pub fn new(client: Client, key_id: impl Into<String>) -> Self {
        Self {
            client,
            key_id: key_id.into(),
            opened: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, key: &[u8; 32]) -> Option<SecretString> {
        let cache = self.opened.lock().ok()?;
        let (value, at) = cache.get(key)?;
        (at.elapsed() < CACHE_FOR).then(|| value.clone())
    }

    fn remember(&self, key: [u8; 32], value: &SecretString) {
        if let Ok(mut cache) = self.opened.lock() {
            if cache.len() >= CACHE_SIZE {
                cache.retain(|_, (_, at)| at.elapsed() < CACHE_FOR);
                if cache.len() >= CACHE_SIZE {
                    cache.clear();
                }
            }
            cache.insert(key, (value.clone(), Instant::now()));
        }
    }
}

#[async_trait]
impl Cipher for KmsCipher {
    async fn seal(
        &self,
        plaintext: &SecretString,
        context: &SecretContext,
    ) -> Result<SealedSecret, CipherError> {
        let out = self
            .client
            .encrypt()
            .key_id(&self.key_id)
            .plaintext(Blob::new(plaintext.expose_secret().as_bytes()))
            .set_encryption_context(Some(context_map(context)))
            .send()
            .await
            .map_err(|e| CipherError::Backend(format!("kms: {}", DisplayErrorContext(&e))))?;
        let blob = out
            .ciphertext_blob
            .ok_or_else(|| CipherError::Backend("kms: no ciphertext".into()))?;
        Ok(SealedSecret(format!(
            "{PREFIX}{}",
            STANDARD.encode(blob.as_ref())
        )))
    }

    async fn open(
        &self,
        sealed: &SealedSecret,
        context: &SecretContext,
    ) -> Result<SecretString, CipherError> {
        let key = cache_key(sealed, context);
        if let Some(value) = self.cached(&key) {
            return Ok(value);
        }
        let body = sealed
            .0
            .strip_prefix(PREFIX)
            .ok_or(CipherError::Malformed)?;
        let blob = STANDARD.decode(body).map_err(|_| CipherError::Malformed)?;
        let out = self
            .client
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(blob))
            .set_encryption_context(Some(context_map(context)))
            .send()
            .await
            .map_err(|e| match &e {
                SdkError::ServiceError(se)
                    if matches!(
                        se.err(),
                        DecryptError::InvalidCiphertextException(_)
                            | DecryptError::IncorrectKeyException(_)
                    ) =>
                {
                    CipherError::Tampered
                }
                _ => CipherError::Backend(format!("kms: {}", DisplayErrorContext(&e))),
            })?;
        let plain = out
            .plaintext
            .ok_or_else(|| CipherError::Backend("kms: no plaintext".into()))?;
        let text = String::from_utf8(plain.into_inner()).map_err(|_| CipherError::Tampered)?;
        let value = SecretString::from(text);
        self.remember(key, &value);
        Ok(value)
    }
}
