//! Embedded adapters: everything Switchboard stores and queues, durable in one SQLite file, and a
//! local AES-256-GCM cipher. This is what `switchboard serve` runs on; nothing here is a mock.

mod cached;
pub mod cipher;
mod db;
pub mod queue;
mod schema;
mod store;
pub mod worker;

pub use cipher::Keyring;
pub use db::{Database, Durability};
pub use queue::{EmbeddedQueue, Handed, ReceivedJob};
pub use store::EmbeddedStore;

use std::path::Path;
use std::sync::Arc;

/// The store and the queue, sharing one database file under `data_dir`.
pub struct Embedded {
    pub store: Arc<EmbeddedStore>,
    pub queue: Arc<EmbeddedQueue>,
    /// The database file was created by this open.
    pub created: bool,
}

pub fn open(data_dir: &Path) -> Result<Embedded, db::OpenError> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| db::OpenError(format!("{}: {e}", data_dir.display())))?;
    let db = Arc::new(Database::open(&data_dir.join("switchboard.db"))?);
    Ok(Embedded {
        created: db.created(),
        store: Arc::new(EmbeddedStore::new(db.clone())),
        queue: Arc::new(EmbeddedQueue::new(db)),
    })
}

/// A failure of SQLite (or of encoding a row), as the store port reports it.
pub(crate) fn backend(e: impl std::fmt::Display) -> switchboard_core::ports::StoreError {
    switchboard_core::ports::StoreError::Backend(e.to_string())
}
