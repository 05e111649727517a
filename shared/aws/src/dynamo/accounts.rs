//! Accounts, with the hash of their token in the same item (read through the configuration
//! cache), and the cascade that deletes an account with everything it owns.

use super::item::{self, Item, data, get_s, json, key, s};
use super::keys::{self, ACCOUNT_SK, ACCOUNTS, GSI1, GSI1PK, GSI1SK, PK, SK};
use super::{DynamoStore, held, names, values};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use switchboard_core::domain::account::{Account, TokenHash};
use switchboard_core::domain::ids::AccountId;
use switchboard_core::domain::page::{Page, PageRequest};
use switchboard_core::ports::{AccountStore, StoreError};

const TOKEN_HASH: &str = "token_hash";

const LAST_SEEN: &str = "last_seen_at";

pub(super) fn account_key(id: &AccountId) -> Item {
    key(keys::account(id), ACCOUNT_SK)
}

/// The account of an item: `data`, with the time its phone was last seen (an attribute
/// updated in place) laid over it.
pub(super) fn account_from(row: &Item) -> Result<Account, StoreError> {
    let mut account: Account = data(row)?;
    if let Some(seen) = get_s(row, LAST_SEEN) {
        account.last_seen_at = Some(item::parse_timestamp(seen)?);
    }
    Ok(account)
}

impl DynamoStore {
    /// The account's item from the configuration cache, else read (consistently).
    async fn cached_account(&self, id: &AccountId) -> Result<Option<Item>, StoreError> {
        let [row]: [Option<Item>; 1] = self
            .config_items(&[account_key(id)])
            .await?
            .try_into()
            .map_err(|_| StoreError::Backend("account read came back short".into()))?;
        Ok(row)
    }

    /// One conditional update of an account's item, which the configuration cache forgets
    /// first; whether its condition held.
    async fn update_account(
        &self,
        id: &AccountId,
        update: &str,
        condition: &str,
        name: (&str, &str),
        value: AttributeValue,
    ) -> Result<bool, StoreError> {
        self.forget_config(&account_key(id));
        held(
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(account_key(id)))
                .update_expression(update)
                .condition_expression(condition)
                .set_expression_attribute_names(names([name]))
                .set_expression_attribute_values(values([(":t", value)]))
                .send()
                .await,
        )
    }
}

#[async_trait]
impl AccountStore for DynamoStore {
    async fn insert_account(&self, account: &Account, token: &TokenHash) -> Result<(), StoreError> {
        self.forget_config(&account_key(&account.id));
        let mut row = account_key(&account.id);
        row.extend(item::item([
            (item::DATA, json(account)?),
            (TOKEN_HASH, s(&token.0)),
            (GSI1PK, s(ACCOUNTS)),
            (GSI1SK, s(account.id.as_str())),
        ]));
        if self
            .put_if(row, "attribute_not_exists(pk)", None, None)
            .await?
        {
            Ok(())
        } else {
            Err(StoreError::Conflict(format!(
                "account {} exists",
                account.id
            )))
        }
    }

    async fn get_account(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        self.get(account_key(id))
            .await?
            .as_ref()
            .map(account_from)
            .transpose()
    }

    async fn list_accounts(&self, page: &PageRequest) -> Result<Page<Account>, StoreError> {
        let items = self
            .query_up_to(
                self.after_in_index(ACCOUNTS, page.after.as_deref()),
                page.limit + 1,
            )
            .await?;
        Ok(Page::from_overfetch(
            items.iter().map(account_from).collect::<Result<_, _>>()?,
            page.limit,
            |a: &Account| a.id.to_string(),
        ))
    }

    async fn update_account(&self, account: &Account) -> Result<bool, StoreError> {
        self.forget_config(&account_key(&account.id));
        held(
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(account_key(&account.id)))
                .update_expression("SET #d = :d")
                .condition_expression("attribute_exists(pk)")
                .set_expression_attribute_names(names([("#d", item::DATA)]))
                .set_expression_attribute_values(values([(":d", json(account)?)]))
                .send()
                .await,
        )
    }

    /// Everything the account owns, then the account itself, so a delete that stops halfway
    /// is finished by the next one.
    async fn delete_account(&self, id: &AccountId) -> Result<bool, StoreError> {
        self.forget_config(&account_key(id));
        self.forget_config(&super::ai_settings::account_settings_key(id));
        let Some(_) = self.get(account_key(id)).await? else {
            return Ok(false);
        };
        let owned = self.partition_keys(&keys::account(id)).await?;
        // The chats are found through the index of the chat list, then each chat's partition
        // (the chat, its messages and log rows) goes.
        let chats = self
            .query_all(
                self.query()
                    .index_name(GSI1)
                    .key_condition_expression("gsi1pk = :p")
                    .expression_attribute_values(":p", s(keys::chats_of(id)))
                    .projection_expression("pk"),
            )
            .await?;
        for chat in &chats {
            if let Some(pk) = get_s(chat, PK) {
                let inside = self.partition_keys(pk).await?;
                self.delete_all(inside).await?;
            }
        }
        // A relay phone's outbox.
        let outbox = self.partition_keys(&keys::outbox(id)).await?;
        self.delete_all(outbox).await?;
        let activity = self.partition_keys(&keys::activity(id)).await?;
        self.delete_all(activity).await?;
        let webhooks = self
            .query_all(
                self.query()
                    .index_name(GSI1)
                    .key_condition_expression("gsi1pk = :p")
                    .filter_expression("account_id = :a")
                    .expression_attribute_values(":p", s(keys::WEBHOOKS))
                    .expression_attribute_values(":a", s(id.as_str())),
            )
            .await?;
        for w in webhooks {
            if let Some(pk) = get_s(&w, PK) {
                let inside = self.partition_keys(pk).await?;
                self.delete_all(inside).await?;
            }
        }
        let (account, rest): (Vec<Item>, Vec<Item>) = owned
            .into_iter()
            .partition(|k| get_s(k, SK) == Some(ACCOUNT_SK));
        self.delete_all(rest).await?;
        self.delete_all(account).await?;
        Ok(true)
    }

    async fn set_token_hash(&self, id: &AccountId, token: &TokenHash) -> Result<bool, StoreError> {
        let update = "SET #t = :t";
        let exists = "attribute_exists(pk)";
        self.update_account(id, update, exists, ("#t", TOKEN_HASH), s(&token.0))
            .await
    }

    async fn mark_seen(&self, id: &AccountId, at: DateTime<Utc>) -> Result<(), StoreError> {
        // Only forward, and only on an account that exists.
        self.update_account(
            id,
            "SET #l = :t",
            "attribute_exists(pk) AND (attribute_not_exists(#l) OR #l < :t)",
            ("#l", LAST_SEEN),
            s(item::timestamp(&at)),
        )
        .await
        .map(|_| ())
    }

    /// From the configuration cache: a change made elsewhere is seen within its freshness.
    async fn recent_account(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        self.cached_account(id)
            .await?
            .as_ref()
            .map(account_from)
            .transpose()
    }

    /// From the configuration cache: a rotated token stops working here at once, and in other
    /// warm functions within the cache's freshness (seconds).
    async fn account_with_token(
        &self,
        id: &AccountId,
    ) -> Result<Option<(Account, TokenHash)>, StoreError> {
        let Some(row) = self.cached_account(id).await? else {
            return Ok(None);
        };
        let Some(hash) = get_s(&row, TOKEN_HASH) else {
            return Ok(None);
        };
        Ok(Some((account_from(&row)?, TokenHash(hash.to_string()))))
    }
}
