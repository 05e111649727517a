//! Messages live in their chat's partition (`C#{account}#{chat}`, `M#{id}`), so the
//! conversation is one Query. The fields a send changes (status, time, provider id, error,
//! the AI log that answered it) are attributes updated in place with conditions; `data` keeps
//! the rest.

use super::item::{self, Item, get_s, json, key, name_of, parse_timestamp, s, timestamp};
use super::keys::{self, POINTER_SK};
use super::{DEDUPE_DAYS, DynamoStore, IDEMPOTENCY_DAYS, backend, held, tx_put, tx_update};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::builders::{PutBuilder, UpdateBuilder};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use chrono::{DateTime, Utc};
use std::time::Duration;
use switchboard_core::domain::chat::ChatJid;
use switchboard_core::domain::ids::{AccountId, MessageId};
use switchboard_core::domain::message::{Message, MessageStatus};
use switchboard_core::domain::page::{Page, PageRequest};
use switchboard_core::ports::{Claim, MessageStore, Recorded, StatusChange, StoreError};

const STATUS: &str = "status";
const UPDATED_AT: &str = "updated_at";
const PROVIDER_ID: &str = "provider_message_id";
const ERROR: &str = "error";
const ERROR_CODE: &str = "error_code";
/// Present while a `sending` message waits between two tries (its lease let go).
const LEASE_RELEASED: &str = "lease_free";
/// The AI log row that decided on this (inbound) message: set once, so one row per message.
pub(super) const AI_LOG: &str = "ai_log_id";
const CHAT: &str = "chat_id";
const ID: &str = "id";

pub(super) fn message_key(account: &AccountId, chat: &ChatJid, id: &MessageId) -> Item {
    key(keys::conversation(account, chat), keys::message_sk(id))
}

fn parse_status(text: &str) -> Result<MessageStatus, StoreError> {
    serde_json::from_str(&format!("\"{text}\""))
        .map_err(|e| StoreError::Backend(format!("stored status does not parse: {e}")))
}

/// The message of an item: `data` with the attributes a send changed laid over it.
pub(super) fn message_from(row: &Item) -> Result<Message, StoreError> {
    let mut m: Message = item::data(row)?;
    if let Some(status) = get_s(row, STATUS) {
        m.status = parse_status(status)?;
    }
    if let Some(t) = get_s(row, UPDATED_AT) {
        m.updated_at = parse_timestamp(t)?;
    }
    if let Some(p) = get_s(row, PROVIDER_ID) {
        m.provider_message_id = Some(p.to_string());
    }
    if let Some(e) = get_s(row, ERROR) {
        m.error = Some(e.to_string());
    }
    if let Some(code) = get_s(row, ERROR_CODE) {
        m.error_code = serde_json::from_str(&format!("\"{code}\"")).ok();
    }
    if let Some(media) = get_s(row, super::media::MEDIA) {
        m.media = Some(
            serde_json::from_str(media)
                .map_err(|e| StoreError::Backend(format!("stored media does not parse: {e}")))?,
        );
    }
    for (name, value) in row {
        if let (Some(status), Some(AttributeValue::S(at))) =
            (name.strip_prefix(REACHED_PREFIX), Some(value))
        {
            m.reached
                .insert(parse_status(status)?, parse_timestamp(at)?);
        }
    }
    Ok(m)
}

/// `at_<status>`: when the message reached that status.
const REACHED_PREFIX: &str = "at_";

fn reached_name(status: MessageStatus) -> String {
    format!("{REACHED_PREFIX}{}", status.as_str())
}

pub(super) fn message_item(m: &Message) -> Result<Item, StoreError> {
    let mut row = message_key(&m.account_id, &m.chat_id, &m.id);
    row.insert(item::DATA.into(), json(m)?);
    row.insert(STATUS.into(), s(name_of(&m.status)?));
    row.insert(UPDATED_AT.into(), s(timestamp(&m.updated_at)));
    Ok(row)
}

/// A record that points at a message by another of its keys.
fn pointer(pk: String, m: &Message, days: i64) -> Item {
    let mut row = key(pk, POINTER_SK);
    row.insert(CHAT.into(), s(m.chat_id.as_str()));
    row.insert(ID.into(), s(m.id.as_str()));
    row.insert(keys::TTL.into(), item::expires(Utc::now(), days));
    row
}

/// What recording a message writes: the message, the record of the key it must be unique
/// by (when it has one), and its chat's activity. The message is item 0, the key item 1.
impl DynamoStore {
    pub(super) fn record_items(
        &self,
        m: &Message,
        unique: Option<(String, i64)>,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut items = vec![tx_put(
            self.put(message_item(m)?)
                .condition_expression("attribute_not_exists(pk)"),
        )?];
        if let Some((pk, days)) = unique {
            items.push(tx_put(
                self.put(pointer(pk, m, days))
                    .condition_expression("attribute_not_exists(pk)"),
            )?);
        }
        if let Some(touch) = self.chat_touch(m) {
            items.push(tx_update(touch)?);
        }
        Ok(items)
    }

    /// What a message changes of its chat (its activity, a private chat's name); none when
    /// its channel has no chats.
    fn chat_touch(&self, m: &Message) -> Option<UpdateBuilder> {
        if !m.chat_id.has_chat() {
            return None;
        }
        let sender = if m.from_me {
            None
        } else {
            m.push_name.as_deref()
        };
        Some(self.touch_chat(
            &m.account_id,
            &m.chat_id,
            m.created_at,
            sender,
            m.is_inbound(),
        ))
    }

    /// The chat and id of the message a pointer record names, when there is one that parses.
    async fn pointed(
        &self,
        pointer_pk: String,
    ) -> Result<Option<(ChatJid, MessageId)>, StoreError> {
        let Some(p) = self.get(key(pointer_pk, POINTER_SK)).await? else {
            return Ok(None);
        };
        Ok(get_s(&p, CHAT)
            .and_then(|c| ChatJid::parse(c).ok())
            .zip(get_s(&p, ID).and_then(MessageId::parse)))
    }

    /// The message a pointer record leads to.
    pub(super) async fn follow(
        &self,
        account: &AccountId,
        pointer_pk: String,
    ) -> Result<Option<Message>, StoreError> {
        let Some((chat, id)) = self.pointed(pointer_pk).await? else {
            return Ok(None);
        };
        self.get_message(account, &chat, &id).await
    }

    /// Records a message once per unique key; a repeat returns the first record.
    ///
    /// Single writes in order, not one transaction (which bills every item twice):
    /// 1. the unique key's record, the commit point: the run that writes it owns the message
    ///    id it names;
    /// 2. the message, under that id;
    /// 3. its chat's activity, moved only forward.
    ///
    /// A run that stopped after 1 leaves a record naming a message that is not stored; the
    /// provider's redelivery (or the client's retry) finds it so and stores the message under
    /// that id, as the first run would have, and goes on as the first. One that stopped after 2
    /// is a duplicate whose chat is touched again: only forward, so the late redelivery of an
    /// old message moves nothing.
    async fn record(
        &self,
        m: &Message,
        unique: Option<(String, i64)>,
    ) -> Result<Recorded, StoreError> {
        let keyed = unique.is_some();
        if let Some((pk, days)) = unique {
            let record = self
                .put(pointer(pk.clone(), m, days))
                .condition_expression("attribute_not_exists(pk)");
            if !self.write_put(record).await? {
                return self.record_again(m, pk).await;
            }
        }
        if self.store_message(m).await? {
            return Ok(Recorded::New(m.clone()));
        }
        if !keyed {
            return Err(StoreError::Conflict(format!("message {} exists", m.id)));
        }
        // A redelivery read the key's record before this message was stored and stored it
        // under the same id: its record stands.
        let first = self
            .get_message(&m.account_id, &m.chat_id, &m.id)
            .await?
            .ok_or_else(|| StoreError::Conflict(format!("message {} went away", m.id)))?;
        Ok(Recorded::Existing(first))
    }

    /// A message whose unique key is recorded already: the first record, or, when the run that
    /// recorded the key stopped before its message, this one under the id the key names.
    async fn record_again(&self, m: &Message, pointer_pk: String) -> Result<Recorded, StoreError> {
        let Some((chat, id)) = self.pointed(pointer_pk).await? else {
            return Err(StoreError::Conflict(format!(
                "message {}: its unique key's record went away or does not parse",
                m.id
            )));
        };
        if let Some(first) = self.get_message(&m.account_id, &chat, &id).await? {
            self.touch_forward(&first).await?;
            return Ok(Recorded::Existing(first));
        }
        let adopted = Message {
            id,
            chat_id: chat,
            ..m.clone()
        };
        if self.store_message(&adopted).await? {
            return Ok(Recorded::New(adopted));
        }
        // A racer stored it between the read and the write: its record stands.
        let first = self
            .get_message(&adopted.account_id, &adopted.chat_id, &adopted.id)
            .await?
            .ok_or_else(|| StoreError::Conflict(format!("message {} went away", adopted.id)))?;
        Ok(Recorded::Existing(first))
    }

    /// Writes the message if its id is new, then moves its chat forward; whether it was new.
    async fn store_message(&self, m: &Message) -> Result<bool, StoreError> {
        let put = self
            .put(message_item(m)?)
            .condition_expression("attribute_not_exists(pk)");
        if !self.write_put(put).await? {
            return Ok(false);
        }
        self.touch_forward(m).await?;
        Ok(true)
    }

    /// The chat's activity moved to the message's, unless it is further along already.
    async fn touch_forward(&self, m: &Message) -> Result<(), StoreError> {
        let Some(touch) = self.chat_touch(m) else {
            return Ok(());
        };
        let forward = touch.condition_expression("attribute_not_exists(last_at) OR last_at <= :at");
        self.write_update(forward).await.map(|_| ())
    }
}

/// The unique key of an outbound message, when it has one.
fn outbound_unique(m: &Message) -> Option<(String, i64)> {
    m.idempotency_key
        .as_deref()
        .map(|k| (keys::idempotency(&m.account_id, k), IDEMPOTENCY_DAYS))
}

#[async_trait]
impl MessageStore for DynamoStore {
    async fn record_inbound(&self, message: &Message) -> Result<Recorded, StoreError> {
        let unique = message
            .provider_message_id
            .as_deref()
            .map(|p| (keys::provider_id(&message.account_id, p), DEDUPE_DAYS));
        self.record(message, unique).await
    }

    async fn record_outbound(&self, message: &Message) -> Result<Recorded, StoreError> {
        self.record(message, outbound_unique(message)).await
    }

    async fn get_message(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        id: &MessageId,
    ) -> Result<Option<Message>, StoreError> {
        self.get(message_key(account, chat, id))
            .await?
            .as_ref()
            .map(message_from)
            .transpose()
    }

    async fn begin_send(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        id: &MessageId,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        let lease =
            chrono::Duration::from_std(lease).map_err(|e| StoreError::Backend(e.to_string()))?;
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(message_key(account, chat, id)))
            .update_expression("SET #s = :sending, updated_at = :now, #at = :now REMOVE #free")
            // Queued, or sending by a try that let it go or a taker that stopped more than a
            // lease ago.
            .condition_expression(
                "attribute_exists(pk) AND (#s = :queued OR (#s = :sending AND (updated_at <= :stale OR attribute_exists(#free))))",
            )
            .expression_attribute_names("#free", LEASE_RELEASED)
            .expression_attribute_names("#s", STATUS)
            .expression_attribute_names("#at", reached_name(MessageStatus::Sending))
            .expression_attribute_values(":sending", s(name_of(&MessageStatus::Sending)?))
            .expression_attribute_values(":queued", s(name_of(&MessageStatus::Queued)?))
            .expression_attribute_values(":now", s(timestamp(&now)))
            .expression_attribute_values(":stale", s(timestamp(&(now - lease))))
            .send()
            .await;
        if held(out)? {
            return Ok(Claim::Acquired);
        }
        let current = self.get_message(account, chat, id).await?;
        Ok(match current.map(|m| m.status) {
            Some(MessageStatus::Sending) => Claim::Busy,
            _ => Claim::Done,
        })
    }

    async fn retry_send(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        id: &MessageId,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(message_key(account, chat, id)))
            .update_expression("SET #e = :note, updated_at = :now, #free = :yes")
            .condition_expression("#s = :sending")
            .expression_attribute_names("#s", STATUS)
            .expression_attribute_names("#e", ERROR)
            .expression_attribute_names("#free", LEASE_RELEASED)
            .expression_attribute_values(":sending", s(name_of(&MessageStatus::Sending)?))
            .expression_attribute_values(":note", s(note))
            .expression_attribute_values(":now", s(timestamp(&now)))
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .send()
            .await;
        held(out)
    }

    async fn transition_message(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        id: &MessageId,
        change: &StatusChange<'_>,
    ) -> Result<bool, StoreError> {
        if change.from.is_empty() {
            return Ok(false);
        }
        // Two single writes, not a transaction (which bills both twice). The pointer goes
        // first: it says only that the provider gave this message that id, which stays true
        // whether or not this move wins, and a report arriving between the two finds the
        // message and moves it forward from `sending` as well.
        let (update, pointer) = self.transition_writes(account, chat, id, change)?;
        if let Some(pointer) = pointer {
            self.write_put(pointer).await?;
        }
        self.write_update(update).await
    }

    async fn recent_messages(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        through: Option<&MessageId>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let upper = match through {
            Some(id) => keys::message_sk(id),
            None => format!("{}{}", keys::MESSAGE_PREFIX, keys::HIGHEST),
        };
        let out = self
            .query()
            .key_condition_expression("pk = :pk AND sk BETWEEN :lo AND :hi")
            .expression_attribute_values(":pk", s(keys::conversation(account, chat)))
            .expression_attribute_values(":lo", s(keys::MESSAGE_PREFIX))
            .expression_attribute_values(":hi", s(upper))
            .scan_index_forward(false)
            .limit(limit.min(1000) as i32)
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        out.items
            .unwrap_or_default()
            .iter()
            .map(message_from)
            .collect()
    }

    async fn find_by_provider_id(
        &self,
        account: &AccountId,
        provider_message_id: &str,
    ) -> Result<Option<Message>, StoreError> {
        self.follow(account, keys::provider_id(account, provider_message_id))
            .await
    }

    async fn list_messages(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        page: &PageRequest,
    ) -> Result<Page<Message>, StoreError> {
        let after = page.after.clone();
        let upper = match &after {
            Some(id) => format!("{}{id}", keys::MESSAGE_PREFIX),
            None => format!("{}{}", keys::MESSAGE_PREFIX, keys::HIGHEST),
        };
        // BETWEEN includes the cursor's own message: ask for one more and drop it.
        let items = self
            .query_up_to(
                self.query()
                    .key_condition_expression("pk = :pk AND sk BETWEEN :lo AND :hi")
                    .expression_attribute_values(":pk", s(keys::conversation(account, chat)))
                    .expression_attribute_values(":lo", s(keys::MESSAGE_PREFIX))
                    .expression_attribute_values(":hi", s(upper))
                    .scan_index_forward(false)
                    .consistent_read(true),
                page.limit + 2,
            )
            .await?;
        let mut messages = Vec::with_capacity(items.len());
        for row in &items {
            let m = message_from(row)?;
            if after.as_deref() != Some(m.id.as_str()) {
                messages.push(m);
            }
        }
        messages.truncate(page.limit + 1);
        Ok(Page::from_overfetch(messages, page.limit, |m| {
            m.id.to_string()
        }))
    }
}

impl DynamoStore {
    /// The writes of a status change: the conditional update of the message, and the record
    /// that finds it by the provider's id, when it got one.
    fn transition_writes(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        id: &MessageId,
        change: &StatusChange<'_>,
    ) -> Result<(UpdateBuilder, Option<PutBuilder>), StoreError> {
        let StatusChange {
            from,
            to,
            provider_message_id,
            error,
            code,
        } = *change;
        let mut expression = "SET #s = :to, updated_at = :now, #at = :now".to_string();
        let placeholders: Vec<String> = (0..from.len()).map(|i| format!(":f{i}")).collect();
        let mut update = self
            .update(message_key(account, chat, id))
            .condition_expression(format!("#s IN ({})", placeholders.join(", ")))
            .expression_attribute_names("#s", STATUS)
            .expression_attribute_names("#at", reached_name(to))
            .expression_attribute_values(":to", s(name_of(&to)?))
            .expression_attribute_values(":now", s(timestamp(&Utc::now())));
        for (p, status) in placeholders.iter().zip(from) {
            update = update.expression_attribute_values(p, s(name_of(status)?));
        }
        if let Some(p) = provider_message_id {
            expression.push_str(", provider_message_id = :p");
            update = update.expression_attribute_values(":p", s(p));
        }
        if let Some(e) = error {
            expression.push_str(", #e = :e");
            update = update
                .expression_attribute_names("#e", ERROR)
                .expression_attribute_values(":e", s(e));
            if let Some(code) = code {
                expression.push_str(", error_code = :ec");
                update = update.expression_attribute_values(":ec", s(code.as_str()));
            }
        } else if to == MessageStatus::Sent {
            // A sent message carries no error any more (a retry's note).
            expression.push_str(" REMOVE #e");
            update = update.expression_attribute_names("#e", ERROR);
        }
        // A sent message can be found by the id the provider gave it (a quoted reply).
        let pointer = provider_message_id.map(|p| {
            let mut row = key(keys::provider_id(account, p), POINTER_SK);
            row.insert(CHAT.into(), s(chat.as_str()));
            row.insert(ID.into(), s(id.as_str()));
            row.insert(keys::TTL.into(), item::expires(Utc::now(), DEDUPE_DAYS));
            self.put(row)
        });
        Ok((update.update_expression(expression), pointer))
    }

    /// The writes of a status change in a transaction: the conditional update of the message
    /// (item 0), and the record that finds it by the provider's id, when it got one.
    pub(super) fn transition_items(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        id: &MessageId,
        change: &StatusChange<'_>,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let (update, pointer) = self.transition_writes(account, chat, id, change)?;
        let mut items = vec![tx_update(update)?];
        if let Some(pointer) = pointer {
            items.push(tx_put(pointer)?);
        }
        Ok(items)
    }
}
