//! Webhook subscriptions (listed from `gsi1`) and their delivery attempts, in the
//! subscription's partition.

use super::item::{self, Item, get_s, json, key, parse_all, s};
use super::keys::{self, ATTEMPT_PREFIX, GSI1, GSI1PK, GSI1SK, WEBHOOK_SK};
use super::{ATTEMPT_DAYS, DynamoStore, backend};
use async_trait::async_trait;
use switchboard_core::domain::ids::WebhookId;
use switchboard_core::domain::page::{Page, PageRequest};
use switchboard_core::domain::webhook::{DeliveryAttempt, Subscription};
use switchboard_core::ports::{StoreError, WebhookStore};

fn webhook_item(w: &Subscription) -> Result<Item, StoreError> {
    let mut row = key(keys::webhook(&w.id), WEBHOOK_SK);
    row.extend(item::item([
        (item::DATA, json(w)?),
        ("disabled", item::b(w.disabled)),
        (GSI1PK, s(keys::WEBHOOKS)),
        (GSI1SK, s(w.id.as_str())),
    ]));
    if let Some(account) = &w.account_id {
        row.insert("account_id".into(), s(account.as_str()));
    }
    Ok(row)
}

#[async_trait]
impl WebhookStore for DynamoStore {
    async fn insert_webhook(&self, webhook: &Subscription) -> Result<(), StoreError> {
        if self
            .put_if(
                webhook_item(webhook)?,
                "attribute_not_exists(pk)",
                None,
                None,
            )
            .await?
        {
            Ok(())
        } else {
            Err(StoreError::Conflict(format!(
                "webhook {} exists",
                webhook.id
            )))
        }
    }

    async fn get_webhook(&self, id: &WebhookId) -> Result<Option<Subscription>, StoreError> {
        self.get(key(keys::webhook(id), WEBHOOK_SK))
            .await?
            .as_ref()
            .map(item::data)
            .transpose()
    }

    async fn list_webhooks(&self, page: &PageRequest) -> Result<Page<Subscription>, StoreError> {
        let items = self
            .query_up_to(
                self.after_in_index(keys::WEBHOOKS, page.after.as_deref()),
                page.limit + 1,
            )
            .await?;
        Ok(Page::from_overfetch(
            parse_all(&items)?,
            page.limit,
            |w: &Subscription| w.id.to_string(),
        ))
    }

    async fn active_webhooks(&self) -> Result<Vec<Subscription>, StoreError> {
        let items = self
            .query_all(
                self.query()
                    .index_name(GSI1)
                    .key_condition_expression("gsi1pk = :p")
                    .filter_expression("disabled = :f")
                    .expression_attribute_values(":p", s(keys::WEBHOOKS))
                    .expression_attribute_values(":f", item::b(false)),
            )
            .await?;
        parse_all(&items)
    }

    async fn update_webhook(&self, webhook: &Subscription) -> Result<bool, StoreError> {
        self.put_if(webhook_item(webhook)?, "attribute_exists(pk)", None, None)
            .await
    }

    /// The attempts first, the subscription last, so a delete that stops halfway is finished
    /// by the next one.
    async fn delete_webhook(&self, id: &WebhookId) -> Result<bool, StoreError> {
        let pk = keys::webhook(id);
        let keys = self.partition_keys(&pk).await?;
        let existed = keys.iter().any(|k| get_s(k, keys::SK) == Some(WEBHOOK_SK));
        let (subscription, attempts): (Vec<Item>, Vec<Item>) = keys
            .into_iter()
            .partition(|k| get_s(k, keys::SK) == Some(WEBHOOK_SK));
        self.delete_all(attempts).await?;
        self.delete_all(subscription).await?;
        Ok(existed)
    }

    async fn insert_attempt(&self, attempt: &DeliveryAttempt) -> Result<(), StoreError> {
        // Time-ordered and unique: the attempt's time, then randomness.
        let seq = ulid::Ulid::from_datetime(attempt.created_at.into());
        let mut row = key(
            keys::webhook(&attempt.webhook_id),
            format!("{ATTEMPT_PREFIX}{seq}"),
        );
        row.insert(item::DATA.into(), json(attempt)?);
        row.insert(
            keys::TTL.into(),
            item::expires(attempt.created_at, ATTEMPT_DAYS),
        );
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(row))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn list_attempts(
        &self,
        webhook: &WebhookId,
        page: &PageRequest,
    ) -> Result<Page<DeliveryAttempt>, StoreError> {
        // A cursor that is not one of ours points before every row: an empty page.
        let before = match &page.after {
            Some(cursor) => match ulid::Ulid::from_string(cursor) {
                Ok(seq) => format!("{ATTEMPT_PREFIX}{seq}"),
                Err(_) => {
                    return Ok(Page {
                        items: Vec::new(),
                        next: None,
                    });
                }
            },
            None => format!("{ATTEMPT_PREFIX}{}", keys::HIGHEST),
        };
        let items = self
            .query_up_to(
                self.query()
                    .key_condition_expression("pk = :pk AND sk BETWEEN :lo AND :hi")
                    .expression_attribute_values(":pk", s(keys::webhook(webhook)))
                    .expression_attribute_values(":lo", s(ATTEMPT_PREFIX))
                    .expression_attribute_values(":hi", s(&before))
                    .scan_index_forward(false)
                    .consistent_read(true),
                page.limit + 2,
            )
            .await?;
        let mut rows = Vec::with_capacity(items.len());
        for row in &items {
            let sk = get_s(row, keys::SK).unwrap_or_default();
            if sk == before {
                continue;
            }
            let seq = sk
                .strip_prefix(ATTEMPT_PREFIX)
                .unwrap_or_default()
                .to_string();
            rows.push((seq, item::data::<DeliveryAttempt>(row)?));
        }
        rows.truncate(page.limit + 1);
        Ok(Page::from_overfetch(rows, page.limit, |(seq, _)| seq.clone()).map(|(_, a)| a))
    }
}
