//! Chats: the settings part kept whole in `data` (changed by read, apply, conditional write),
//! the activity part (`last_at`, `name`) as attributes that recording a message sets in place,
//! inside the message's own transaction.

use super::item::{self, Item, get_n, get_s, json, key, n, parse_timestamp, s, timestamp};
use super::keys::{self, GSI1, GSI1SK};
use super::{DynamoStore, held};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::builders::UpdateBuilder;
use chrono::{DateTime, Utc};
use switchboard_core::domain::chat::{Chat, ChatChange, ChatJid, ChatType};
use switchboard_core::domain::ids::AccountId;
use switchboard_core::domain::page::{Page, PageRequest};
use switchboard_core::ports::{ChatStore, StoreError};

const LAST_AT: &str = "last_at";
/// The contact's latest message time: where WhatsApp's service window starts.
const INBOUND_AT: &str = "in_at";
const NAME: &str = "name";
const CREATED: &str = "created";
pub(super) const CHAT_ID: &str = "chat_id";
const VERSION: &str = "dv";
const ATTEMPTS: usize = 20;

pub(super) fn chat_key(account: &AccountId, chat: &ChatJid) -> Item {
    key(keys::conversation(account, chat), keys::CHAT_SK)
}

/// The list position: activity time, then chat id, newest first. A chat without activity
/// yet (`None`) sorts below every time (`-` sorts before digits), so it lists last.
fn position(last_at: Option<&str>, chat: &str) -> String {
    format!("{}|{chat}", last_at.unwrap_or("-"))
}

pub(super) fn chat_from(
    row: &Item,
    account: &AccountId,
    chat: &ChatJid,
) -> Result<Chat, StoreError> {
    let created = match get_s(row, CREATED) {
        Some(t) => parse_timestamp(t)?,
        None => Utc::now(),
    };
    let mut value: Chat = match get_s(row, item::DATA) {
        Some(_) => item::data(row)?,
        None => Chat::new(account.clone(), chat.clone(), created),
    };
    if let Some(name) = get_s(row, NAME) {
        value.name = Some(name.to_string());
    }
    if let Some(at) = get_s(row, LAST_AT) {
        value.last_message_at = Some(parse_timestamp(at)?);
    }
    if let Some(at) = get_s(row, INBOUND_AT) {
        value.last_inbound_at = Some(parse_timestamp(at)?);
    }
    Ok(value)
}

/// A chat as the chat index lists it (the item names its chat).
fn listed_chat(row: &Item, account: &AccountId) -> Result<Chat, StoreError> {
    let jid = get_s(row, CHAT_ID)
        .and_then(|j| ChatJid::parse(j).ok())
        .ok_or_else(|| StoreError::Backend("chat item without a chat id".into()))?;
    chat_from(row, account, &jid)
}

impl DynamoStore {
    /// A message was recorded in the chat: its activity (and, for the contact's own message,
    /// the start of the service window) moves to the message's time and a private chat takes
    /// the sender's display name; the chat is created if it is new.
    pub(super) fn touch_chat(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        at: DateTime<Utc>,
        sender: Option<&str>,
        inbound: bool,
    ) -> UpdateBuilder {
        let at = timestamp(&at);
        let mut expression =
            "SET last_at = :at, gsi1pk = :g, gsi1sk = :pos, created = if_not_exists(created, :at), chat_id = :c"
                .to_string();
        let mut update = self
            .update(chat_key(account, chat))
            .expression_attribute_values(":at", s(&at))
            .expression_attribute_values(":c", s(chat.as_str()))
            .expression_attribute_values(":g", s(keys::chats_of(account)))
            .expression_attribute_values(":pos", s(position(Some(&at), chat.as_str())));
        if inbound {
            expression.push_str(", #in = :at");
            update = update.expression_attribute_names("#in", INBOUND_AT);
        }
        if let Some(name) = sender.filter(|_| chat.chat_type() == ChatType::Private) {
            expression.push_str(", #n = :n");
            update = update
                .expression_attribute_names("#n", NAME)
                .expression_attribute_values(":n", s(name));
        }
        update.update_expression(expression)
    }
}

#[async_trait]
impl ChatStore for DynamoStore {
    async fn get_chat(
        &self,
        account: &AccountId,
        chat: &ChatJid,
    ) -> Result<Option<Chat>, StoreError> {
        self.get(chat_key(account, chat))
            .await?
            .map(|row| chat_from(&row, account, chat))
            .transpose()
    }

    async fn list_chats(
        &self,
        account: &AccountId,
        page: &PageRequest,
    ) -> Result<Page<Chat>, StoreError> {
        // No cursor: past the end of every position (`~` sorts after digits and jids).
        let before = page.after.clone().unwrap_or_else(|| keys::HIGHEST.into());
        let items = self
            .query_up_to(
                self.query()
                    .index_name(GSI1)
                    .key_condition_expression("gsi1pk = :p AND gsi1sk < :before")
                    .expression_attribute_values(":p", s(keys::chats_of(account)))
                    .expression_attribute_values(":before", s(before))
                    .scan_index_forward(false),
                page.limit + 1,
            )
            .await?;
        let mut chats = Vec::with_capacity(items.len());
        for row in &items {
            let position = get_s(row, GSI1SK).unwrap_or_default().to_string();
            chats.push((position, listed_chat(row, account)?));
        }
        Ok(Page::from_overfetch(chats, page.limit, |(p, _)| p.clone()).map(|(_, c)| c))
    }

    async fn chats_since(
        &self,
        account: &AccountId,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Chat>, StoreError> {
        // Positions start with the activity time: every chat that moved after `since` sorts
        // after `{since}|`, and only those are read.
        let items = self
            .query_up_to(
                self.query()
                    .index_name(GSI1)
                    .key_condition_expression("gsi1pk = :p AND gsi1sk > :since")
                    .expression_attribute_values(":p", s(keys::chats_of(account)))
                    .expression_attribute_values(
                        ":since",
                        s(position(Some(&timestamp(&since)), "~")),
                    )
                    .scan_index_forward(false),
                limit,
            )
            .await?;
        items
            .iter()
            .take(limit)
            .map(|row| listed_chat(row, account))
            .collect()
    }

    async fn update_chat(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        change: ChatChange,
        now: DateTime<Utc>,
    ) -> Result<Chat, StoreError> {
        for _ in 0..ATTEMPTS {
            let stored = self.get(chat_key(account, chat)).await?;
            let version = stored.as_ref().and_then(|r| get_n(r, VERSION));
            let mut value = match &stored {
                Some(row) => chat_from(row, account, chat)?,
                None => Chat::new(account.clone(), chat.clone(), now),
            };
            value.apply(change.clone());
            let condition = match version {
                Some(_) => "dv = :v",
                None => "attribute_not_exists(dv)",
            };
            let mut update = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(chat_key(account, chat)))
                .update_expression(
                    "SET #d = :d, dv = :next, created = if_not_exists(created, :now), \
                     gsi1pk = :g, gsi1sk = if_not_exists(gsi1sk, :pos), chat_id = :c",
                )
                .condition_expression(condition)
                .expression_attribute_names("#d", item::DATA)
                .expression_attribute_values(":d", json(&value)?)
                .expression_attribute_values(":next", n(version.unwrap_or(0) + 1))
                .expression_attribute_values(":c", s(chat.as_str()))
                .expression_attribute_values(":now", s(timestamp(&value.created_at)))
                .expression_attribute_values(":g", s(keys::chats_of(account)))
                .expression_attribute_values(":pos", s(position(None, chat.as_str())));
            if let Some(v) = version {
                update = update.expression_attribute_values(":v", n(v));
            }
            if held(update.send().await)? {
                return Ok(value);
            }
        }
        Err(StoreError::Conflict(
            "the chat kept changing; try again".into(),
        ))
    }
}
