//! The store's sub-traits for the client messages API: keys, the audit, and a client's sends
//! (idempotency keys, the message with its audit row, decisions on a pending message).

use super::store::{StatusChange, StoreError};
use crate::domain::account::TokenHash;
use crate::domain::api_key::ApiKey;
use crate::domain::audit::{AuditEntry, AuditOutcome};
use crate::domain::idempotency::{Begun, IdempotencyKey, StoredAnswer};
use crate::domain::ids::{ApiKeyId, MessageId};
use crate::domain::message::Message;
use crate::domain::page::{Page, PageRequest};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Client API keys. A key is created and deleted together with its audit row.
#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    async fn insert_api_key(
        &self,
        key: &ApiKey,
        hash: &TokenHash,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;
    /// The key with the hash of its secret, in one read: what authenticating a request needs.
    async fn api_key_with_hash(
        &self,
        id: &ApiKeyId,
    ) -> Result<Option<(ApiKey, TokenHash)>, StoreError>;
    /// Oldest first; the cursor is a key id.
    async fn list_api_keys(&self, page: &PageRequest) -> Result<Page<ApiKey>, StoreError>;
    /// False when there was no such key (and then no audit row is written).
    async fn delete_api_key(&self, id: &ApiKeyId, audit: &AuditEntry) -> Result<bool, StoreError>;
}

/// Filters of the audit list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    pub key_id: Option<ApiKeyId>,
    pub outcome: Option<AuditOutcome>,
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn insert_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// Newest first; the cursor is an audit id.
    async fn list_audit(
        &self,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditEntry>, StoreError>;
}

/// A finished request's record under its idempotency key, written with its message.
#[derive(Debug, Clone, Copy)]
pub struct Finished<'a> {
    pub key: &'a IdempotencyKey,
    pub fingerprint: &'a str,
    pub answer: &'a StoredAnswer,
}

/// Sends through the client API: idempotency keys, the message with its audit row, and the
/// decisions on a pending message.
#[async_trait]
pub trait ClientSendStore: Send + Sync {
    /// Takes `key` for a request with `fingerprint`, unless a request with it is in flight (for
    /// up to `IN_FLIGHT_SECONDS`) or finished within `IDEMPOTENCY_HOURS`: one atomic step.
    async fn begin_idempotent(
        &self,
        key: &IdempotencyKey,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> Result<Begun, StoreError>;
    /// Frees a key whose request was refused, if it is still in flight: refusals are not kept.
    async fn release_idempotent(&self, key: &IdempotencyKey) -> Result<(), StoreError>;
    /// A client's send: the message (touching its chat when it has one), its audit row and,
    /// with a key, the key's finished record, in one transaction. The record is written only
    /// over this request's own hold (same fingerprint, still in flight).
    async fn record_client_send(
        &self,
        message: &Message,
        audit: &AuditEntry,
        finished: Option<Finished<'_>>,
    ) -> Result<(), StoreError>;
    /// A message by its id alone.
    async fn find_message(&self, id: &MessageId) -> Result<Option<Message>, StoreError>;
    /// The messages waiting for confirmation, oldest first; the cursor is a message id. A
    /// message leaves the list with the decision that moves it.
    async fn list_pending(&self, page: &PageRequest) -> Result<Page<Message>, StoreError>;
    /// A decision on a message (confirm, cancel, expire): `transition_message` and the audit
    /// row, in one write; the row is written only if the message moved.
    async fn decide(
        &self,
        message: &Message,
        change: &StatusChange<'_>,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError>;
}
