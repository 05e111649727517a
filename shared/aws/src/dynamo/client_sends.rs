//! Sends through the client API. An idempotency key is one item (`IK#{api key}#{key}`) taken
//! with one conditional put, and finished in the transaction that writes the message, the
//! pointer that finds it by id (`D#{id}`) and its audit row. Expiry is checked on read, and
//! DynamoDB's TTL removes the item later.

use super::audit::audit_item;
use super::item::{self, Item, get_s, key, n, s};
use super::keys::{self, CLIENT_SEND_SK, IDEMPOTENCY_SK};
use super::messages::{message_from, message_key};
use super::{DynamoStore, backend, tx_put, tx_update};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use chrono::{DateTime, Utc};
use switchboard_core::domain::audit::AuditEntry;
use switchboard_core::domain::chat::ChatJid;
use switchboard_core::domain::idempotency::{
    Begun, IN_FLIGHT_SECONDS, IdempotencyKey, StoredAnswer, expiry,
};
use switchboard_core::domain::ids::{AccountId, MessageId};
use switchboard_core::domain::message::{Message, MessageStatus};
use switchboard_core::domain::page::{Page, PageRequest};
use switchboard_core::ports::{ClientSendStore, Finished, StatusChange, StoreError};

const FINGERPRINT: &str = "fingerprint";
const ANSWER: &str = "answer";
const HOLD_UNTIL: &str = "hold_until";
const EXPIRES_AT: &str = "expires_at";
const ACCOUNT: &str = "account_id";
const CHAT: &str = "chat_id";

fn idempotency_key(k: &IdempotencyKey) -> Item {
    key(keys::client_idempotency(&k.api_key, &k.key), IDEMPOTENCY_SK)
}

/// What a request found under a key it could not take.
fn begun_from(old: &Item) -> Result<Begun, StoreError> {
    let fingerprint = get_s(old, FINGERPRINT).unwrap_or_default().to_string();
    match get_s(old, ANSWER) {
        Some(answer) => {
            let answer: StoredAnswer = serde_json::from_str(answer)
                .map_err(|e| StoreError::Backend(format!("stored answer does not parse: {e}")))?;
            Ok(Begun::Finished {
                fingerprint,
                answer,
            })
        }
        None => Ok(Begun::InFlight { fingerprint }),
    }
}

impl DynamoStore {
    /// The message a `D#` pointer item points at.
    async fn message_of(
        &self,
        pointer: &Item,
        id: &MessageId,
    ) -> Result<Option<Message>, StoreError> {
        let (Some(account), Some(chat)) = (get_s(pointer, ACCOUNT), get_s(pointer, CHAT)) else {
            return Ok(None);
        };
        let (Some(account), Ok(chat)) = (AccountId::parse(account), ChatJid::parse(chat)) else {
            return Ok(None);
        };
        self.get(message_key(&account, &chat, id))
            .await?
            .as_ref()
            .map(message_from)
            .transpose()
    }
}

#[async_trait]
impl ClientSendStore for DynamoStore {
    async fn begin_idempotent(
        &self,
        k: &IdempotencyKey,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> Result<Begun, StoreError> {
        let expires = expiry(now);
        let mut row = idempotency_key(k);
        row.extend(item::item([
            (FINGERPRINT, s(fingerprint)),
            (
                HOLD_UNTIL,
                n((now + chrono::Duration::seconds(IN_FLIGHT_SECONDS)).timestamp_millis()),
            ),
            (EXPIRES_AT, n(expires.timestamp_millis())),
            (keys::TTL, n(expires.timestamp() + 3600)),
        ]));
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(row))
            // Absent, expired, or held by a request that stopped.
            .condition_expression(
                "attribute_not_exists(pk) OR expires_at <= :now OR (attribute_not_exists(answer) AND hold_until <= :now)",
            )
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match out {
            Ok(_) => Ok(Begun::Taken),
            Err(SdkError::ServiceError(e)) => match e.err() {
                PutItemError::ConditionalCheckFailedException(failed) => match failed.item() {
                    Some(old) => begun_from(old),
                    None => Err(StoreError::Backend(
                        "a failed idempotency condition returned no item".into(),
                    )),
                },
                _ => Err(backend(SdkError::ServiceError(e))),
            },
            Err(e) => Err(backend(e)),
        }
    }

    async fn release_idempotent(&self, k: &IdempotencyKey) -> Result<(), StoreError> {
        super::held(
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(idempotency_key(k)))
                .condition_expression("attribute_not_exists(answer)")
                .send()
                .await,
        )
        .map(|_| ())
    }

    async fn record_client_send(
        &self,
        message: &Message,
        audit: &AuditEntry,
        finished: Option<Finished<'_>>,
    ) -> Result<(), StoreError> {
        let mut items = self.record_items(message, None)?;
        let mut pointer = key(keys::client_send(&message.id), CLIENT_SEND_SK);
        pointer.insert(ACCOUNT.into(), s(message.account_id.as_str()));
        pointer.insert(CHAT.into(), s(message.chat_id.as_str()));
        if message.status == MessageStatus::PendingConfirmation {
            pointer.insert(keys::GSI1PK.into(), s(keys::PENDING));
            pointer.insert(keys::GSI1SK.into(), s(message.id.as_str()));
        }
        items.push(tx_put(self.put(pointer))?);
        items.push(tx_put(self.put(audit_item(audit)?))?);
        if let Some(f) = finished {
            let answer =
                serde_json::to_string(f.answer).map_err(|e| StoreError::Backend(e.to_string()))?;
            items.push(tx_update(
                self.update(idempotency_key(f.key))
                    .update_expression("SET answer = :a")
                    .condition_expression("fingerprint = :f AND attribute_not_exists(answer)")
                    .expression_attribute_values(":a", s(answer))
                    .expression_attribute_values(":f", s(f.fingerprint)),
            )?);
        }
        self.transact(items).await.map_err(|e| e.into_store())
    }

    async fn find_message(&self, id: &MessageId) -> Result<Option<Message>, StoreError> {
        let Some(p) = self.get(key(keys::client_send(id), CLIENT_SEND_SK)).await? else {
            return Ok(None);
        };
        self.message_of(&p, id).await
    }

    async fn list_pending(&self, page: &PageRequest) -> Result<Page<Message>, StoreError> {
        let pointers = self
            .query_up_to(
                self.after_in_index(keys::PENDING, page.after.as_deref()),
                page.limit + 1,
            )
            .await?;
        let mut items = Vec::with_capacity(pointers.len());
        for p in &pointers {
            let id = get_s(p, keys::GSI1SK).and_then(MessageId::parse);
            if let Some(id) = id
                && let Some(m) = self.message_of(p, &id).await?
            {
                items.push(m);
            }
        }
        Ok(Page::from_overfetch(items, page.limit, |m| {
            m.id.to_string()
        }))
    }

    async fn decide(
        &self,
        message: &Message,
        change: &StatusChange<'_>,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        if change.from.is_empty() {
            return Ok(false);
        }
        let mut items =
            self.transition_items(&message.account_id, &message.chat_id, &message.id, change)?;
        // Off the pending list with the decision.
        items.push(tx_update(
            self.update(key(keys::client_send(&message.id), CLIENT_SEND_SK))
                .update_expression("REMOVE gsi1pk, gsi1sk"),
        )?);
        items.push(tx_put(self.put(audit_item(audit)?))?);
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(e) if e.failed_at(0) => Ok(false),
            Err(e) => Err(e.into_store()),
        }
    }
}
