//! The store contract on both backends: the embedded store on a fresh data dir, and DynamoDB on
//! the moto server the test command started.

use std::sync::Arc;
use switchboard_core::ports::Store;

/// The store keeps its data dir alive as long as the test holds it.
struct Embedded {
    store: Arc<dyn Store>,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for Embedded {
    type Target = dyn Store;
    fn deref(&self) -> &Self::Target {
        &*self.store
    }
}

async fn embedded() -> Embedded {
    let dir = tempfile::tempdir().expect("dir");
    let store = switchboard_embedded::open(dir.path()).expect("open").store;
    Embedded { store, _dir: dir }
}

mod embedded_store {
    switchboard_tests::store_contract!(super::embedded);
}

mod dynamodb_store {
    switchboard_tests::store_contract!(switchboard_tests::aws::dynamo_store);
}
