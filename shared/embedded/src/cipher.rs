//! AES-256-GCM with a versioned keyring. A sealed value reads `v1.<key id>.<base64 nonce+ciphertext>`;
//! the key id is a fingerprint of the key, so values sealed before a rotation still open with
//! the old key listed in `ENCRYPTION_KEYS_OLD`. The owner and field are bound in as associated
//! data, so a sealed value moved to another owner or field does not open.

use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use switchboard_core::domain::secret::SealedSecret;
use switchboard_core::ports::{Cipher, CipherError, SecretContext};

const FORMAT: &str = "v1";
const NONCE_LEN: usize = 12;

struct KeyEntry {
    id: String,
    cipher: Aes256Gcm,
}

pub struct Keyring {
    current: KeyEntry,
    old: Vec<KeyEntry>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub String);

fn entry(b64: &str) -> Result<KeyEntry, KeyError> {
    let bytes = STANDARD
        .decode(b64.trim())
        .map_err(|_| KeyError("is not valid base64".into()))?;
    if bytes.len() != 32 {
        return Err(KeyError(format!(
            "must decode to 32 bytes, got {}",
            bytes.len()
        )));
    }
    let id = hex::encode(&Sha256::digest(&bytes)[..4]);
    Ok(KeyEntry {
        id,
        cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes)),
    })
}

impl Keyring {
    /// `current`: base64 of 32 bytes (`ENCRYPTION_KEY`); `old`: comma-separated older keys
    /// (`ENCRYPTION_KEYS_OLD`).
    pub fn from_base64(current: &str, old: Option<&str>) -> Result<Self, KeyError> {
        let current = entry(current).map_err(|e| KeyError(format!("ENCRYPTION_KEY {e}")))?;
        let old = old
            .unwrap_or_default()
            .split(',')
            .filter(|k| !k.trim().is_empty())
            .map(|k| entry(k).map_err(|e| KeyError(format!("ENCRYPTION_KEYS_OLD: a key {e}"))))
            .collect::<Result<_, _>>()?;
        Ok(Self { current, old })
    }

    /// A new random key, base64-encoded, for first start.
    pub fn generate_key() -> String {
        STANDARD.encode(Aes256Gcm::generate_key(&mut OsRng))
    }

    pub fn current_key_id(&self) -> &str {
        &self.current.id
    }

    fn key(&self, id: &str) -> Option<&KeyEntry> {
        std::iter::once(&self.current)
            .chain(&self.old)
            .find(|k| k.id == id)
    }
}

fn aad(context: &SecretContext) -> Vec<u8> {
    format!("{}\u{0}{}", context.owner, context.field).into_bytes()
}

pub fn seal_sync(
    ring: &Keyring,
    plaintext: &SecretString,
    context: &SecretContext,
) -> Result<SealedSecret, CipherError> {
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let aad = aad(context);
    let payload = Payload {
        msg: plaintext.expose_secret().as_bytes(),
        aad: &aad,
    };
    let ct = ring
        .current
        .cipher
        .encrypt(&nonce, payload)
        .map_err(|_| CipherError::Backend("encryption failed".into()))?;
    let mut blob = nonce.to_vec();
    blob.extend_from_slice(&ct);
    Ok(SealedSecret(format!(
        "{FORMAT}.{}.{}",
        ring.current.id,
        STANDARD.encode(blob)
    )))
}

pub fn open_sync(
    ring: &Keyring,
    sealed: &SealedSecret,
    context: &SecretContext,
) -> Result<SecretString, CipherError> {
    let mut parts = sealed.0.splitn(3, '.');
    let (Some(FORMAT), Some(key_id), Some(data)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(CipherError::Malformed);
    };
    let key = ring
        .key(key_id)
        .ok_or_else(|| CipherError::UnknownKey(key_id.to_string()))?;
    let blob = STANDARD.decode(data).map_err(|_| CipherError::Malformed)?;
    if blob.len() < NONCE_LEN + 16 {
        return Err(CipherError::Malformed);
    }
    let (nonce, ct) = blob.split_at(NONCE_LEN);
    let aad = aad(context);
    let plain = key
        .cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: &aad })
        .map_err(|_| CipherError::Tampered)?;
    String::from_utf8(plain)
        .map(SecretString::from)
        .map_err(|_| CipherError::Malformed)
}

#[async_trait]
impl Cipher for Keyring {
    async fn seal(
        &self,
        plaintext: &SecretString,
        context: &SecretContext,
    ) -> Result<SealedSecret, CipherError> {
        seal_sync(self, plaintext, context)
    }

    async fn open(
        &self,
        sealed: &SealedSecret,
        context: &SecretContext,
    ) -> Result<SecretString, CipherError> {
        open_sync(self, sealed, context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(owner: &str) -> SecretContext {
        SecretContext::new(owner, "ai.api_key")
    }

    #[test]
    fn rotation_keeps_old_values_readable() {
        let k1 = Keyring::generate_key();
        let k2 = Keyring::generate_key();
        let before = Keyring::from_base64(&k1, None).expect("key");
        let sealed =
            seal_sync(&before, &SecretString::from("sk-123"), &ctx("global")).expect("seal");
        assert!(
            sealed
                .0
                .starts_with(&format!("v1.{}.", before.current_key_id()))
        );
        assert!(!sealed.0.contains("sk-123"));

        let after = Keyring::from_base64(&k2, Some(&k1)).expect("keys");
        let opened = open_sync(&after, &sealed, &ctx("global")).expect("open");
        assert_eq!(opened.expose_secret(), "sk-123");
        let resealed = seal_sync(&after, &opened, &ctx("global")).expect("seal");
        assert!(
            resealed
                .0
                .starts_with(&format!("v1.{}.", after.current_key_id()))
        );

        let forgotten = Keyring::from_base64(&k2, None).expect("key");
        assert!(matches!(
            open_sync(&forgotten, &sealed, &ctx("global")),
            Err(CipherError::UnknownKey(_))
        ));
    }

    #[test]
    fn a_value_does_not_open_for_another_owner_or_when_altered() {
        let ring = Keyring::from_base64(&Keyring::generate_key(), None).expect("key");
        let sealed = seal_sync(&ring, &SecretString::from("secret"), &ctx("acc_1")).expect("seal");
        assert!(matches!(
            open_sync(&ring, &sealed, &ctx("acc_2")),
            Err(CipherError::Tampered)
        ));
        let mut altered = sealed.0.clone();
        altered.pop();
        altered.push(if sealed.0.ends_with('A') { 'B' } else { 'A' });
        assert!(open_sync(&ring, &SealedSecret(altered), &ctx("acc_1")).is_err());
        assert!(matches!(
            open_sync(&ring, &SealedSecret("garbage".into()), &ctx("acc_1")),
            Err(CipherError::Malformed)
        ));
    }

    #[test]
    fn bad_keys_are_named() {
        assert!(Keyring::from_base64("short", None).is_err());
        let e = Keyring::from_base64(&Keyring::generate_key(), Some("AAAA"))
            .err()
            .map(|e| e.0);
        assert!(e.is_some_and(|m| m.contains("ENCRYPTION_KEYS_OLD")));
    }
}
