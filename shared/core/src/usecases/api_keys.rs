//! Client API keys: created (the key shown once, stored as a hash), listed, deleted (refused at
//! once: every request reads the key), and the caller a key authenticates.

use crate::auth;
use crate::domain::api_key::{ApiKey, Policy, Scope};
use crate::domain::audit::{AuditAction, AuditEntry, AuditOutcome};
use crate::domain::ids::{ApiKeyId, AuditId};
use crate::domain::page::{Page, PageRequest};
use crate::error::AppError;
use crate::services::Services;
use crate::usecases::accounts;
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

/// An audit row of `action` by `actor` about `key`, to be filled in by the caller.
pub fn audit_row(
    s: &Services,
    actor: String,
    key: Option<&ApiKeyId>,
    action: AuditAction,
    outcome: AuditOutcome,
) -> AuditEntry {
    AuditEntry {
        id: AuditId::from_ulid(s.ids.next_ulid()),
        at: s.clock.now(),
        actor,
        key_id: key.cloned(),
        action,
        outcome,
        code: None,
        reason: None,
        phone_id: None,
        channel: None,
        to: None,
        message_id: None,
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
    let audit = audit_row(
        s,
        format!("admin:{admin}"),
        Some(&key.id),
        AuditAction::KeyCreate,
        AuditOutcome::Accepted,
    );
    s.store.insert_api_key(&key, &hash, &audit).await?;
    Ok((key, secret))
}

pub async fn list(s: &Services, page: &PageRequest) -> Result<Page<ApiKey>, AppError> {
    Ok(s.store.list_api_keys(page).await?)
}

pub async fn delete(s: &Services, admin: &str, id: &ApiKeyId) -> Result<(), AppError> {
    let audit = audit_row(
        s,
        format!("admin:{admin}"),
        Some(id),
        AuditAction::KeyDelete,
        AuditOutcome::Accepted,
    );
    if s.store.delete_api_key(id, &audit).await? {
        Ok(())
    } else {
        Err(AppError::NotFound("api key"))
    }
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
