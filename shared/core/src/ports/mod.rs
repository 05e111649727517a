//! Ports: what the application needs from the outside world. Adapters (embedded, AWS, net)
//! implement them; use-cases take them as trait objects and never see a concrete backend.

mod cipher;
mod clock;
mod llm;
mod provider;
mod queue;
mod store;
mod webhook_sender;

pub use cipher::*;
pub use clock::*;
pub use llm::*;
pub use provider::*;
pub use queue::*;
pub use store::*;
pub use webhook_sender::*;
