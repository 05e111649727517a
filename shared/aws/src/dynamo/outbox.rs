//! A relay phone's outbox, in its own partition (`O#{account}`): `Q#{message}` while a message
//! waits (oldest first, as ids are ULIDs), `L#{message}` once leased, kept after the report (30
//! days) so a repeated report finds its message. Leasing one message is one transaction: the
//! message moves from `queued` to `sending`, `Q#` goes, `L#` comes.

use super::item::{self, Item, get_s, key, s};
use super::keys::{self, LEASED_PREFIX, WAITING_PREFIX};
use super::messages::{message_from, message_key};
use super::{DEDUPE_DAYS, DynamoStore, backend, tx_put};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};
use chrono::{DateTime, Utc};
use switchboard_core::domain::chat::ChatJid;
use switchboard_core::domain::ids::{AccountId, MessageId};
use switchboard_core::domain::message::{Message, MessageStatus};
use switchboard_core::ports::{OutboxLease, OutboxStore, StatusChange, StoreError};

const CHAT: &str = "chat_id";
const UNTIL: &str = "lease_until";

fn waiting_key(account: &AccountId, message: &str) -> Item {
    key(keys::outbox(account), format!("{WAITING_PREFIX}{message}"))
}

fn leased_key(account: &AccountId, message: &str) -> Item {
    key(keys::outbox(account), format!("{LEASED_PREFIX}{message}"))
}

impl DynamoStore {
    fn delete_if_there(&self, key: Item) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }
}

#[async_trait]
impl OutboxStore for DynamoStore {
    async fn put_in_outbox(&self, message: &Message) -> Result<(), StoreError> {
        let mut row = waiting_key(&message.account_id, message.id.as_str());
        row.insert(CHAT.into(), s(message.chat_id.as_str()));
        self.put_if(row, "attribute_not_exists(pk)", None, None)
            .await
            .map(|_| ())
    }

    async fn lease_outbox(
        &self,
        account: &AccountId,
        limit: usize,
        until: DateTime<Utc>,
    ) -> Result<Vec<Message>, StoreError> {
        let take = StatusChange {
            from: &[MessageStatus::Queued],
            to: MessageStatus::Sending,
            provider_message_id: None,
            error: None,
            code: None,
        };
        let mut leased = Vec::new();
        // Pages of the oldest waiting messages, until `limit` are leased or none waits: a message
        // another poll took meanwhile is passed over, and the next one looked at.
        let mut start: Option<Item> = None;
        loop {
            let want = limit.saturating_sub(leased.len());
            if want == 0 {
                break;
            }
            let page = self
                .query()
                .key_condition_expression("pk = :pk AND begins_with(sk, :q)")
                .expression_attribute_values(":pk", s(keys::outbox(account)))
                .expression_attribute_values(":q", s(WAITING_PREFIX))
                .limit(want.clamp(1, 1000) as i32)
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(backend)?;
            for row in page.items.unwrap_or_default() {
                let (Some(sk), Some(chat)) = (get_s(&row, keys::SK), get_s(&row, CHAT)) else {
                    continue;
                };
                let id = sk.trim_start_matches(WAITING_PREFIX);
                let (Some(message), Ok(chat)) = (MessageId::parse(id), ChatJid::parse(chat)) else {
                    continue;
                };
                let mut items = self.transition_items(account, &chat, &message, &take)?;
                let moved_at = 0;
                let gone_at = items.len();
                items.push(self.delete_if_there(waiting_key(account, id))?);
                let mut lease = leased_key(account, id);
                lease.insert(CHAT.into(), s(chat.as_str()));
                lease.insert(UNTIL.into(), s(item::timestamp(&until)));
                lease.insert(keys::TTL.into(), item::expires(until, DEDUPE_DAYS));
                items.push(tx_put(self.put(lease))?);
                match self.transact(items).await {
                    Ok(()) => leased.push(message_key(account, &chat, &message)),
                    // Taken by another poll meanwhile.
                    Err(e) if e.failed_at(gone_at) => {}
                    // No longer queued (withdrawn, or settled): it no longer waits.
                    Err(e) if e.failed_at(moved_at) => {
                        self.client
                            .delete_item()
                            .table_name(&self.table)
                            .set_key(Some(waiting_key(account, id)))
                            .send()
                            .await
                            .map_err(backend)?;
                    }
                    Err(e) => return Err(e.into_store()),
                }
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        if leased.is_empty() {
            return Ok(Vec::new());
        }
        let mut found = self.batch_get(leased.clone()).await?;
        let mut out = Vec::with_capacity(leased.len());
        for k in &leased {
            if let Some(row) = super::take_item(&mut found, k) {
                out.push(message_from(&row)?);
            }
        }
        Ok(out)
    }

    async fn outbox_lease(
        &self,
        account: &AccountId,
        message: &MessageId,
    ) -> Result<Option<OutboxLease>, StoreError> {
        let Some(row) = self.get(leased_key(account, message.as_str())).await? else {
            return Ok(None);
        };
        let chat =
            get_s(&row, CHAT).ok_or_else(|| StoreError::Backend("lease without chat".into()))?;
        let until =
            get_s(&row, UNTIL).ok_or_else(|| StoreError::Backend("lease without end".into()))?;
        Ok(Some(OutboxLease {
            chat: ChatJid::parse(chat).map_err(|e| StoreError::Backend(e.to_string()))?,
            until: item::parse_timestamp(until)?,
        }))
    }

    async fn return_to_outbox(
        &self,
        account: &AccountId,
        message: &MessageId,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let Some(lease) = self.outbox_lease(account, message).await? else {
            return Ok(false);
        };
        let back = StatusChange {
            from: &[MessageStatus::Sending],
            to: MessageStatus::Queued,
            provider_message_id: None,
            error: None,
            code: None,
        };
        let mut items = self.transition_items(account, &lease.chat, message, &back)?;
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(leased_key(account, message.as_str())))
            .condition_expression("#u = :u")
            .expression_attribute_names("#u", UNTIL)
            .expression_attribute_values(":u", s(item::timestamp(&until)))
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        items.push(TransactWriteItem::builder().delete(delete).build());
        let mut waiting = waiting_key(account, message.as_str());
        waiting.insert(CHAT.into(), s(lease.chat.as_str()));
        items.push(tx_put(self.put(waiting))?);
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(e) if e.failed_at(0) || e.failed_at(1) => Ok(false),
            Err(e) => Err(e.into_store()),
        }
    }
}
