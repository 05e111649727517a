//! The store's exactly-once primitives, under racing callers.

use chrono::Utc;
use std::time::Duration;
use switchboard_core::domain::chat::ChatJid;
use switchboard_core::domain::ids::{AccountId, MessageId};
use switchboard_core::domain::message::{Message, MessageOrigin, MessageStatus};
use switchboard_core::ports::{Claim, ClaimStore, MessageStore};

fn queued_message() -> Message {
    Message::outbound(
        MessageId::from_ulid(ulid::Ulid::new()),
        &AccountId::from_ulid(ulid::Ulid::new()),
        ChatJid::parse("15551234567@s.whatsapp.net").expect("jid"),
        Some("hello".into()),
        MessageOrigin::Api,
        Utc::now(),
    )
}

#[tokio::test]
async fn a_claim_has_one_holder_until_it_expires() {
    let dir = tempfile::tempdir().expect("dir");
    let store = switchboard_embedded::open(dir.path()).expect("open").store;
    let now = Utc::now();
    let hold = Duration::from_secs(60);
    let (a, b) = tokio::join!(store.claim("k", now, hold), store.claim("k", now, hold));
    let mut outcomes = [a.expect("claim"), b.expect("claim")];
    outcomes.sort_by_key(|c| format!("{c:?}"));
    assert_eq!(outcomes, [Claim::Acquired, Claim::Busy]);
    let later = now + chrono::Duration::seconds(61);
    assert_eq!(
        store.claim("k", later, hold).await.expect("claim"),
        Claim::Acquired,
        "an expired claim is taken over"
    );
    assert_eq!(
        store
            .claim("k", later + chrono::Duration::seconds(30), hold)
            .await
            .expect("claim"),
        Claim::Busy,
        "the taker holds it for its own hold time"
    );
    assert_eq!(
        store.claim("other", now, hold).await.expect("claim"),
        Claim::Acquired
    );
}

#[tokio::test]
async fn one_of_racing_senders_sends_and_a_stalled_send_is_taken_over() {
    let dir = tempfile::tempdir().expect("dir");
    let store = switchboard_embedded::open(dir.path()).expect("open").store;
    let m = queued_message();
    store.record_outbound(&m).await.expect("record");
    let now = Utc::now();
    let lease = Duration::from_secs(120);
    let racers = futures::future::join_all(
        (0..8).map(|_| store.begin_send(&m.account_id, &m.id, now, lease)),
    )
    .await;
    let acquired = racers
        .iter()
        .filter(|r| matches!(r, Ok(Claim::Acquired)))
        .count();
    let busy = racers
        .iter()
        .filter(|r| matches!(r, Ok(Claim::Busy)))
        .count();
    assert_eq!((acquired, busy), (1, 7), "{racers:?}");

    let stalled = now + chrono::Duration::seconds(121);
    assert_eq!(
        store
            .begin_send(&m.account_id, &m.id, stalled, lease)
            .await
            .expect("begin"),
        Claim::Acquired,
        "a send whose sender stopped is taken over after the lease"
    );
    assert_eq!(
        store
            .begin_send(
                &m.account_id,
                &m.id,
                stalled + chrono::Duration::seconds(1),
                lease
            )
            .await
            .expect("begin"),
        Claim::Busy,
        "the new sender holds a fresh lease"
    );
    let sent = store
        .transition_message(
            &m.account_id,
            &m.id,
            &[MessageStatus::Sending],
            MessageStatus::Sent,
            Some("wamid.1"),
            None,
        )
        .await
        .expect("transition");
    assert!(sent);
    assert_eq!(
        store
            .begin_send(&m.account_id, &m.id, stalled, lease)
            .await
            .expect("begin"),
        Claim::Done,
        "a sent message is never sent again"
    );
    let unknown = MessageId::from_ulid(ulid::Ulid::new());
    assert_eq!(
        store
            .begin_send(&m.account_id, &unknown, now, lease)
            .await
            .expect("begin"),
        Claim::Done
    );
}
