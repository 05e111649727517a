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

/// DynamoDB records an inbound message in ordered single writes, its provider id's record
/// first (the commit point). A run that stopped right after that record leaves the message to
/// the provider's redelivery, which stores it under the id the record names, with its chat,
/// and goes on as the first run would have; the next delivery is a duplicate of it.
#[tokio::test]
async fn dynamodb_stores_a_message_whose_first_recording_stopped_after_its_key() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use switchboard_core::domain::chat::ChatJid;
    use switchboard_core::domain::ids::AccountId;
    use switchboard_core::ports::{ChatStore, MessageStore, Recorded};

    let sdk = switchboard_tests::aws::sdk().await;
    let table = switchboard_tests::aws::fresh_table(&sdk).await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let store = switchboard_aws::DynamoStore::new(client.clone(), table.clone());
    let account = AccountId::from_ulid(ulid::Ulid::new());
    let chat = ChatJid::parse("15551234567@s.whatsapp.net").expect("jid");
    let delivery = |text: &str| {
        switchboard_tests::contract::inbound(&account, chat.as_str(), text, "wamid.STOPPED")
    };
    let first = delivery("hi");
    assert!(store.record_inbound(&first).await.expect("first").is_new());
    // What the first run had written when it stopped: the provider id's record alone.
    let items = client
        .scan()
        .table_name(&table)
        .send()
        .await
        .expect("scan")
        .items
        .unwrap_or_default();
    let mut removed = 0;
    for item in items {
        let pk = item
            .get("pk")
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default();
        if pk.starts_with("P#") {
            continue;
        }
        let sk = item
            .get("sk")
            .cloned()
            .unwrap_or(AttributeValue::S(String::new()));
        client
            .delete_item()
            .table_name(&table)
            .key("pk", AttributeValue::S(pk))
            .key("sk", sk)
            .send()
            .await
            .expect("delete");
        removed += 1;
    }
    assert_eq!(removed, 2, "the message and its chat");
    assert!(
        store
            .get_chat(&account, &chat)
            .await
            .expect("chat")
            .is_none(),
        "no chat before the redelivery"
    );

    let again = delivery("hi (redelivered)");
    let recorded = store.record_inbound(&again).await.expect("redelivery");
    let Recorded::New(stored) = recorded else {
        panic!("the redelivery stores the message: {recorded:?}");
    };
    assert_eq!(stored.id, first.id, "under the id the key's record names");
    assert_eq!(
        store
            .get_message(&account, &chat, &first.id)
            .await
            .expect("read")
            .map(|m| m.text),
        Some(Some("hi (redelivered)".to_string()))
    );
    let chat_now = store
        .get_chat(&account, &chat)
        .await
        .expect("chat")
        .expect("its chat");
    assert_eq!(chat_now.last_message_at, Some(again.created_at));
    let third = store
        .record_inbound(&delivery("again"))
        .await
        .expect("third");
    assert_eq!(third, Recorded::Existing(stored), "a duplicate of it");
}
