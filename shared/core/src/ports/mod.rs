//! Ports: what the application needs from the outside world. Adapters (embedded, AWS) implement
//! them; use-cases take them as trait objects and never see a concrete backend.

mod cipher;
mod clock;
mod llm;
mod provider;
mod queue;
mod store;
mod webhook_sender;

pub use cipher::{Cipher, CipherError, SecretContext};
pub use clock::{Clock, IdGen, SystemClock, UlidGen};
pub use llm::{ChatMessage, Completion, CompletionRequest, Llm, LlmError, Role};
pub use provider::{Provider, ProviderError, ProviderReceipt, Providers};
pub use queue::{JobQueue, MAX_QUEUE_DELAY, OutgoingJob, QueueError, QueueName};
pub use store::{
    AccountStore, AiConfigStore, AiLogFilter, AiLogStore, ChatStore, Claim, ClaimStore,
    ContextStore, MessageStore, Recorded, ReplyContext, SendContext, StatusChange, Store,
    StoreError, WebhookStore,
};
pub use webhook_sender::{SendFailure, WebhookRequest, WebhookResponse, WebhookSender};
