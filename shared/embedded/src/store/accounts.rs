//! Accounts, with the hash of their token beside the row, and the cascade that deletes an
//! account with everything it owns.

use super::{EmbeddedStore, backend, from_json, load_with_hash, query_data, to_json};
use crate::cached;
use crate::db::Durability;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use switchboard_core::domain::account::{Account, TokenHash};
use switchboard_core::domain::ids::AccountId;
use switchboard_core::domain::page::{Page, PageRequest};
use switchboard_core::ports::{AccountStore, StoreError};

#[async_trait]
impl AccountStore for EmbeddedStore {
    async fn insert_account(&self, account: &Account, token: &TokenHash) -> Result<(), StoreError> {
        let (id, hash, data) = (account.id.to_string(), token.0.clone(), to_json(account)?);
        self.db
            .write(move |c| {
                cached::exec(
                    c,
                    "INSERT INTO accounts (id, token_hash, data) VALUES (?1, ?2, ?3)",
                    params![id, hash, data],
                )
                .map_err(backend)?;
                Ok(())
            })
            .await
    }

    async fn get_account(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        let id = id.to_string();
        self.db
            .read(move |c| {
                let data: Option<String> =
                    cached::query_row(c, "SELECT data FROM accounts WHERE id = ?1", [id], |r| {
                        r.get(0)
                    })
                    .optional()
                    .map_err(backend)?;
                data.map(|d| from_json(&d)).transpose()
            })
            .await
    }

    async fn list_accounts(&self, page: &PageRequest) -> Result<Page<Account>, StoreError> {
        let after = page.after.clone().unwrap_or_default();
        let limit = page.limit;
        self.db
            .read(move |c| {
                let items: Vec<Account> = query_data(
                    c,
                    "SELECT data FROM accounts WHERE id > ?1 ORDER BY id LIMIT ?2",
                    params![after, limit as i64 + 1],
                )?;
                Ok(Page::from_overfetch(items, limit, |a| a.id.to_string()))
            })
            .await
    }

    async fn update_account(&self, account: &Account) -> Result<bool, StoreError> {
        let (id, data) = (account.id.to_string(), to_json(account)?);
        self.db
            .write(move |c| {
                let n = cached::exec(
                    c,
                    "UPDATE accounts SET data = ?2 WHERE id = ?1",
                    params![id, data],
                )
                .map_err(backend)?;
                Ok(n == 1)
            })
            .await
    }

    async fn delete_account(&self, id: &AccountId) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.db
            .write(move |c| {
                for sql in [
                    "DELETE FROM ai_settings WHERE owner = ?1",
                    "DELETE FROM chats WHERE account_id = ?1",
                    "DELETE FROM messages WHERE account_id = ?1",
                    "DELETE FROM outbox WHERE account_id = ?1",
                    "DELETE FROM ai_logs WHERE account_id = ?1",
                    "DELETE FROM webhook_attempts
                     WHERE webhook_id IN (SELECT id FROM webhooks WHERE account_id = ?1)",
                    "DELETE FROM webhooks WHERE account_id = ?1",
                    "DELETE FROM activity WHERE account_id = ?1",
                ] {
                    cached::exec(c, sql, [&id]).map_err(backend)?;
                }
                let n = cached::exec(c, "DELETE FROM accounts WHERE id = ?1", [&id])
                    .map_err(backend)?;
                Ok(n == 1)
            })
            .await
    }

    async fn set_token_hash(&self, id: &AccountId, token: &TokenHash) -> Result<bool, StoreError> {
        let (id, hash) = (id.to_string(), token.0.clone());
        self.db
            .write(move |c| {
                let n = cached::exec(
                    c,
                    "UPDATE accounts SET token_hash = ?2 WHERE id = ?1",
                    params![id, hash],
                )
                .map_err(backend)?;
                Ok(n == 1)
            })
            .await
    }

    async fn mark_seen(&self, id: &AccountId, at: DateTime<Utc>) -> Result<(), StoreError> {
        // Fixed width, so that the text compares as the time does: only forward.
        let (id, at) = (id.to_string(), super::timestamp_key(&at));
        // Bookkeeping: losing the last one in a crash of the machine only shows an older time.
        self.db
            .write_with(Durability::Relaxed, move |c| {
                cached::exec(
                    c,
                    "UPDATE accounts SET data = json_set(data, '$.last_seen_at', ?2)
                     WHERE id = ?1 AND ifnull(json_extract(data, '$.last_seen_at') < ?2, 1)",
                    params![id, at],
                )
                .map_err(backend)?;
                Ok(())
            })
            .await
    }

    async fn account_with_token(
        &self,
        id: &AccountId,
    ) -> Result<Option<(Account, TokenHash)>, StoreError> {
        let id = id.to_string();
        self.db
            .read(move |c| {
                load_with_hash(c, "SELECT data, token_hash FROM accounts WHERE id = ?1", id)
            })
            .await
    }
}
