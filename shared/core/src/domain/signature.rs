//! Webhook signatures per the Standard Webhooks specification: the secret is `whsec_` and
//! base64 of its key bytes; the signature is `v1,` and base64 of HMAC-SHA256 over
//! `{id}.{timestamp}.{body}`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

pub const SECRET_PREFIX: &str = "whsec_";

/// A new secret: 24 random bytes, as svix and the spec's examples use.
pub fn new_secret() -> SecretString {
    let mut key = [0u8; 24];
    rand::rng().fill_bytes(&mut key);
    SecretString::from(format!("{SECRET_PREFIX}{}", STANDARD.encode(key)))
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a webhook secret is `whsec_` followed by base64")]
pub struct BadSecret;

/// The value of the `webhook-signature` header.
pub fn sign(
    secret: &SecretString,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, BadSecret> {
    let encoded = secret
        .expose_secret()
        .strip_prefix(SECRET_PREFIX)
        .ok_or(BadSecret)?;
    let key = STANDARD.decode(encoded).map_err(|_| BadSecret)?;
    sign_with_key(&key, id, timestamp, body)
}

/// `sign`, with the key's bytes; for a peer whose secret is not in the `whsec_` form (a
/// bridge's, which its operator chose), the secret's own bytes are the key.
pub fn sign_with_key(
    key: &[u8],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, BadSecret> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|_| BadSecret)?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_vector_of_the_specification() {
        // From the Standard Webhooks specification and its reference libraries' tests.
        let secret = SecretString::from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let signature = sign(
            &secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        )
        .expect("sign");
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_new_secret_has_the_prefix_and_signs() {
        let secret = new_secret();
        assert!(secret.expose_secret().starts_with(SECRET_PREFIX));
        let key = STANDARD
            .decode(&secret.expose_secret()[SECRET_PREFIX.len()..])
            .expect("base64");
        assert_eq!(key.len(), 24);
        assert_ne!(new_secret().expose_secret(), secret.expose_secret());
        assert!(sign(&secret, "evt_1", 1, b"{}").is_ok());
        assert_eq!(
            sign(&SecretString::from("nope"), "evt_1", 1, b"{}"),
            Err(BadSecret)
        );
    }
}
