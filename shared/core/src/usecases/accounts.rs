//! Accounts: create, change, rotate the token, delete; and checking an account token.

use crate::auth;
use crate::domain::account::Account;
use crate::domain::ids::AccountId;
use crate::domain::page::{Page, PageRequest};
use crate::domain::provider::{ProviderConfigPatch, ProviderKind, StoredProviderConfig};
use crate::error::AppError;
use crate::ports::SecretContext;
use crate::services::Services;
use secrecy::SecretString;

pub struct NewAccount {
    pub name: String,
    pub provider: ProviderKind,
    pub provider_config: ProviderConfigPatch,
}

pub struct CreatedAccount {
    pub account: Account,
    pub token: SecretString,
}

pub async fn create(s: &Services, input: NewAccount) -> Result<CreatedAccount, AppError> {
    let id = AccountId::from_ulid(s.ids.next_ulid());
    let now = s.clock.now();
    let provider_config = apply_provider_patch(
        s,
        &id,
        StoredProviderConfig::default(),
        input.provider_config,
    )
    .await?;
    let account = Account {
        id: id.clone(),
        name: input.name,
        provider: input.provider,
        provider_config,
        created_at: now,
        updated_at: now,
    };
    let (token, hash) = auth::new_account_token(&id);
    s.store.insert_account(&account, &hash).await?;
    Ok(CreatedAccount { account, token })
}

pub async fn get(s: &Services, id: &AccountId) -> Result<Account, AppError> {
    s.store
        .get_account(id)
        .await?
        .ok_or(AppError::NotFound("account"))
}

pub async fn list(s: &Services, page: &PageRequest) -> Result<Page<Account>, AppError> {
    Ok(s.store.list_accounts(page).await?)
}

pub async fn update(
    s: &Services,
    id: &AccountId,
    name: Option<String>,
    provider_config: Option<serde_json::Value>,
) -> Result<Account, AppError> {
    let mut account = get(s, id).await?;
    // The provider decides which fields are valid, so the patch is checked against it here.
    if let Some(config) = provider_config {
        let patch = ProviderConfigPatch::parse(account.provider, Some(&config), false)?;
        account.provider_config =
            apply_provider_patch(s, id, account.provider_config, patch).await?;
    }
    if let Some(name) = name {
        account.name = name;
    }
    account.updated_at = s.clock.now();
    if !s.store.update_account(&account).await? {
        return Err(AppError::NotFound("account"));
    }
    Ok(account)
}

pub async fn rotate_token(s: &Services, id: &AccountId) -> Result<SecretString, AppError> {
    let (token, hash) = auth::new_account_token(id);
    if !s.store.set_token_hash(id, &hash).await? {
        return Err(AppError::NotFound("account"));
    }
    Ok(token)
}

pub async fn delete(s: &Services, id: &AccountId) -> Result<(), AppError> {
    if s.store.delete_account(id).await? {
        Ok(())
    } else {
        Err(AppError::NotFound("account"))
    }
}

/// The account an account token belongs to, or `None` when it is not a current token.
pub async fn authenticate(s: &Services, token: &str) -> Result<Option<AccountId>, AppError> {
    let Some(account) = auth::account_of_token(token) else {
        return Ok(None);
    };
    let stored = s.store.token_hash(&account).await?;
    Ok(stored
        .filter(|hash| auth::token_matches(token, hash))
        .map(|_| account))
}

/// Applies a provider config change, sealing new secrets bound to this account and field.
async fn apply_provider_patch(
    s: &Services,
    id: &AccountId,
    mut stored: StoredProviderConfig,
    patch: ProviderConfigPatch,
) -> Result<StoredProviderConfig, AppError> {
    for (field, value) in patch.fields {
        match value {
            Some(v) => stored.fields.insert(field.to_string(), v),
            None => stored.fields.remove(field),
        };
    }
    for (field, value) in patch.secrets {
        match value {
            Some(plain) => {
                let context = SecretContext::new(id.as_str(), format!("provider_config.{field}"));
                let sealed = s.cipher.seal(&SecretString::from(plain), &context).await?;
                stored.secrets.insert(field.to_string(), sealed);
            }
            None => {
                stored.secrets.remove(field);
            }
        }
    }
    Ok(stored)
}
