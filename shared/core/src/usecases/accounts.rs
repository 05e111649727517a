//! Accounts: create, change, rotate the token, delete; checking an account token; and opening an
//! account's provider configuration for the moment a provider needs it.

use crate::auth;
use crate::domain::account::Account;
use crate::domain::ids::AccountId;
use crate::domain::page::{Page, PageRequest};
use crate::domain::patch::Change;
use crate::domain::provider::{
    OpenedConfig, ProviderConfigPatch, ProviderKind, StoredProviderConfig,
};
use crate::error::AppError;
use crate::ports::{ProviderAccount, SecretContext};
use crate::services::Services;
use secrecy::SecretString;
use std::collections::BTreeMap;

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
    let mut patch = input.provider_config;
    patch.generate_missing(input.provider);
    let provider_config =
        apply_provider_patch(s, &id, StoredProviderConfig::default(), patch).await?;
    let account = Account {
        id: id.clone(),
        name: input.name,
        provider: input.provider,
        provider_config,
        created_at: now,
        updated_at: now,
        last_seen_at: None,
        consent: Default::default(),
    };
    let (token, hash) = auth::new_account_token(&id);
    s.store.insert_account(&account, &hash).await?;
    Ok(CreatedAccount { account, token })
}

/// The account, or 404: what every route and use-case about one account starts with.
pub async fn require(s: &Services, id: &AccountId) -> Result<Account, AppError> {
    s.store
        .get_account(id)
        .await?
        .ok_or(AppError::NotFound("account"))
}

pub async fn list(s: &Services, page: &PageRequest) -> Result<Page<Account>, AppError> {
    Ok(s.store.list_accounts(page).await?)
}

/// A change to an account's consent words; `None` keeps a list.
#[derive(Debug, Default)]
pub struct ConsentChange {
    pub opt_out_keywords: Option<Vec<String>>,
    pub opt_in_keywords: Option<Vec<String>>,
    pub opt_out_reply: Change<String>,
}

pub async fn update(
    s: &Services,
    mut account: Account,
    name: Option<String>,
    provider_config: Option<serde_json::Value>,
    consent: ConsentChange,
) -> Result<Account, AppError> {
    // The provider decides which fields are valid, so the patch is checked against it here.
    if let Some(config) = provider_config {
        let patch = ProviderConfigPatch::parse(account.provider, Some(&config), false)?;
        let stored = std::mem::take(&mut account.provider_config);
        account.provider_config = apply_provider_patch(s, &account.id, stored, patch).await?;
    }
    if let Some(name) = name {
        account.name = name;
    }
    if let Some(words) = consent.opt_out_keywords {
        account.consent.opt_out_keywords = words;
    }
    if let Some(words) = consent.opt_in_keywords {
        account.consent.opt_in_keywords = words;
    }
    consent
        .opt_out_reply
        .apply_to(&mut account.consent.opt_out_reply);
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
pub async fn authenticate(s: &Services, token: &str) -> Result<Option<Account>, AppError> {
    let Some(id) = auth::account_of_token(token) else {
        return Ok(None);
    };
    let stored = s.store.account_with_token(&id).await?;
    Ok(stored
        .filter(|(_, hash)| auth::token_matches(token, hash))
        .map(|(account, _)| account))
}

/// The account as its provider sees it, with its secrets opened.
pub async fn open(s: &Services, account: &Account) -> Result<ProviderAccount, AppError> {
    let stored = &account.provider_config;
    let mut config = OpenedConfig {
        fields: stored.fields.clone(),
        secrets: BTreeMap::new(),
    };
    for (field, sealed) in &stored.secrets {
        let opened = s
            .cipher
            .open(sealed, &secret_context(&account.id, field))
            .await?;
        config.secrets.insert(field.clone(), opened);
    }
    Ok(ProviderAccount {
        id: account.id.clone(),
        kind: account.provider,
        config,
    })
}

/// Binds a provider secret to its account and field.
fn secret_context(account: &AccountId, field: &str) -> SecretContext {
    SecretContext::new(account.as_str(), format!("provider_config.{field}"))
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
                let context = secret_context(id, field);
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
