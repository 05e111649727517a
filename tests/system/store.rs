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

/// The embedded store's housekeeping: an idempotency record past the day it is honoured and a
/// claim that expired are deleted (DynamoDB's TTL does the same); one still in force is kept.
#[tokio::test]
async fn the_embedded_store_purges_what_has_expired() {
    use chrono::{Duration, Utc};
    use switchboard_core::domain::idempotency::{Begun, IdempotencyKey};
    use switchboard_core::domain::ids::ApiKeyId;
    use switchboard_core::ports::{ActivityStore, ClaimStore, ClientSendStore};
    let dir = tempfile::tempdir().expect("dir");
    let store = switchboard_embedded::open(dir.path()).expect("open").store;
    let now = Utc::now();
    let key = |k: &str| IdempotencyKey {
        api_key: ApiKeyId::from_ulid(ulid::Ulid::new()),
        key: k.into(),
    };
    let (old, fresh) = (key("old"), key("fresh"));
    let two_days_ago = now - Duration::hours(48);
    assert_eq!(
        store
            .begin_idempotent(&old, "f", two_days_ago)
            .await
            .expect("begin"),
        Begun::Taken
    );
    assert_eq!(
        store
            .begin_idempotent(&fresh, "f", now)
            .await
            .expect("begin"),
        Begun::Taken
    );
    store
        .claim(
            "reply:old",
            two_days_ago,
            std::time::Duration::from_secs(60),
        )
        .await
        .expect("claim");
    store
        .claim("reply:new", now, std::time::Duration::from_secs(600))
        .await
        .expect("claim");
    let account = switchboard_core::domain::ids::AccountId::from_ulid(ulid::Ulid::new());
    let hour = switchboard_core::domain::activity::hour_of(now);
    let one_in = switchboard_core::domain::activity::Activity {
        messages_in: 1,
        ..Default::default()
    };
    for at in [hour - Duration::hours(72), hour] {
        store
            .count_activity(&account, at, &one_in)
            .await
            .expect("count");
    }
    assert_eq!(store.purge_expired(now).await.expect("purge"), 3);
    let kept = store
        .activity_since(&account, hour - Duration::hours(100))
        .await
        .expect("sum");
    assert_eq!(
        kept, one_in,
        "this hour's count stays, the one of three days ago goes"
    );
    assert_eq!(
        store.purge_expired(now).await.expect("purge"),
        0,
        "nothing left to purge"
    );
    assert!(matches!(
        store
            .begin_idempotent(&fresh, "f", now)
            .await
            .expect("begin"),
        Begun::InFlight { .. }
    ));
    assert_eq!(
        store
            .claim("reply:new", now, std::time::Duration::from_secs(600))
            .await
            .expect("claim"),
        switchboard_core::ports::Claim::Busy
    );
}
