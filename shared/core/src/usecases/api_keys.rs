//! Client API keys: created (the key shown once, stored as a hash), listed, deleted (refused at
//! once: every request reads the key), and the caller a key authenticates.

use crate::auth;
use crate::domain::api_key::{ApiKey, Policy, Scope};
use crate::domain::audit::AuditAction;
use crate::domain::ids::ApiKeyId;
use crate::domain::page::{Page, PageRequest};
use crate::error::AppError;
use crate::services::Services;
use crate::usecases::accounts;
use crate::usecases::audit::Audit;
use secrecy::SecretString;

/// Who calls the client API: a key, with its policy, or an admin (who may read, confirm and
/// cancel any key's messages).
#[derive(Debug, Clone, PartialEq)]
pub enum Client {
    Key(Box<ApiKey>),
    Admin { subject: String },
}

impl Client {
    pub fn actor(&self) -> String {
        match self {
            Client::Key(key) => format!("key:{}", key.id),
            Client::Admin { subject } => format!("admin:{subject}"),
        }
    }

    pub fn key_id(&self) -> Option<&ApiKeyId> {
        match self {
            Client::Key(key) => Some(&key.id),
            Client::Admin { .. } => None,
        }
    }
}

pub async fn create(
    s: &Services,
    admin: &str,
    name: String,
    policy: Policy,
) -> Result<(ApiKey, SecretString), AppError> {
    if let Scope::Only(phones) = &policy.phones {
        for phone in phones {
            accounts::require(s, phone).await?;
        }
    }
    let key = ApiKey {
        id: ApiKeyId::from_ulid(s.ids.next_ulid()),
        name,
        policy,
        created_at: s.clock.now(),
    };
    let (secret, hash) = auth::new_api_key(&key.id);
    let mut audit = Audit::new(
        s,
        format!("admin:{admin}"),
        Some(&key.id),
        AuditAction::KeyCreate,
    );
    let inserted = s.store.insert_api_key(&key, &hash, audit.handed()).await;
    audit.settle(s, inserted.map_err(AppError::from)).await?;
    Ok((key, secret))
}

pub async fn list(s: &Services, page: &PageRequest) -> Result<Page<ApiKey>, AppError> {
    Ok(s.store.list_api_keys(page).await?)
}

pub async fn delete(s: &Services, admin: &str, id: &ApiKeyId) -> Result<(), AppError> {
    let mut audit = Audit::new(
        s,
        format!("admin:{admin}"),
        Some(id),
        AuditAction::KeyDelete,
    );
    let deleted = match s.store.delete_api_key(id, audit.handed()).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(AppError::NotFound("api key")),
        Err(e) => Err(e.into()),
    };
    audit.settle(s, deleted).await
}

/// The key a bearer token is, if it is a live key.
pub async fn authenticate(s: &Services, token: &str) -> Result<Option<ApiKey>, AppError> {
    let Some(id) = auth::api_key_of_token(token) else {
        return Ok(None);
    };
    let stored = s.store.api_key_with_hash(&id).await?;
    Ok(stored
        .filter(|(_, hash)| auth::token_matches(token, hash))
        .map(|(key, _)| key))
}
