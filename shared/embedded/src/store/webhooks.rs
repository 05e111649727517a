//! Webhook subscriptions and the record of their delivery attempts.

use super::{EmbeddedStore, backend, load, query_data, to_json};
use crate::cached;
use async_trait::async_trait;
use rusqlite::params;
use switchboard_core::domain::ids::WebhookId;
use switchboard_core::domain::page::{Page, PageRequest};
use switchboard_core::domain::webhook::{DeliveryAttempt, Subscription};
use switchboard_core::ports::{StoreError, WebhookStore};

fn columns(w: &Subscription) -> Result<(String, Option<String>, bool, String), StoreError> {
    Ok((
        w.id.to_string(),
        w.account_id.as_ref().map(|a| a.to_string()),
        w.disabled,
        to_json(w)?,
    ))
}

#[async_trait]
impl WebhookStore for EmbeddedStore {
    async fn insert_webhook(&self, webhook: &Subscription) -> Result<(), StoreError> {
        let (id, account, disabled, data) = columns(webhook)?;
        self.db
            .write(move |c| {
                cached::exec(
                    c,
                    "INSERT INTO webhooks (id, account_id, disabled, data) VALUES (?1, ?2, ?3, ?4)",
                    params![id, account, disabled, data],
                )
                .map_err(backend)?;
                Ok(())
            })
            .await
    }

    async fn get_webhook(&self, id: &WebhookId) -> Result<Option<Subscription>, StoreError> {
        let id = id.to_string();
        self.db
            .read(move |c| load(c, "SELECT data FROM webhooks WHERE id = ?1", [id]))
            .await
    }

    async fn list_webhooks(&self, page: &PageRequest) -> Result<Page<Subscription>, StoreError> {
        let after = page.after.clone().unwrap_or_default();
        let limit = page.limit;
        self.db
            .read(move |c| {
                let items: Vec<Subscription> = query_data(
                    c,
                    "SELECT data FROM webhooks WHERE id > ?1 ORDER BY id LIMIT ?2",
                    params![after, limit as i64 + 1],
                )?;
                Ok(Page::from_overfetch(items, limit, |w| w.id.to_string()))
            })
            .await
    }

    async fn active_webhooks(&self) -> Result<Vec<Subscription>, StoreError> {
        self.db
            .read(move |c| {
                query_data(
                    c,
                    "SELECT data FROM webhooks WHERE disabled = 0 ORDER BY id",
                    [],
                )
            })
            .await
    }

    async fn update_webhook(&self, webhook: &Subscription) -> Result<bool, StoreError> {
        let (id, _, disabled, data) = columns(webhook)?;
        self.db
            .write(move |c| {
                let n = cached::exec(
                    c,
                    "UPDATE webhooks SET disabled = ?2, data = ?3 WHERE id = ?1",
                    params![id, disabled, data],
                )
                .map_err(backend)?;
                Ok(n == 1)
            })
            .await
    }

    async fn delete_webhook(&self, id: &WebhookId) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.db
            .write(move |c| {
                cached::exec(
                    c,
                    "DELETE FROM webhook_attempts WHERE webhook_id = ?1",
                    [&id],
                )
                .map_err(backend)?;
                let n = cached::exec(c, "DELETE FROM webhooks WHERE id = ?1", [&id])
                    .map_err(backend)?;
                Ok(n == 1)
            })
            .await
    }

    async fn insert_attempt(&self, attempt: &DeliveryAttempt) -> Result<(), StoreError> {
        let (webhook, data) = (attempt.webhook_id.to_string(), to_json(attempt)?);
        self.db
            .write(move |c| {
                cached::exec(
                    c,
                    "INSERT INTO webhook_attempts (webhook_id, data) VALUES (?1, ?2)",
                    params![webhook, data],
                )
                .map_err(backend)?;
                Ok(())
            })
            .await
    }

    async fn list_attempts(
        &self,
        webhook: &WebhookId,
        page: &PageRequest,
    ) -> Result<Page<DeliveryAttempt>, StoreError> {
        let webhook = webhook.to_string();
        // A cursor that is not one of ours points before every row: an empty page.
        let before: i64 = match &page.after {
            Some(cursor) => cursor.parse().unwrap_or(0),
            None => i64::MAX,
        };
        let limit = page.limit;
        self.db
            .read(move |c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT seq, data FROM webhook_attempts WHERE webhook_id = ?1 AND seq < ?2
                         ORDER BY seq DESC LIMIT ?3",
                    )
                    .map_err(backend)?;
                let rows = stmt
                    .query_map(params![webhook, before, limit as i64 + 1], |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                    })
                    .map_err(backend)?;
                let mut items = Vec::new();
                for row in rows {
                    let (seq, data) = row.map_err(backend)?;
                    items.push((seq, super::from_json::<DeliveryAttempt>(&data)?));
                }
                Ok(Page::from_overfetch(items, limit, |(seq, _)| seq.to_string()).map(|(_, a)| a))
            })
            .await
    }
}
