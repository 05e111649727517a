//! The store: one sub-trait per entity (and one for the writes of an AI reply, which span a
//! message and a log row), composed into `Store`. Every method is one atomic operation on the
//! backend, so a failed call leaves nothing half-written.
//!
//! Adding a stored entity (webhooks, say) touches these files and no others:
//! 1. `domain/<entity>.rs` (new) and its line in `domain/mod.rs`; its id in `domain/ids.rs`.
//! 2. Here (or in `client_store.rs`, for the client API's): its sub-trait, and its name in
//!    `store_traits!` in `ports/mod.rs`.
//! 3. `shared/embedded/src/store/<entity>.rs` (new), its line in `store/mod.rs`, its table as a
//!    new migration in `shared/embedded/src/schema.rs`.
//! 4. `shared/aws/src/dynamo/<entity>.rs` (new, with its keys), its line in `dynamo/mod.rs`, and
//!    its items and access patterns in `shared/aws/README.md`.
//! 5. `tests/support/contract.rs`: a case, named in `store_contract!` (it runs on both stores).
//! 6. `usecases/<entity>.rs` (new) and its line in `usecases/mod.rs`.
//! 7. `http/routes/<entity>.rs` (new, with its `#[utoipa::path]`s) and its two lines in
//!    `http/routes/mod.rs`; the OpenAPI document and the route tests read it from there.
//! 8. `tests/system/<entity>.rs` (new) and its line in `tests/system/main.rs`.
//!
//! An entity that belongs to an account is deleted with it: `delete_account` in both stores.

use super::provider::Rate;
use crate::domain::account::{Account, TokenHash};
use crate::domain::activity::Activity;
use crate::domain::ai_log::{AiLog, AiLogStatus};
use crate::domain::ai_settings::{AiSettings, AiSettingsPatch};
use crate::domain::chat::{Chat, ChatChange, ChatJid};
use crate::domain::ids::{AccountId, AiLogId, MessageId, WebhookId};
use crate::domain::media::Media;
use crate::domain::message::{FailureCode, Message, MessageStatus};
use crate::domain::page::{Page, PageRequest};
use crate::domain::webhook::{DeliveryAttempt, Subscription};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness or state condition did not hold.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Backend(String),
}

/// The outcome of recording a message that may have been recorded before.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded<T = Message> {
    New(T),
    /// The same key (provider message id, idempotency key, inbound message of a log row) was
    /// recorded before; this is the first record, unchanged.
    Existing(T),
}

impl<T> Recorded<T> {
    pub fn into_inner(self) -> T {
        match self {
            Recorded::New(v) | Recorded::Existing(v) => v,
        }
    }

    pub fn is_new(&self) -> bool {
        matches!(self, Recorded::New(_))
    }
}

#[async_trait]
pub trait AccountStore: Send + Sync {
    async fn insert_account(&self, account: &Account, token: &TokenHash) -> Result<(), StoreError>;
    async fn get_account(&self, id: &AccountId) -> Result<Option<Account>, StoreError>;
    /// The account, perhaps as a configuration cache held it seconds ago: for the path every
    /// provider notification takes, where a read each would be paid per message and report.
    async fn recent_account(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        self.get_account(id).await
    }
    async fn list_accounts(&self, page: &PageRequest) -> Result<Page<Account>, StoreError>;
    /// Replaces name and provider configuration; false when the account does not exist.
    async fn update_account(&self, account: &Account) -> Result<bool, StoreError>;
    /// Removes the account with its configuration, chats and messages.
    async fn delete_account(&self, id: &AccountId) -> Result<bool, StoreError>;
    async fn set_token_hash(&self, id: &AccountId, token: &TokenHash) -> Result<bool, StoreError>;
    /// A relay phone called in: its `last_seen_at` moves forward to `at`.
    async fn mark_seen(&self, id: &AccountId, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// The account with the hash of its current token, in one read: what a request with an
    /// account token needs to be authenticated and served.
    async fn account_with_token(
        &self,
        id: &AccountId,
    ) -> Result<Option<(Account, TokenHash)>, StoreError>;
}

#[async_trait]
pub trait AiSettingsStore: Send + Sync {
    async fn global_ai(&self) -> Result<AiSettings, StoreError>;
    /// Applies a change to the global level atomically (concurrent changes to different fields
    /// both survive); returns the result.
    async fn update_global_ai(&self, patch: AiSettingsPatch) -> Result<AiSettings, StoreError>;
    /// An account without stored settings inherits everything (all `None`).
    async fn account_ai(&self, id: &AccountId) -> Result<AiSettings, StoreError>;
    /// Applies a change to an account's level atomically; returns the result.
    async fn update_account_ai(
        &self,
        id: &AccountId,
        patch: AiSettingsPatch,
    ) -> Result<AiSettings, StoreError>;
}

#[async_trait]
pub trait ChatStore: Send + Sync {
    async fn get_chat(
        &self,
        account: &AccountId,
        chat: &ChatJid,
    ) -> Result<Option<Chat>, StoreError>;
    /// Newest activity first.
    async fn list_chats(
        &self,
        account: &AccountId,
        page: &PageRequest,
    ) -> Result<Page<Chat>, StoreError>;
    /// The chats whose activity is later than `since`, newest first, at most `limit`: what
    /// moved in a list since it was last read.
    async fn chats_since(
        &self,
        account: &AccountId,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Chat>, StoreError>;
    /// Applies a change to a chat atomically, creating the chat first if it has not written yet.
    async fn update_chat(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        change: ChatChange,
        now: DateTime<Utc>,
    ) -> Result<Chat, StoreError>;
}

#[async_trait]
pub trait MessageStore: Send + Sync {
    /// Stores an inbound message once per (account, provider message id) and creates or touches
    /// its chat (a private chat takes the sender's push name), in one transaction.
    async fn record_inbound(&self, message: &Message) -> Result<Recorded, StoreError>;
    /// Stores an outbound message once per (account, idempotency key) when it has a key, and
    /// creates or touches its chat, in one transaction.
    async fn record_outbound(&self, message: &Message) -> Result<Recorded, StoreError>;
    async fn get_message(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        id: &MessageId,
    ) -> Result<Option<Message>, StoreError>;
    /// Takes a message for sending: `queued` (or `sending` whose taker stopped more than `lease`
    /// ago) becomes `sending`. Exactly one of two racing senders gets `Acquired`.
    async fn begin_send(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        id: &MessageId,
        now: DateTime<Utc>,
        lease: std::time::Duration,
    ) -> Result<Claim, StoreError>;
    /// A send that will be tried again: a `sending` message keeps its status (a status never
    /// moves back), says why in `error`, and lets its lease go so the next try takes it at once.
    /// False when it is not `sending` any more.
    async fn retry_send(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        id: &MessageId,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Moves a message to `change.to` only if its status is one of `change.from`; false
    /// otherwise. A message that reaches `sent` carries no error any more (a retry's note).
    async fn transition_message(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        id: &MessageId,
        change: &StatusChange<'_>,
    ) -> Result<bool, StoreError>;
    /// The chat's latest `limit` messages, newest first; with `through`, only that message and
    /// older ones. One query: this is the conversation the LLM sees.
    async fn recent_messages(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        through: Option<&MessageId>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError>;
    /// The account's message with this provider id (inbound, or outbound once sent).
    async fn find_by_provider_id(
        &self,
        account: &AccountId,
        provider_message_id: &str,
    ) -> Result<Option<Message>, StoreError>;
    /// Newest first; the cursor is a message id.
    async fn list_messages(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        page: &PageRequest,
    ) -> Result<Page<Message>, StoreError>;
}

/// A change of a message's status, allowed only from the statuses in `from`. The provider's id
/// and the error are set when given, and kept otherwise.
#[derive(Debug, Clone, Copy)]
pub struct StatusChange<'a> {
    pub from: &'a [MessageStatus],
    pub to: MessageStatus,
    pub provider_message_id: Option<&'a str>,
    pub error: Option<&'a str>,
    /// The failure's named code, set with its error.
    pub code: Option<FailureCode>,
}

/// Filters of the AI log list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AiLogFilter {
    pub account_id: Option<AccountId>,
    pub chat_id: Option<ChatJid>,
    pub status: Option<AiLogStatus>,
}

#[async_trait]
pub trait AiLogStore: Send + Sync {
    /// Replaces the row only if its status is still `expected`; false otherwise.
    async fn update_ai_log_if(
        &self,
        expected: AiLogStatus,
        log: &AiLog,
    ) -> Result<bool, StoreError>;
    /// Replies generated or sent in a chat since `since` (the loop guard's count).
    async fn count_replies_since(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError>;
    /// Writes the row unless one exists for its inbound message; returns the row that stands.
    /// A row deciding on an inbound message has that message's id (`AiLog::for_inbound`).
    async fn insert_ai_log(&self, log: &AiLog) -> Result<Recorded<AiLog>, StoreError>;
    async fn get_ai_log(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        id: &AiLogId,
    ) -> Result<Option<AiLog>, StoreError>;
    /// Newest first.
    async fn list_ai_logs(
        &self,
        filter: &AiLogFilter,
        page: &PageRequest,
    ) -> Result<Page<AiLog>, StoreError>;
}

/// The writes of an AI reply, which span its message and its AI log row and must happen
/// together.
#[async_trait]
pub trait ReplyStore: Send + Sync {
    /// A generated reply: its log row (once per inbound message) and the message that will
    /// send it. When a row exists for the inbound message nothing is written and that row is
    /// returned. A store may write the two in order, the row first: a row found without its
    /// message is one whose run stopped between them (`reply::resume_send` makes it). Unlike `record_outbound` the reply leaves its chat as
    /// the message it answers left it, seconds before: its `last_message_at` and its place in
    /// the list (one chat write per answered message, the one that moved it).
    async fn record_reply(
        &self,
        log: &AiLog,
        reply: &Message,
    ) -> Result<Recorded<AiLog>, StoreError>;
    /// An AI reply's send ended: `transition_message`, and its log row replaced by `log` if the
    /// row is still `generated`, in one write. The row is not touched unless the message moved.
    /// Returns whether the message moved and whether the row did.
    async fn settle_reply(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        id: &MessageId,
        change: &StatusChange<'_>,
        log: &AiLog,
    ) -> Result<(bool, bool), StoreError>;
}

/// The state of a claim on a piece of work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This caller holds it until the claim expires.
    Acquired,
    /// Someone else holds an unexpired claim.
    Busy,
    /// The work was completed before.
    Done,
}

/// Claims that make a job's expensive step run once even when the job is delivered twice or
/// two workers race; a claim whose holder crashed expires and can be taken over. The outcome
/// of the work is recorded elsewhere (the AI log row), which is what tells a later run that
/// the work is done.
#[async_trait]
pub trait ClaimStore: Send + Sync {
    /// `Acquired` or `Busy`.
    async fn claim(
        &self,
        key: &str,
        now: DateTime<Utc>,
        hold_for: std::time::Duration,
    ) -> Result<Claim, StoreError>;
}

/// Webhook subscriptions and the record of their delivery attempts.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    async fn insert_webhook(&self, webhook: &Subscription) -> Result<(), StoreError>;
    async fn get_webhook(&self, id: &WebhookId) -> Result<Option<Subscription>, StoreError>;
    /// Oldest first; the cursor is a webhook id.
    async fn list_webhooks(&self, page: &PageRequest) -> Result<Page<Subscription>, StoreError>;
    /// Every subscription that is not disabled (the fan-out filters by event and account).
    async fn active_webhooks(&self) -> Result<Vec<Subscription>, StoreError>;
    async fn update_webhook(&self, webhook: &Subscription) -> Result<bool, StoreError>;
    /// Deletes the subscription and its delivery records.
    async fn delete_webhook(&self, id: &WebhookId) -> Result<bool, StoreError>;
    async fn insert_attempt(&self, attempt: &DeliveryAttempt) -> Result<(), StoreError>;
    /// Newest first; the cursor is opaque.
    async fn list_attempts(
        &self,
        webhook: &WebhookId,
        page: &PageRequest,
    ) -> Result<Page<DeliveryAttempt>, StoreError>;
}

/// What the reply job decides on. Absent settings read as empty (every field inherited).
#[derive(Debug, Clone, Default)]
pub struct ReplyContext {
    pub account: Option<Account>,
    pub message: Option<Message>,
    /// The AI log row of the message, when it was decided before.
    pub decided: Option<AiLog>,
    pub chat: Option<Chat>,
    pub global_ai: AiSettings,
    pub account_ai: AiSettings,
    /// The chat's newest messages, newest first, up to the number asked for; they may be newer
    /// than `message`.
    pub recent: Vec<Message>,
    /// The chat's AI replies since the time asked for, the loop guard's count: counted in the
    /// same read, or from `recent` when it reaches back that far (`count_replies`).
    pub replies_since: u32,
}

/// What the send job needs before it sends.
#[derive(Debug, Clone, Default)]
pub struct SendContext {
    pub account: Option<Account>,
    pub message: Option<Message>,
    pub log: Option<AiLog>,
    pub chat: Option<Chat>,
}

/// The reads a job starts with, fetched together: one read transaction, or one batch get, in
/// place of a round trip each.
#[async_trait]
pub trait ContextStore: Send + Sync {
    async fn reply_context(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        message: &MessageId,
        history: usize,
        replies_since: DateTime<Utc>,
    ) -> Result<ReplyContext, StoreError>;
    async fn send_context(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        message: &MessageId,
        log: Option<&AiLogId>,
    ) -> Result<SendContext, StoreError>;
    /// The chat and its newest `limit` messages (newest first) in one read, which may lag a
    /// write by a moment (read by pages that poll it; they read again what changed lately).
    async fn conversation(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        limit: usize,
    ) -> Result<(Option<Chat>, Vec<Message>), StoreError>;
}

/// Each account's activity, counted per hour.
#[async_trait]
pub trait ActivityStore: Send + Sync {
    /// Adds `add` to the account's counts of the hour starting at `hour`.
    async fn count_activity(
        &self,
        account: &AccountId,
        hour: DateTime<Utc>,
        add: &Activity,
    ) -> Result<(), StoreError>;
    /// The sum of the account's counts of the hours from `since` on.
    async fn activity_since(
        &self,
        account: &AccountId,
        since: DateTime<Utc>,
    ) -> Result<Activity, StoreError>;
}

/// A relay phone's lease on a message it took from its outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxLease {
    pub chat: ChatJid,
    pub until: DateTime<Utc>,
}

/// A relay phone's outbox: the queued messages it pulls, oldest first, each handed to one poll
/// under a lease. The message itself carries the status; the outbox says where it waits.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Puts a message in its account's outbox; a message already there (waiting or leased)
    /// stays as it is.
    async fn put_in_outbox(&self, message: &Message) -> Result<(), StoreError>;
    /// Hands out up to `limit` of the oldest waiting messages: each moves from `queued` to
    /// `sending` and is leased until `until`, together, so that two polls never get the same
    /// message. A waiting message that is no longer `queued` (withdrawn) leaves the outbox.
    async fn lease_outbox(
        &self,
        account: &AccountId,
        limit: usize,
        until: DateTime<Utc>,
    ) -> Result<Vec<Message>, StoreError>;
    /// The lease on a message handed out before (kept after its report, so a repeated report
    /// finds its message).
    async fn outbox_lease(
        &self,
        account: &AccountId,
        message: &MessageId,
    ) -> Result<Option<OutboxLease>, StoreError>;
    /// A leased message that was not sent goes back to wait in the outbox, if it is `sending`
    /// under this lease: `sending` becomes `queued` with it, in one write. False otherwise.
    async fn return_to_outbox(
        &self,
        account: &AccountId,
        message: &MessageId,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}

/// Paces: how much of a rate a key has used. Taking is one atomic step, so that senders on
/// several instances share one pace.
#[async_trait]
pub trait RateStore: Send + Sync {
    /// Takes one unit of `key`'s `rate` now: `None` when taken, or how long until one is free
    /// (nothing is taken then).
    async fn take_rate(
        &self,
        key: &str,
        rate: Rate,
        now: DateTime<Utc>,
    ) -> Result<Option<std::time::Duration>, StoreError>;
}

/// What the stores keep for media, and a shared cache: text derived from media, cached by
/// content and model so the same file is paid for once (and an account's template list, so
/// every instance asks Meta once per ten minutes); the medium of a message as it was
/// understood; and a bridge's inline bytes until the reply job reads them.
#[async_trait]
pub trait MediaStore: Send + Sync {
    /// The text (a transcript, a description, a template list) cached under `key`, unless it
    /// expired.
    async fn cached_text(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError>;
    async fn cache_text(
        &self,
        key: &str,
        text: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Replaces the medium of a message (its status, what was read, its hash); the message
    /// changed `at` then (pages that poll a conversation show the transcript).
    async fn set_media(
        &self,
        account: &AccountId,
        chat: &ChatJid,
        message: &MessageId,
        media: &Media,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Keeps a message's inline bytes until `expires_at` (a backstop: the reply job forgets
    /// them once read).
    async fn keep_inline_media(
        &self,
        message: &str,
        bytes: &[u8],
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    async fn inline_media(&self, message: &str) -> Result<Option<Vec<u8>>, StoreError>;
    async fn forget_inline_media(&self, message: &str) -> Result<(), StoreError>;
}
