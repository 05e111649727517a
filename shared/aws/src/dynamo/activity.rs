//! Each account's activity per hour: `T#{account}` / `{hour}`, its counts added in place with
//! one `ADD` (no read), gone by TTL after two days. The overview reads a day in one Query of
//! 24 small items.

use super::item::{Item, expires, get_n, key, n, s, timestamp};
use super::keys::{self, TTL};
use super::{DynamoStore, backend};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use switchboard_core::domain::activity::Activity;
use switchboard_core::domain::ids::AccountId;
use switchboard_core::ports::{ActivityStore, StoreError};

const KEPT_DAYS: i64 = 2;

#[async_trait]
impl ActivityStore for DynamoStore {
    async fn count_activity(
        &self,
        account: &AccountId,
        hour: DateTime<Utc>,
        add: &Activity,
    ) -> Result<(), StoreError> {
        let mut adds = Vec::new();
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::activity(account), timestamp(&hour))))
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_values(":ttl", expires(hour, KEPT_DAYS));
        for (i, (name, count)) in Activity::FIELDS.iter().zip(add.counts()).enumerate() {
            if count > 0 {
                adds.push(format!("{name} :n{i}"));
                update = update.expression_attribute_values(format!(":n{i}"), n(count));
            }
        }
        if adds.is_empty() {
            return Ok(());
        }
        update
            .update_expression(format!("SET #ttl = :ttl ADD {}", adds.join(", ")))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn activity_since(
        &self,
        account: &AccountId,
        since: DateTime<Utc>,
    ) -> Result<Activity, StoreError> {
        let items: Vec<Item> = self
            .query_all(
                self.query()
                    .key_condition_expression("pk = :pk AND sk >= :since")
                    .expression_attribute_values(":pk", s(keys::activity(account)))
                    .expression_attribute_values(":since", s(timestamp(&since))),
            )
            .await?;
        let mut sum = Activity::default();
        for row in &items {
            let counts = Activity::FIELDS.map(|f| get_n(row, f).unwrap_or(0).max(0) as u64);
            sum.add(&Activity::from_counts(counts));
        }
        Ok(sum)
    }
}
