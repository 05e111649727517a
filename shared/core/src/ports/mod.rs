//! Ports: what the application needs from the outside world. Adapters (embedded, AWS, net)
//! implement them; use-cases take them as trait objects and never see a concrete backend.

mod cipher;
mod client_store;
mod clock;
mod llm;
mod media;
mod provider;
mod queue;
mod store;
mod webhook_sender;

pub use cipher::*;
pub use client_store::*;
pub use clock::*;
pub use llm::*;
pub use media::*;
pub use provider::*;
pub use queue::*;
pub use store::*;
pub use webhook_sender::*;

/// Declares `Store`, everything the application stores, from one list of sub-traits.
macro_rules! store_traits {
    ($($sub:ident),* $(,)?) => {
        /// Everything the application stores.
        pub trait Store: $($sub +)* {}
        impl<T> Store for T where T: $($sub +)* {}
    };
}

store_traits!(
    AccountStore,
    AiSettingsStore,
    ChatStore,
    MessageStore,
    ReplyStore,
    AiLogStore,
    ClaimStore,
    ContextStore,
    WebhookStore,
    OutboxStore,
    RateStore,
    ApiKeyStore,
    AuditStore,
    ClientSendStore,
    MediaStore,
    ActivityStore,
);
