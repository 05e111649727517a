//! AI log rows live in their chat's partition (`L#{id}`), so the loop guard's count is one
//! Query; a row that decides on an inbound message has that message's id, which makes one row
//! per message the condition of its own write.
//!
//! A row is in one index, its account's list (`gsi2`, `LOGS#{account}`): every write of a row
//! writes each index it is in once more (its settle too, as the index holds the whole row), so
//! the list across accounts reads every account's list and merges them rather than keeping an
//! index of its own. An account's list is written by that account's replies alone: no index
//! partition takes every reply. Rows written before kept `gsi1` keys too, which nothing reads.

use super::item::{self, Item, get_s, json, key, name_of, parse_all, s};
use super::keys::{self, ACCOUNTS, GSI1SK, GSI2, GSI2PK, GSI2SK};
use super::messages::{AI_LOG, message_item};
use super::{DynamoStore, LOG_DAYS, backend, names, values};
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::Select;
use chrono::{DateTime, Utc};
use futures_util::{StreamExt, TryStreamExt};
use switchboard_core::domain::ai_log::{AiLog, AiLogStatus};
use switchboard_core::domain::chat::ChatJid;
use switchboard_core::domain::ids::{AccountId, AiLogId};
use switchboard_core::domain::message::Message;
use switchboard_core::domain::page::{Page, PageRequest};
use switchboard_core::ports::{AiLogFilter, AiLogStore, Recorded, StoreError};

const STATUS: &str = "status";

pub(super) fn log_key(account: &AccountId, chat: &ChatJid, id: &AiLogId) -> Item {
    key(keys::conversation(account, chat), keys::log_sk(id))
}

fn log_item(log: &AiLog) -> Result<Item, StoreError> {
    let mut row = log_key(&log.account_id, &log.chat_id, &log.id);
    row.extend(item::item([
        (item::DATA, json(log)?),
        (STATUS, s(name_of(&log.status)?)),
        ("account_id", s(log.account_id.as_str())),
        ("chat_id", s(log.chat_id.as_str())),
        (GSI2PK, s(keys::logs_of(&log.account_id))),
        (GSI2SK, s(log.id.as_str())),
        (keys::TTL, item::expires(log.created_at, LOG_DAYS)),
    ]));
    Ok(row)
}

impl DynamoStore {
    /// The log row an inbound message's item points at: rows written before a row had its
    /// message's id were found so (`insert_log`).
    pub(super) async fn log_of(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        message: &Item,
    ) -> Result<Option<AiLog>, StoreError> {
        let Some(id) = get_s(message, AI_LOG).and_then(AiLogId::parse) else {
            return Ok(None);
        };
        self.get(log_key(account, chat, &id))
            .await?
            .as_ref()
            .map(item::data)
            .transpose()
    }

    /// Writes the row (and the reply it generated) unless a row exists for its inbound
    /// message; returns the row that stands.
    ///
    /// Single writes in order, not one transaction (which bills every item twice). The row is
    /// the commit point: it has its inbound message's id (`AiLogId::deciding`), so the
    /// condition on its own key makes it one per message. The reply follows. A run that stops
    /// between the two leaves a `generated` row without its message; the reply job, delivered
    /// again since that run never finished, finds the row and makes the message from it
    /// (`reply::resume_send`). The reply needs no idempotency key's record, nor a chat touch:
    /// the row's key already makes it one per inbound message, and the message it answers
    /// moved the chat seconds before (ReplyStore).
    pub(super) async fn insert_log(
        &self,
        log: &AiLog,
        reply: Option<&Message>,
    ) -> Result<Recorded<AiLog>, StoreError> {
        if let Some(inbound) = &log.inbound_message_id
            && log.id != AiLogId::deciding(inbound)
        {
            return Err(StoreError::Conflict(format!(
                "the row deciding on message {inbound} has its id, not {}",
                log.id
            )));
        }
        if !self
            .put_if(log_item(log)?, "attribute_not_exists(pk)", None, None)
            .await?
        {
            let key = log_key(&log.account_id, &log.chat_id, &log.id);
            return match self.get(key).await? {
                Some(first) => Ok(Recorded::Existing(item::data(&first)?)),
                None => Err(StoreError::Conflict(format!(
                    "AI log {} was written and is gone",
                    log.id
                ))),
            };
        }
        if let Some(reply) = reply {
            // Present only if a run that found the row without it made it first: the same
            // message (made from the row), so either write stands.
            self.put_if(message_item(reply)?, "attribute_not_exists(pk)", None, None)
                .await?;
        }
        Ok(Recorded::New(log.clone()))
    }
}

#[async_trait]
impl AiLogStore for DynamoStore {
    async fn update_ai_log_if(
        &self,
        expected: AiLogStatus,
        log: &AiLog,
    ) -> Result<bool, StoreError> {
        // A single write: a conditional put, not a transaction (which costs double).
        self.put_if(
            log_item(log)?,
            "#s = :expected",
            names([("#s", STATUS)]),
            values([(":expected", s(name_of(&expected)?))]),
        )
        .await
    }

    async fn count_replies_since(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        // Log ids are ULIDs: the smallest id of `since`'s millisecond bounds the range.
        let floor = AiLogId::from_ulid(ulid::Ulid::from_parts(
            since.timestamp_millis().max(0) as u64,
            0,
        ));
        let mut count = 0u32;
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .query()
                .key_condition_expression("pk = :pk AND sk BETWEEN :lo AND :hi")
                .filter_expression("#s IN (:g, :sent)")
                .expression_attribute_names("#s", STATUS)
                .expression_attribute_values(":pk", s(keys::conversation(account, chat)))
                .expression_attribute_values(":lo", s(keys::log_sk(&floor)))
                .expression_attribute_values(
                    ":hi",
                    s(format!("{}{}", keys::LOG_PREFIX, keys::HIGHEST)),
                )
                .expression_attribute_values(":g", s(name_of(&AiLogStatus::Generated)?))
                .expression_attribute_values(":sent", s(name_of(&AiLogStatus::Sent)?))
                .select(Select::Count)
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(backend)?;
            count += out.count.max(0) as u32;
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(count),
            }
        }
    }

    async fn insert_ai_log(&self, log: &AiLog) -> Result<Recorded<AiLog>, StoreError> {
        self.insert_log(log, None).await
    }

    async fn get_ai_log(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        id: &AiLogId,
    ) -> Result<Option<AiLog>, StoreError> {
        self.get(log_key(account, chat, id))
            .await?
            .map(|row| item::data(&row))
            .transpose()
    }

    async fn list_ai_logs(
        &self,
        filter: &AiLogFilter,
        page: &PageRequest,
    ) -> Result<Page<AiLog>, StoreError> {
        let before = page
            .after
            .clone()
            .unwrap_or_else(|| keys::HIGHEST.to_string());
        let status = filter.status.as_ref().map(name_of).transpose()?;
        // Across accounts, a chat is a filter; within one, its partition.
        let chat_filter = match (&filter.account_id, &filter.chat_id) {
            (None, Some(chat)) => Some(chat.as_str()),
            _ => None,
        };
        let refined = |mut q: QueryFluentBuilder| {
            let mut filters = Vec::new();
            if let Some(status) = status.as_deref() {
                filters.push("#s = :status");
                q = q
                    .expression_attribute_names("#s", STATUS)
                    .expression_attribute_values(":status", s(status));
            }
            if let Some(chat) = chat_filter {
                filters.push("chat_id = :chat");
                q = q.expression_attribute_values(":chat", s(chat));
            }
            match filters.is_empty() {
                true => q,
                false => q.filter_expression(filters.join(" AND ")),
            }
        };
        let of_account = |account: &AccountId| {
            self.query()
                .index_name(GSI2)
                .key_condition_expression("gsi2pk = :pk AND gsi2sk < :before")
                .expression_attribute_values(":pk", s(keys::logs_of(account)))
                .expression_attribute_values(":before", s(&before))
                .scan_index_forward(false)
        };
        let want = page.limit + 2;
        let items = match (&filter.account_id, &filter.chat_id) {
            (Some(account), Some(chat)) => {
                let q = self
                    .query()
                    .key_condition_expression("pk = :pk AND sk BETWEEN :lo AND :hi")
                    .expression_attribute_values(":pk", s(keys::conversation(account, chat)))
                    .expression_attribute_values(":lo", s(keys::LOG_PREFIX))
                    // Up to the cursor's own sort key: it is dropped below.
                    .expression_attribute_values(":hi", s(format!("{}{before}", keys::LOG_PREFIX)))
                    .consistent_read(true)
                    .scan_index_forward(false);
                self.query_up_to(refined(q), want).await?
            }
            (Some(account), None) => self.query_up_to(refined(of_account(account)), want).await?,
            (None, _) => {
                let accounts = self
                    .query_all(
                        self.after_in_index(ACCOUNTS, None)
                            .projection_expression(GSI1SK),
                    )
                    .await?;
                let mut lists = Vec::with_capacity(accounts.len());
                for row in &accounts {
                    if let Some(account) = get_s(row, GSI1SK).and_then(AccountId::parse) {
                        lists.push(self.query_up_to(refined(of_account(&account)), want));
                    }
                }
                // At most 16 accounts' lists read at once, as many as the shards other lists
                // spread over.
                let mut items: Vec<Item> = futures_util::stream::iter(lists)
                    .buffer_unordered(usize::from(keys::SHARDS))
                    .try_concat()
                    .await?;
                items.sort_by(|a, b| get_s(b, GSI2SK).cmp(&get_s(a, GSI2SK)));
                items.truncate(want);
                items
            }
        };
        let mut logs: Vec<AiLog> = parse_all(&items)?;
        logs.retain(|l| page.after.as_deref() != Some(l.id.as_str()));
        logs.truncate(page.limit + 1);
        Ok(Page::from_overfetch(logs, page.limit, |l| l.id.to_string()))
    }
}
