//! The store on DynamoDB: one on-demand table, the layout in this crate's README.

mod accounts;
mod activity;
mod ai_logs;
mod ai_settings;
mod api_keys;
mod audit;
mod cache;
mod chats;
mod claims;
mod client_sends;
mod contexts;
pub mod item;
pub mod keys;
mod media;
mod messages;
mod outbox;
mod rates;
mod replies;
pub mod schema;
mod webhooks;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, Put, TransactWriteItem, Update, WriteRequest,
};
use item::Item;
use std::collections::HashMap;
use switchboard_core::ports::StoreError;

/// How long records whose only job is to prevent a repeat are kept: provider message ids
/// (a provider redelivers within hours) and AI log rows.
pub const DEDUPE_DAYS: i64 = 30;
pub const LOG_DAYS: i64 = 30;
/// A client's idempotency key answers retries for a day, as payment APIs do.
pub const IDEMPOTENCY_DAYS: i64 = 1;
pub const ATTEMPT_DAYS: i64 = 30;

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    config: std::sync::Arc<cache::ConfigCache>,
}

pub(crate) fn backend<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError::Backend(format!("dynamodb: {}", DisplayErrorContext(&e)))
}

/// Why a transaction was cancelled: per item, the reason code (`ConditionalCheckFailed` when
/// that item's condition did not hold).
pub(crate) enum TransactError {
    Cancelled(Vec<Option<String>>),
    Store(StoreError),
}

impl TransactError {
    /// The condition of the item at `index` failed.
    pub fn failed_at(&self, index: usize) -> bool {
        matches!(self, TransactError::Cancelled(codes)
            if codes.get(index).and_then(|c| c.as_deref()) == Some("ConditionalCheckFailed"))
    }

    pub fn into_store(self) -> StoreError {
        match self {
            TransactError::Store(e) => e,
            TransactError::Cancelled(codes) => StoreError::Conflict(format!(
                "transaction cancelled: {}",
                codes
                    .iter()
                    .map(|c| c.as_deref().unwrap_or("None"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            config: Default::default(),
        }
    }

    /// A strongly consistent read of one item.
    pub(crate) async fn get(&self, key: Item) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        Ok(out.item)
    }

    pub(crate) fn query(&self) -> QueryFluentBuilder {
        self.client.query().table_name(&self.table)
    }

    /// Configuration items, from the cache when fresh, the rest in one consistent
    /// `BatchGetItem`; `None` for an item that does not exist. In the order of `keys`.
    pub(crate) async fn config_items(
        &self,
        keys: &[Item],
    ) -> Result<Vec<Option<Item>>, StoreError> {
        let mut out: Vec<Option<Option<Item>>> = keys.iter().map(|k| self.config.get(k)).collect();
        let missing: Vec<Item> = keys
            .iter()
            .zip(&out)
            .filter(|(_, hit)| hit.is_none())
            .map(|(k, _)| k.clone())
            .collect();
        if !missing.is_empty() {
            let mut found = self.batch_get(missing).await?;
            for (k, slot) in keys.iter().zip(out.iter_mut()) {
                if slot.is_none() {
                    let item = take_item(&mut found, k);
                    self.config.put(k, item.clone());
                    *slot = Some(item);
                }
            }
        }
        Ok(out.into_iter().map(Option::flatten).collect())
    }

    /// A configuration item changed through this process: read it afresh next time.
    pub(crate) fn forget_config(&self, key: &Item) {
        self.config.forget(key);
    }

    /// A list kept in `gsi1` under one partition, oldest first, after a cursor if any (a key
    /// condition cannot compare with an empty string, so no cursor is no condition).
    pub(crate) fn after_in_index(&self, list: &str, after: Option<&str>) -> QueryFluentBuilder {
        let q = self
            .query()
            .index_name(keys::GSI1)
            .expression_attribute_values(":p", item::s(list));
        match after.filter(|a| !a.is_empty()) {
            Some(after) => q
                .key_condition_expression("gsi1pk = :p AND gsi1sk > :after")
                .expression_attribute_values(":after", item::s(after)),
            None => q.key_condition_expression("gsi1pk = :p"),
        }
    }

    /// Every item a query returns, following its pages.
    pub(crate) async fn query_all(&self, q: QueryFluentBuilder) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = q
                .clone()
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(backend)?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }

    /// Up to `want` items of a query whose filter may leave pages short.
    pub(crate) async fn query_up_to(
        &self,
        q: QueryFluentBuilder,
        want: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = q
                .clone()
                .limit(want.clamp(1, 1000) as i32)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(backend)?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() && items.len() < want => start = Some(k),
                _ => {
                    items.truncate(want);
                    return Ok(items);
                }
            }
        }
    }

    /// Up to `want` items of a `gsi1` list spread over shards, newest first (by `gsi1sk`)
    /// and below `before`: each partition's page, `refined` (a filter), merged.
    pub(crate) async fn query_shards(
        &self,
        list: &str,
        before: &str,
        want: usize,
        refined: impl Fn(QueryFluentBuilder) -> QueryFluentBuilder,
    ) -> Result<Vec<Item>, StoreError> {
        let pages = keys::shards(list).into_iter().map(|partition| {
            let q = self
                .query()
                .index_name(keys::GSI1)
                .key_condition_expression("gsi1pk = :p AND gsi1sk < :before")
                .expression_attribute_values(":p", item::s(partition))
                .expression_attribute_values(":before", item::s(before))
                .scan_index_forward(false);
            self.query_up_to(refined(q), want)
        });
        let mut items: Vec<Item> = futures_util::future::try_join_all(pages)
            .await?
            .into_iter()
            .flatten()
            .collect();
        items.sort_by(|a, b| item::get_s(b, keys::GSI1SK).cmp(&item::get_s(a, keys::GSI1SK)));
        items.truncate(want);
        Ok(items)
    }

    /// Strongly consistent reads of several items in one request (more when DynamoDB leaves
    /// some unprocessed). Items come back in no particular order.
    pub(crate) async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        let mut pending = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::Backend(e.to_string()))?,
        );
        while let Some(request) = pending.take() {
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(backend)?;
            if let Some(mut responses) = out.responses {
                found.extend(responses.remove(&self.table).unwrap_or_default());
            }
            pending = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .filter(|k| !k.keys.is_empty());
        }
        Ok(found)
    }

    pub(crate) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<(), TransactError> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) => match e.err() {
                TransactWriteItemsError::TransactionCanceledException(c) => {
                    Err(TransactError::Cancelled(
                        c.cancellation_reasons()
                            .iter()
                            .map(|r| r.code().map(str::to_string))
                            .collect(),
                    ))
                }
                _ => Err(TransactError::Store(backend(SdkError::ServiceError(e)))),
            },
            Err(e) => Err(TransactError::Store(backend(e))),
        }
    }

    /// Deletes items by key, 25 a request, retrying what DynamoDB leaves unprocessed.
    pub(crate) async fn delete_all(&self, keys: Vec<Item>) -> Result<(), StoreError> {
        for chunk in keys.chunks(25) {
            let mut requests = Vec::with_capacity(chunk.len());
            for k in chunk {
                let delete = aws_sdk_dynamodb::types::DeleteRequest::builder()
                    .set_key(Some(k.clone()))
                    .build()
                    .map_err(|e| StoreError::Backend(e.to_string()))?;
                requests.push(WriteRequest::builder().delete_request(delete).build());
            }
            while !requests.is_empty() {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(backend)?;
                requests = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table))
                    .unwrap_or_default();
            }
        }
        Ok(())
    }

    /// The keys of every item in a partition.
    pub(crate) async fn partition_keys(&self, pk: &str) -> Result<Vec<Item>, StoreError> {
        let items = self
            .query_all(
                self.query()
                    .key_condition_expression("pk = :pk")
                    .expression_attribute_values(":pk", item::s(pk))
                    .projection_expression("pk, sk")
                    .consistent_read(true),
            )
            .await?;
        Ok(items)
    }

    /// Writes `item` if `condition` (with its attribute names and values) holds; whether it did.
    pub(crate) async fn put_if(
        &self,
        item: Item,
        condition: &str,
        names: Option<HashMap<String, String>>,
        values: Option<HashMap<String, AttributeValue>>,
    ) -> Result<bool, StoreError> {
        self.write_put(
            self.put(item)
                .condition_expression(condition)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values),
        )
        .await
    }

    /// A built put as a single write (what a transaction would bill twice); whether its
    /// condition held.
    pub(crate) async fn write_put(
        &self,
        p: aws_sdk_dynamodb::types::builders::PutBuilder,
    ) -> Result<bool, StoreError> {
        let p = p.build().map_err(|e| StoreError::Backend(e.to_string()))?;
        held(
            self.client
                .put_item()
                .table_name(p.table_name)
                .set_item(Some(p.item))
                .set_condition_expression(p.condition_expression)
                .set_expression_attribute_names(p.expression_attribute_names)
                .set_expression_attribute_values(p.expression_attribute_values)
                .send()
                .await,
        )
    }

    /// A built update as a single write; whether its condition held.
    pub(crate) async fn write_update(
        &self,
        u: aws_sdk_dynamodb::types::builders::UpdateBuilder,
    ) -> Result<bool, StoreError> {
        let u = u.build().map_err(|e| StoreError::Backend(e.to_string()))?;
        held(
            self.client
                .update_item()
                .table_name(u.table_name)
                .set_key(Some(u.key))
                .update_expression(u.update_expression)
                .set_condition_expression(u.condition_expression)
                .set_expression_attribute_names(u.expression_attribute_names)
                .set_expression_attribute_values(u.expression_attribute_values)
                .send()
                .await,
        )
    }

    pub(crate) fn put(&self, item: Item) -> aws_sdk_dynamodb::types::builders::PutBuilder {
        Put::builder().table_name(&self.table).set_item(Some(item))
    }

    pub(crate) fn update(&self, key: Item) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
        Update::builder().table_name(&self.table).set_key(Some(key))
    }
}

/// The item among `found` with this key.
pub(crate) fn take_item(found: &mut Vec<Item>, key: &Item) -> Option<Item> {
    let at = found.iter().position(|i| {
        item::get_s(i, keys::PK) == item::get_s(key, keys::PK)
            && item::get_s(i, keys::SK) == item::get_s(key, keys::SK)
    })?;
    Some(found.swap_remove(at))
}

/// A transaction item from a built Put/Update/Delete.
pub(crate) fn tx_put(
    p: aws_sdk_dynamodb::types::builders::PutBuilder,
) -> Result<TransactWriteItem, StoreError> {
    Ok(TransactWriteItem::builder()
        .put(p.build().map_err(|e| StoreError::Backend(e.to_string()))?)
        .build())
}

pub(crate) fn tx_update(
    u: aws_sdk_dynamodb::types::builders::UpdateBuilder,
) -> Result<TransactWriteItem, StoreError> {
    Ok(TransactWriteItem::builder()
        .update(u.build().map_err(|e| StoreError::Backend(e.to_string()))?)
        .build())
}

pub(crate) fn values<const N: usize>(
    pairs: [(&str, AttributeValue); N],
) -> Option<HashMap<String, AttributeValue>> {
    Some(item::item(pairs))
}

pub(crate) fn names<const N: usize>(pairs: [(&str, &str); N]) -> Option<HashMap<String, String>> {
    Some(
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

/// The outcome of a conditional single write: whether its condition held (and it was written).
pub(crate) fn held<T, E, R>(outcome: Result<T, SdkError<E, R>>) -> Result<bool, StoreError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match outcome {
        Ok(_) => Ok(true),
        Err(SdkError::ServiceError(se))
            if se.err().code() == Some("ConditionalCheckFailedException") =>
        {
            Ok(false)
        }
        Err(e) => Err(backend(e)),
    }
}

impl DynamoStore {
    /// One cheap read that opens the connection.
    pub async fn warm_up(&self) -> Result<(), String> {
        self.get(ai_settings::global_key())
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
