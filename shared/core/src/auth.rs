//! Credentials: admin JWTs (HS256 only, `exp` required, role checked) and account tokens
//! (256 random bits, stored as SHA-256, compared in constant time).

use crate::domain::account::{Account, TokenHash};
use crate::domain::ids::{AccountId, ApiKeyId};
use crate::settings::Settings;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

pub const ADMIN_ROLE: &str = "admin";

#[derive(Debug, Serialize, Deserialize)]
pub struct AdminClaims {
    pub sub: String,
    pub role: String,
    pub exp: i64,
    pub iat: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}

/// Mints and verifies admin JWTs with the one configured HMAC secret.
pub struct AdminTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: Option<String>,
    audience: Option<String>,
}

impl AdminTokens {
    pub fn new(settings: &Settings) -> Self {
        // HS256 alone (`hs256`); an Err means it is installed already.
        let _ = crate::hs256::PROVIDER.install_default();
        let secret = settings.admin_jwt_secret.expose_secret().as_bytes();
        // Pinned to HS256: `none`, and RS*/ES* tokens that try to use the HMAC secret as a
        // public key, are refused before any signature check.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = 5;
        match &settings.admin_jwt_issuer {
            Some(iss) => validation.set_issuer(&[iss]),
            None => validation.iss = None,
        }
        match &settings.admin_jwt_audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: settings.admin_jwt_issuer.clone(),
            audience: settings.admin_jwt_audience.clone(),
        }
    }

    pub fn mint(
        &self,
        subject: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<(String, DateTime<Utc>), String> {
        let ttl = chrono::Duration::from_std(ttl).map_err(|e| e.to_string())?;
        let expires = now + ttl;
        let claims = AdminClaims {
            sub: subject.to_string(),
            role: ADMIN_ROLE.to_string(),
            exp: expires.timestamp(),
            iat: now.timestamp(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map(|token| (token, expires))
            .map_err(|e| e.to_string())
    }

    /// The subject of a valid admin token; `None` for anything else (bad signature, expired,
    /// another algorithm, missing claims, another role).
    pub fn verify(&self, token: &str) -> Option<String> {
        let data =
            jsonwebtoken::decode::<AdminClaims>(token, &self.decoding, &self.validation).ok()?;
        (data.claims.role == ADMIN_ROLE).then_some(data.claims.sub)
    }
}

const ACCOUNT_TOKEN_PREFIX: &str = "sbt_";
const API_KEY_PREFIX: &str = "sbk_";

/// A new account token: `sbt_<account id>_<43 chars of 256 random bits>`. The account id in it
/// lets the check look the account up by id and compare hashes in constant time, instead of
/// searching the store by a secret.
pub fn new_account_token(account: &AccountId) -> (SecretString, TokenHash) {
    secret_naming(ACCOUNT_TOKEN_PREFIX, account.as_str())
}

/// A new client API key, `sbk_<key id>_<43 chars of 256 random bits>`, like an account token.
pub fn new_api_key(id: &ApiKeyId) -> (SecretString, TokenHash) {
    secret_naming(API_KEY_PREFIX, id.as_str())
}

fn secret_naming(prefix: &str, id: &str) -> (SecretString, TokenHash) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("{prefix}{id}_{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_token(&token);
    (SecretString::from(token), hash)
}

pub fn hash_token(token: &str) -> TokenHash {
    TokenHash(hex::encode(Sha256::digest(token.as_bytes())))
}

/// The id a token names after `prefix`, `id_len` characters long, if it has the shape.
fn named_id<'t>(token: &'t str, prefix: &str, id_len: usize) -> Option<&'t str> {
    let rest = token.strip_prefix(prefix)?;
    // The secret's alphabet includes `_`, so split by the id's fixed length, not by `_`.
    let id = rest.get(..id_len)?;
    let secret = rest.get(id_len..)?.strip_prefix('_')?;
    (secret.len() == 43).then_some(id)
}

/// The account a token claims to belong to, if it has the shape of an account token.
pub fn account_of_token(token: &str) -> Option<AccountId> {
    AccountId::parse(named_id(
        token,
        ACCOUNT_TOKEN_PREFIX,
        AccountId::PREFIX.len() + 26,
    )?)
}

/// The API key a token claims to be, if it has the shape of one.
pub fn api_key_of_token(token: &str) -> Option<ApiKeyId> {
    ApiKeyId::parse(named_id(
        token,
        API_KEY_PREFIX,
        ApiKeyId::PREFIX.len() + 26,
    )?)
}

pub fn token_matches(token: &str, stored: &TokenHash) -> bool {
    hash_token(token)
        .0
        .as_bytes()
        .ct_eq(stored.0.as_bytes())
        .into()
}

/// Compares a login password without leaking its length or content through timing.
pub fn password_matches(given: &str, expected: &SecretString) -> bool {
    let a = Sha256::digest(given.as_bytes());
    let b = Sha256::digest(expected.expose_secret().as_bytes());
    a.ct_eq(&b).into()
}

/// Who is calling: an admin, or an account (loaded with its token, which is checked against
/// the account's own row).
#[derive(Debug, Clone, PartialEq)]
pub enum Caller {
    Admin { subject: String },
    Account(Box<Account>),
}

/// Slows down password guessing: at most `LIMIT` failed logins per `WINDOW` per process.
pub struct LoginThrottle {
    failures: Mutex<VecDeque<Instant>>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self {
            failures: Mutex::new(VecDeque::new()),
        }
    }
}

impl LoginThrottle {
    const LIMIT: usize = 10;
    const WINDOW: Duration = Duration::from_secs(60);

    /// Seconds to wait before trying again, if the limit is reached.
    pub fn retry_after(&self) -> Option<u64> {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        while failures
            .front()
            .is_some_and(|t| now.duration_since(*t) > Self::WINDOW)
        {
            failures.pop_front();
        }
        (failures.len() >= Self::LIMIT).then(|| {
            let oldest = failures.front().copied().unwrap_or(now);
            Self::WINDOW
                .saturating_sub(now.duration_since(oldest))
                .as_secs()
                .max(1)
        })
    }

    pub fn record_failure(&self) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.push_back(Instant::now());
        if failures.len() > Self::LIMIT * 2 {
            failures.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ai_settings::EnvAi;

    fn url(u: &str) -> crate::domain::validation::HttpUrl {
        crate::domain::validation::HttpUrl::parse("u", u).expect("url")
    }

    fn settings() -> Settings {
        Settings {
            admin_jwt_secret: SecretString::from("0123456789abcdef0123456789abcdef"),
            admin_jwt_issuer: None,
            admin_jwt_audience: None,
            admin_password: None,
            allow_private_network_urls: true,
            env_ai: EnvAi::default(),
            webhooks: Default::default(),
            providers: crate::settings::ProviderSettings {
                public_api_url: None,
                ingest_url: None,
                whatsapp_api_base_url: url("https://graph.facebook.com"),
                whatsapp_api_version: "v23.0".into(),
                telegram_api_base_url: url("https://api.telegram.org"),
            },
            media_memory_bytes: 1 << 20,
        }
    }

    #[test]
    fn a_minted_token_verifies_and_an_expired_one_does_not() {
        let tokens = AdminTokens::new(&settings());
        let (t, _) = tokens
            .mint("ops", Utc::now(), Duration::from_secs(60))
            .expect("mint");
        assert_eq!(tokens.verify(&t).as_deref(), Some("ops"));
        let (old, _) = tokens
            .mint(
                "ops",
                Utc::now() - chrono::Duration::hours(2),
                Duration::from_secs(60),
            )
            .expect("mint");
        assert_eq!(tokens.verify(&old), None);
    }

    #[test]
    fn other_algorithms_roles_and_secrets_are_refused() {
        let tokens = AdminTokens::new(&settings());
        let exp = (Utc::now() + chrono::Duration::hours(1)).timestamp();
        let b64 = |v: serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let payload = b64(serde_json::json!({"sub": "x", "role": "admin", "exp": exp}));
        let none = format!(
            "{}.{payload}.",
            b64(serde_json::json!({"alg": "none", "typ": "JWT"}))
        );
        assert_eq!(tokens.verify(&none), None);

        let claims = serde_json::json!({"sub": "x", "role": "user", "exp": exp});
        let key = EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef");
        let user =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).expect("encode");
        assert_eq!(tokens.verify(&user), None);

        let no_exp = serde_json::json!({"sub": "x", "role": "admin"});
        let t =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &no_exp, &key).expect("encode");
        assert_eq!(tokens.verify(&t), None);

        let claims = serde_json::json!({"sub": "x", "role": "admin", "exp": exp});
        let other = EncodingKey::from_secret(b"another secret entirely, 32 bytes!!");
        let t =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &other).expect("encode");
        assert_eq!(tokens.verify(&t), None);
        // HS512 with the right secret, signed by hand: this process signs HS256 only.
        use hmac::Mac;
        let signed = format!(
            "{}.{}",
            b64(serde_json::json!({"alg": "HS512"})),
            b64(claims)
        );
        let mut mac =
            hmac::Hmac::<sha2::Sha512>::new_from_slice(b"0123456789abcdef0123456789abcdef")
                .expect("key");
        mac.update(signed.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        assert_eq!(tokens.verify(&format!("{signed}.{signature}")), None);
        assert!(
            jsonwebtoken::encode(&Header::new(Algorithm::HS512), &no_exp, &key).is_err(),
            "nor does it sign anything but HS256"
        );
    }

    #[test]
    fn account_tokens_name_their_account_and_match_their_hash() {
        let id = AccountId::from_trusted("acc_01JABCDEFGHJKMNPQRSTVWXYZ0");
        let (token, hash) = new_account_token(&id);
        let token = token.expose_secret();
        assert_eq!(account_of_token(token), Some(id.clone()));
        assert!(token_matches(token, &hash));
        let (other, _) = new_account_token(&id);
        assert!(!token_matches(other.expose_secret(), &hash));
        assert_eq!(account_of_token("sbt_garbage"), None);
        let key = ApiKeyId::from_trusted("key_01JABCDEFGHJKMNPQRSTVWXYZ0");
        let (secret, hash) = new_api_key(&key);
        assert_eq!(api_key_of_token(secret.expose_secret()), Some(key));
        assert!(token_matches(secret.expose_secret(), &hash));
        assert_eq!(account_of_token(secret.expose_secret()), None);
    }

    #[test]
    fn the_login_throttle_closes_after_ten_failures() {
        let t = LoginThrottle::default();
        for _ in 0..10 {
            assert_eq!(t.retry_after(), None);
            t.record_failure();
        }
        assert!(t.retry_after().is_some_and(|s| (1..=60).contains(&s)));
    }
}
