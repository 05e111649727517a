//! The table's keys. One table holds everything; the README of this crate lists each access
//! pattern and the key that serves it. Ids are ULID-based, so sort keys built from them order
//! by time.

use switchboard_core::domain::chat::ChatJid;
use switchboard_core::domain::ids::{AccountId, AiLogId, ApiKeyId, AuditId, MessageId, WebhookId};

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const GSI1: &str = "gsi1";
pub const GSI1PK: &str = "gsi1pk";
pub const GSI1SK: &str = "gsi1sk";
pub const GSI2: &str = "gsi2";
pub const GSI2PK: &str = "gsi2pk";
pub const GSI2SK: &str = "gsi2sk";
/// Epoch seconds after which DynamoDB's TTL removes the item.
pub const TTL: &str = "ttl";

/// The account's partition: the account and its AI settings.
pub fn account(id: &AccountId) -> String {
    format!("A#{id}")
}
pub const ACCOUNT_SK: &str = "A";
pub const SETTINGS_SK: &str = "AI";
pub const GLOBAL_PK: &str = "G";
pub const ACCOUNTS: &str = "ACCOUNTS";

pub fn chats_of(account: &AccountId) -> String {
    format!("CHATS#{account}")
}

/// A chat's partition: the chat, its messages and AI log rows, so the conversation is one
/// Query.
pub fn conversation(account: &AccountId, chat: &ChatJid) -> String {
    format!("C#{account}#{chat}")
}
/// The chat itself, in its own partition: `N` sorts after every `M#` message, so one
/// descending Query from `M#` to `N` returns the chat and its newest messages.
pub const CHAT_SK: &str = "N";
pub fn message_sk(id: &MessageId) -> String {
    format!("M#{id}")
}
pub const MESSAGE_PREFIX: &str = "M#";
pub fn log_sk(id: &AiLogId) -> String {
    format!("L#{id}")
}
pub const LOG_PREFIX: &str = "L#";
/// An account's AI log rows, listed from `gsi2`.
pub fn logs_of(account: &AccountId) -> String {
    format!("LOGS#{account}")
}

/// A provider message id seen for an account (dedupe of inbound, lookup of quoted messages).
pub fn provider_id(account: &AccountId, provider_message_id: &str) -> String {
    format!("P#{account}#{provider_message_id}")
}
/// A client's idempotency key for a send.
pub fn idempotency(account: &AccountId, key: &str) -> String {
    format!("I#{account}#{key}")
}
pub const POINTER_SK: &str = "P";

pub fn claim(key: &str) -> String {
    format!("K#{key}")
}
pub const CLAIM_SK: &str = "K";

pub fn webhook(id: &WebhookId) -> String {
    format!("W#{id}")
}
pub const WEBHOOK_SK: &str = "W";
pub const WEBHOOKS: &str = "WEBHOOKS";
pub const ATTEMPT_PREFIX: &str = "T#";

/// An account's activity counts, one item per hour (sort key: the hour's start).
pub fn activity(account: &AccountId) -> String {
    format!("T#{account}")
}

/// Past every id character: an open upper bound in a key condition.
pub const HIGHEST: &str = "~";

/// A relay phone's outbox: `Q#{message}` while a message waits, `L#{message}` once leased.
pub fn outbox(account: &AccountId) -> String {
    format!("O#{account}")
}
pub const WAITING_PREFIX: &str = "Q#";
pub const LEASED_PREFIX: &str = "L#";

/// The state of a pace: its GCRA's theoretical arrival time.
pub fn rate(key: &str) -> String {
    format!("R#{key}")
}
pub const RATE_SK: &str = "R";

/// A client API key, listed from `gsi1` under `APIKEYS`.
pub fn api_key(id: &ApiKeyId) -> String {
    format!("AK#{id}")
}
pub const API_KEY_SK: &str = "AK";
pub const API_KEYS: &str = "APIKEYS";

/// An audit row, listed from `gsi1` under one of `AUDIT`'s shards and from `gsi2` under its
/// key.
pub fn audit(id: &AuditId) -> String {
    format!("U#{id}")
}
pub const AUDIT_SK: &str = "U";
pub const AUDIT: &str = "AUDIT";
pub fn audit_of(key: &ApiKeyId) -> String {
    format!("AUDIT#{key}")
}

/// A client's idempotency key, per API key.
pub fn client_idempotency(api_key: &ApiKeyId, key: &str) -> String {
    format!("IK#{api_key}#{key}")
}
pub const IDEMPOTENCY_SK: &str = "I";

/// Where a message sent through the client API lives, found by its id alone.
pub fn client_send(id: &MessageId) -> String {
    format!("D#{id}")
}
pub const CLIENT_SEND_SK: &str = "D";
/// The gsi1 partition of the `D#` items whose message waits for confirmation (sparse: the
/// decision removes the item from it).
pub const PENDING: &str = "PENDING";

/// How many `gsi1` partitions a list that every reply or every send writes (the AI logs, the
/// audit) is spread over. A partition takes about 1,000 writes a second: one partition for
/// such a list would throttle the whole table near that, whatever the accounts.
pub const SHARDS: u8 = 16;

/// The `gsi1` partition of list `list`'s row with this (ULID) id: by its last character, which
/// is random.
pub fn shard(list: &str, id: &str) -> String {
    let n = id.bytes().last().unwrap_or_default() % SHARDS;
    format!("{list}.{n:02}")
}

/// Every partition of list `list`: its shards, and the unsharded partition that rows written
/// before the lists were sharded stay in.
pub fn shards(list: &str) -> Vec<String> {
    (0..SHARDS)
        .map(|n| format!("{list}.{n:02}"))
        .chain(std::iter::once(list.to_string()))
        .collect()
}
