//! The store's behaviour, written once and run against every backend (the embedded store and
//! DynamoDB on moto): `store_contract!` makes one test per case for a backend.

use chrono::{Duration as Span, Utc};
use std::time::Duration;
use switchboard_core::domain::account::{Account, TokenHash};
use switchboard_core::domain::ai_log::{AiLog, AiLogStatus};
use switchboard_core::domain::ai_settings::AiSettingsPatch;
use switchboard_core::domain::api_key::{ApiKey, Policy, Scope};
use switchboard_core::domain::audit::{AuditAction, AuditEntry, AuditOutcome};
use switchboard_core::domain::channel::Channel;
use switchboard_core::domain::chat::{ChatChange, ChatJid};
use switchboard_core::domain::event::EventType;
use switchboard_core::domain::idempotency::{
    Begun, IDEMPOTENCY_HOURS, IN_FLIGHT_SECONDS, IdempotencyKey, StoredAnswer,
};
use switchboard_core::domain::ids::{AccountId, AiLogId, EventId, MessageId, WebhookId};
use switchboard_core::domain::ids::{ApiKeyId, AuditId};
use switchboard_core::domain::media::{Media, MediaKind, MediaSource, MediaStatus};
use switchboard_core::domain::message::ClientSend;
use switchboard_core::domain::message::{Message, MessageOrigin, MessageStatus};
use switchboard_core::domain::page::{Page, PageRequest};
use switchboard_core::domain::patch::Change;
use switchboard_core::domain::provider::{ProviderKind, StoredProviderConfig};
use switchboard_core::domain::secret::SealedSecret;
use switchboard_core::domain::validation::{HttpUrl, Text};
use switchboard_core::domain::webhook::{
    AttemptStatus, DeliveryAttempt, EventFilter, Subscription,
};
use switchboard_core::ports::{
    AiLogFilter, AuditFilter, Claim, Finished, Recorded, StatusChange, Store, StoreError,
};

/// Makes `#[tokio::test]`s of every contract case, each on a fresh store from `$make`
/// (an async fn returning something that derefs to a `Store`).
#[macro_export]
macro_rules! store_contract {
    ($make:path) => {
        $crate::store_contract!(@cases $make;
            a_claim_has_one_holder_until_it_expires,
            one_of_racing_senders_sends_and_a_stalled_send_is_taken_over,
            an_inbound_message_is_recorded_once_per_provider_id,
            an_outbound_message_is_recorded_once_per_idempotency_key,
            the_conversation_is_newest_first_capped_and_bounded,
            messages_page_newest_first,
            a_sent_message_is_found_by_its_provider_id,
            a_transition_happens_only_from_the_expected_status,
            a_reply_and_its_log_row_settle_together,
            one_reply_is_recorded_per_inbound_message_under_a_race,
            ai_logs_update_conditionally_and_list_by_filter,
            the_loop_guard_counts_recent_replies_of_one_chat,
            the_reply_context_counts_the_chats_replies,
            job_contexts_read_what_the_jobs_decide_on,
            accounts_list_update_and_delete_with_everything_they_own,
            concurrent_setting_changes_both_survive,
            chats_keep_settings_and_activity_apart_and_list_newest_first,
            webhooks_and_their_attempts,
            a_relay_outbox_hands_each_message_to_one_poll,
            a_pace_allows_its_burst_then_spaces_takes,
            a_phone_is_seen_only_forward,
            api_keys_are_stored_with_their_hash_listed_and_deleted_with_their_audit,
            the_audit_lists_newest_first_by_key_and_outcome,
            an_idempotency_key_is_held_then_finished_with_its_message,
            a_decision_moves_a_pending_message_with_its_audit_row,
            media_readings_expire_media_is_kept_and_inline_bytes_are_forgotten,
            a_chat_keeps_its_window_and_consent_and_a_failure_its_code,
            an_open_chat_reads_its_changes_and_the_moved_chats_and_activity_adds_up,
        );
    };
    (@cases $make:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let store = $make().await;
                $crate::contract::$case(&*store).await;
            }
        )*
    };
}

/// Ids in creation order, as the app's generator makes them (two in one millisecond too).
fn next_ulid() -> ulid::Ulid {
    static IDS: std::sync::Mutex<Option<ulid::Generator>> = std::sync::Mutex::new(None);
    let mut ids = IDS.lock().expect("ids");
    ids.get_or_insert_with(ulid::Generator::new)
        .generate()
        .expect("ulid")
}

pub const CHAT: &str = "15551234567@s.whatsapp.net";

/// A setting's text, checked as a request's would be.
fn text<const MAX: usize>(s: &str) -> Text<MAX> {
    Text::parse("text", s.to_string()).expect("valid text")
}

fn jid(s: &str) -> ChatJid {
    ChatJid::parse(s).expect("jid")
}

fn new_account() -> Account {
    let now = Utc::now();
    Account {
        id: AccountId::from_ulid(next_ulid()),
        name: "shop".into(),
        provider: ProviderKind::Sandbox,
        provider_config: StoredProviderConfig::default(),
        created_at: now,
        updated_at: now,
        last_seen_at: None,
        consent: Default::default(),
    }
}

/// A contact's message in a private chat, with the provider's id.
pub fn inbound(account: &AccountId, chat: &str, text: &str, provider_id: &str) -> Message {
    let mut m = Message::outbound(
        MessageId::from_ulid(next_ulid()),
        account,
        jid(chat),
        Some(text.into()),
        MessageOrigin::Contact,
        Utc::now(),
    );
    m.from_me = false;
    m.from = "15551234567".into();
    m.status = MessageStatus::Received;
    m.push_name = Some("Ana".into());
    m.provider_message_id = Some(provider_id.into());
    m
}

fn outbound(account: &AccountId, chat: &str, text: &str) -> Message {
    Message::outbound(
        MessageId::from_ulid(next_ulid()),
        account,
        jid(chat),
        Some(text.into()),
        MessageOrigin::Api,
        Utc::now(),
    )
}

fn log_for(m: &Message, status: AiLogStatus) -> AiLog {
    AiLog {
        id: AiLogId::deciding(&m.id),
        account_id: m.account_id.clone(),
        chat_id: m.chat_id.clone(),
        inbound_message_id: Some(m.id.clone()),
        status,
        reason: None,
        model: Some("m".into()),
        latency_ms: Some(3),
        prompt_tokens: None,
        completion_tokens: None,
        reply: Some("hi".into()),
        error: None,
        created_at: Utc::now(),
        sent_at: None,
        reply_message_id: None,
        media: Vec::new(),
    }
}

fn page(limit: usize, after: Option<String>) -> PageRequest {
    PageRequest { limit, after }
}

/// Every item of a list, `limit` a page, in the order served; no page holds more than `limit`.
async fn every_page<T, F, Fut>(limit: usize, fetch: F) -> Vec<T>
where
    F: Fn(PageRequest) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, StoreError>>,
{
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let p = fetch(page(limit, after)).await.expect("page");
        assert!(p.items.len() <= limit, "a page holds at most its limit");
        all.extend(p.items);
        match p.next {
            Some(n) => after = Some(n),
            None => return all,
        }
    }
}

pub async fn a_claim_has_one_holder_until_it_expires(store: &dyn Store) {
    let now = Utc::now();
    let hold = Duration::from_secs(60);
    let (a, b) = tokio::join!(store.claim("k", now, hold), store.claim("k", now, hold));
    let mut outcomes = [a.expect("claim"), b.expect("claim")];
    outcomes.sort_by_key(|c| format!("{c:?}"));
    assert_eq!(outcomes, [Claim::Acquired, Claim::Busy]);
    let later = now + Span::seconds(61);
    assert_eq!(
        store.claim("k", later, hold).await.expect("claim"),
        Claim::Acquired,
        "an expired claim is taken over"
    );
    assert_eq!(
        store
            .claim("k", later + Span::seconds(30), hold)
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

pub async fn one_of_racing_senders_sends_and_a_stalled_send_is_taken_over(store: &dyn Store) {
    let account = new_account();
    let m = outbound(&account.id, CHAT, "hello");
    store.record_outbound(&m).await.expect("record");
    let now = Utc::now();
    let lease = Duration::from_secs(120);
    let racers = futures::future::join_all(
        (0..8).map(|_| store.begin_send(&m.account_id, &m.chat_id, &m.id, now, lease)),
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

    let stalled = now + Span::seconds(121);
    assert_eq!(
        store
            .begin_send(&m.account_id, &m.chat_id, &m.id, stalled, lease)
            .await
            .expect("begin"),
        Claim::Acquired,
        "a send whose sender stopped is taken over after the lease"
    );
    assert_eq!(
        store
            .begin_send(
                &m.account_id,
                &m.chat_id,
                &m.id,
                stalled + Span::seconds(1),
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
            &m.chat_id,
            &m.id,
            &StatusChange {
                from: &[MessageStatus::Sending],
                to: MessageStatus::Sent,
                provider_message_id: Some("wamid.1"),
                error: None,
                code: None,
            },
        )
        .await
        .expect("transition");
    assert!(sent);
    assert_eq!(
        store
            .begin_send(&m.account_id, &m.chat_id, &m.id, stalled, lease)
            .await
            .expect("begin"),
        Claim::Done,
        "a sent message is never sent again"
    );
    let unknown = MessageId::from_ulid(next_ulid());
    assert_eq!(
        store
            .begin_send(&m.account_id, &m.chat_id, &unknown, now, lease)
            .await
            .expect("begin"),
        Claim::Done
    );
}

pub async fn an_inbound_message_is_recorded_once_per_provider_id(store: &dyn Store) {
    let account = new_account();
    let first = inbound(&account.id, CHAT, "hi", "wamid.A");
    let again = inbound(&account.id, CHAT, "hi (redelivered)", "wamid.A");
    let (a, b) = tokio::join!(store.record_inbound(&first), store.record_inbound(&again));
    let (a, b) = (a.expect("first"), b.expect("again"));
    assert_eq!(
        [a.is_new(), b.is_new()].iter().filter(|n| **n).count(),
        1,
        "{a:?} {b:?}"
    );
    let winner = if a.is_new() {
        a.into_inner()
    } else {
        b.into_inner()
    };
    let replay = store
        .record_inbound(&inbound(&account.id, CHAT, "x", "wamid.A"))
        .await
        .expect("replay");
    assert_eq!(
        replay,
        Recorded::Existing(winner.clone()),
        "a repeat returns the first record unchanged"
    );
    let history = store
        .recent_messages(&account.id, &jid(CHAT), None, 20)
        .await
        .expect("history");
    assert_eq!(history.len(), 1, "one message stored");

    let chat = store
        .get_chat(&account.id, &jid(CHAT))
        .await
        .expect("chat")
        .expect("chat created");
    assert_eq!(
        chat.name.as_deref(),
        Some("Ana"),
        "a private chat takes the sender's name"
    );
    assert_eq!(chat.last_message_at, Some(winner.created_at));

    let other_account = new_account();
    let same_id_elsewhere = inbound(&other_account.id, CHAT, "hi", "wamid.A");
    assert!(
        store
            .record_inbound(&same_id_elsewhere)
            .await
            .expect("other")
            .is_new(),
        "provider ids are per account"
    );
}

pub async fn an_outbound_message_is_recorded_once_per_idempotency_key(store: &dyn Store) {
    let account = new_account();
    let mut first = outbound(&account.id, CHAT, "one");
    first.idempotency_key = Some("order-7".into());
    let mut retry = outbound(&account.id, CHAT, "one");
    retry.idempotency_key = Some("order-7".into());
    assert!(store.record_outbound(&first).await.expect("first").is_new());
    assert_eq!(
        store.record_outbound(&retry).await.expect("retry"),
        Recorded::Existing(first.clone())
    );
    let keyless = outbound(&account.id, CHAT, "two");
    assert!(
        store
            .record_outbound(&keyless)
            .await
            .expect("keyless")
            .is_new()
    );
    assert!(
        matches!(
            store.record_outbound(&keyless).await,
            Err(switchboard_core::ports::StoreError::Conflict(_))
        ),
        "the same message id twice is a conflict, not a second row"
    );
    let stored = store
        .get_message(&account.id, &jid(CHAT), &first.id)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(stored, first);
}

pub async fn the_conversation_is_newest_first_capped_and_bounded(store: &dyn Store) {
    let account = new_account();
    let mut ids = Vec::new();
    for i in 0..25 {
        let m = inbound(&account.id, CHAT, &format!("m{i}"), &format!("p{i}"));
        store.record_inbound(&m).await.expect("record");
        ids.push(m.id);
    }
    store
        .record_inbound(&inbound(
            &account.id,
            "15550000000@s.whatsapp.net",
            "elsewhere",
            "q",
        ))
        .await
        .expect("other chat");
    let recent = store
        .recent_messages(&account.id, &jid(CHAT), None, 20)
        .await
        .expect("recent");
    let texts: Vec<_> = recent
        .iter()
        .map(|m| m.text.clone().unwrap_or_default())
        .collect();
    let expected: Vec<_> = (5..25).rev().map(|i| format!("m{i}")).collect();
    assert_eq!(texts, expected);
    let through = store
        .recent_messages(&account.id, &jid(CHAT), Some(&ids[9]), 3)
        .await
        .expect("through");
    let texts: Vec<_> = through
        .iter()
        .map(|m| m.text.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        texts,
        ["m9", "m8", "m7"],
        "through a message: it and older ones"
    );
}

pub async fn messages_page_newest_first(store: &dyn Store) {
    let account = new_account();
    for i in 0..7 {
        store
            .record_inbound(&inbound(
                &account.id,
                CHAT,
                &format!("m{i}"),
                &format!("p{i}"),
            ))
            .await
            .expect("record");
    }
    let seen: Vec<String> = every_page(3, |p| {
        let (account, chat) = (&account.id, jid(CHAT));
        async move { store.list_messages(account, &chat, &p).await }
    })
    .await
    .iter()
    .map(|m| m.text.clone().unwrap_or_default())
    .collect();
    let expected: Vec<_> = (0..7).rev().map(|i| format!("m{i}")).collect();
    assert_eq!(seen, expected);
}

pub async fn a_sent_message_is_found_by_its_provider_id(store: &dyn Store) {
    let account = new_account();
    let m = inbound(&account.id, CHAT, "hi", "wamid.IN");
    store.record_inbound(&m).await.expect("record");
    assert_eq!(
        store
            .find_by_provider_id(&account.id, "wamid.IN")
            .await
            .expect("find")
            .map(|f| f.id),
        Some(m.id)
    );
    let reply = outbound(&account.id, CHAT, "hello");
    store.record_outbound(&reply).await.expect("reply");
    assert_eq!(
        store
            .find_by_provider_id(&account.id, "wamid.OUT")
            .await
            .expect("find"),
        None
    );
    store
        .transition_message(
            &account.id,
            &reply.chat_id,
            &reply.id,
            &StatusChange {
                from: &[MessageStatus::Queued],
                to: MessageStatus::Sent,
                provider_message_id: Some("wamid.OUT"),
                error: None,
                code: None,
            },
        )
        .await
        .expect("sent");
    let found = store
        .find_by_provider_id(&account.id, "wamid.OUT")
        .await
        .expect("find")
        .expect("found once sent");
    assert_eq!(
        (found.id, found.status, found.provider_message_id.as_deref()),
        (reply.id, MessageStatus::Sent, Some("wamid.OUT"))
    );
    assert_eq!(
        store
            .find_by_provider_id(&new_account().id, "wamid.OUT")
            .await
            .expect("find"),
        None,
        "per account"
    );
}

pub async fn a_transition_happens_only_from_the_expected_status(store: &dyn Store) {
    let account = new_account();
    let m = outbound(&account.id, CHAT, "x");
    store.record_outbound(&m).await.expect("record");
    let moved = |from: &'static [MessageStatus], to, error: Option<&'static str>| {
        let m = m.clone();
        async move {
            store
                .transition_message(
                    &m.account_id,
                    &m.chat_id,
                    &m.id,
                    &StatusChange {
                        from,
                        to,
                        provider_message_id: None,
                        error,
                        code: None,
                    },
                )
                .await
                .expect("transition")
        }
    };
    assert!(
        !moved(&[MessageStatus::Sending], MessageStatus::Sent, None).await,
        "not sending yet"
    );
    assert!(
        moved(
            &[MessageStatus::Queued, MessageStatus::Sending],
            MessageStatus::Failed,
            Some("no route")
        )
        .await
    );
    assert!(
        !moved(
            &[MessageStatus::Queued, MessageStatus::Sending],
            MessageStatus::Sent,
            None
        )
        .await,
        "settled"
    );
    let stored = store
        .get_message(&m.account_id, &m.chat_id, &m.id)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(
        (stored.status, stored.error.as_deref()),
        (MessageStatus::Failed, Some("no route"))
    );
    assert!(stored.updated_at >= m.updated_at);
    let unknown = MessageId::from_ulid(next_ulid());
    assert!(
        !store
            .transition_message(
                &m.account_id,
                &m.chat_id,
                &unknown,
                &StatusChange {
                    from: &[MessageStatus::Queued],
                    to: MessageStatus::Sent,
                    provider_message_id: None,
                    error: None,
                    code: None,
                }
            )
            .await
            .expect("unknown")
    );
    assert_eq!(
        store
            .get_message(&m.account_id, &m.chat_id, &unknown)
            .await
            .expect("get"),
        None,
        "nothing created"
    );
}

pub async fn one_reply_is_recorded_per_inbound_message_under_a_race(store: &dyn Store) {
    let account = new_account();
    let m = inbound(&account.id, CHAT, "hi", "wamid.R");
    store.record_inbound(&m).await.expect("inbound");
    let reply_of = |text: &str| {
        let mut r = outbound(&account.id, CHAT, text);
        r.origin = MessageOrigin::Ai;
        r.idempotency_key = Some(format!("ai-reply:{}", m.id));
        r
    };
    // Two runs' rows for one message share its id; they differ in what they generated.
    let log_of = |text: &str| AiLog {
        reply: Some(text.into()),
        ..log_for(&m, AiLogStatus::Generated)
    };
    let (log_a, reply_a) = (log_of("a"), reply_of("a"));
    let (log_b, reply_b) = (log_of("b"), reply_of("b"));
    let (a, b) = tokio::join!(
        store.record_reply(&log_a, &reply_a),
        store.record_reply(&log_b, &reply_b)
    );
    let (a, b) = (a.expect("a"), b.expect("b"));
    assert_eq!(
        [a.is_new(), b.is_new()].iter().filter(|n| **n).count(),
        1,
        "{a:?} {b:?}"
    );
    let winner = if a.is_new() {
        a.into_inner()
    } else {
        b.into_inner()
    };
    assert_eq!(
        store
            .record_reply(&log_for(&m, AiLogStatus::Generated), &reply_of("c"))
            .await
            .expect("late"),
        Recorded::Existing(winner.clone())
    );
    assert_eq!(
        store
            .insert_ai_log(&log_for(&m, AiLogStatus::Skipped))
            .await
            .expect("skip"),
        Recorded::Existing(winner.clone()),
        "a skip after the reply does not replace it"
    );
    let history = store
        .recent_messages(&account.id, &jid(CHAT), None, 20)
        .await
        .expect("history");
    let replies: Vec<_> = history
        .iter()
        .filter(|h| h.origin == MessageOrigin::Ai)
        .collect();
    assert_eq!(replies.len(), 1, "one reply message: {history:?}");
    assert_eq!(replies[0].status, MessageStatus::Queued);
    assert_eq!(
        replies[0].text, winner.reply,
        "the reply of the row that stands"
    );
    let context = store
        .reply_context(&account.id, &jid(CHAT), &m.id, 20, Utc::now())
        .await
        .expect("context");
    assert_eq!(context.decided, Some(winner));
    // The reply answers the message that moved the chat: it costs the chat no second write.
    let chat = store
        .get_chat(&account.id, &jid(CHAT))
        .await
        .expect("chat")
        .expect("the inbound's chat");
    assert!(replies[0].created_at > m.created_at, "the reply is later");
    assert_eq!(chat.last_message_at, Some(m.created_at));
}

pub async fn ai_logs_update_conditionally_and_list_by_filter(store: &dyn Store) {
    let (one, two) = (new_account(), new_account());
    // Stored: the list across accounts is its accounts' lists (the store may list it so).
    for account in [&one, &two] {
        store
            .insert_account(account, &TokenHash(format!("hash-{}", account.id)))
            .await
            .expect("account");
    }
    let mut logs = Vec::new();
    for (account, chat, status) in [
        (&one, CHAT, AiLogStatus::Skipped),
        (&one, CHAT, AiLogStatus::Generated),
        (&one, "15550000000@s.whatsapp.net", AiLogStatus::Generated),
        (&two, CHAT, AiLogStatus::Generated),
        (&one, CHAT, AiLogStatus::Generated),
    ] {
        let m = inbound(&account.id, chat, "hi", &next_ulid().to_string());
        store.record_inbound(&m).await.expect("inbound");
        let log = log_for(&m, status);
        assert!(store.insert_ai_log(&log).await.expect("log").is_new());
        logs.push(log);
    }
    let mut sent = logs[1].clone();
    sent.status = AiLogStatus::Sent;
    sent.sent_at = Some(Utc::now());
    assert!(
        store
            .update_ai_log_if(AiLogStatus::Generated, &sent)
            .await
            .expect("update")
    );
    assert!(
        !store
            .update_ai_log_if(AiLogStatus::Generated, &sent)
            .await
            .expect("again"),
        "no longer generated"
    );
    assert_eq!(
        store
            .get_ai_log(&sent.account_id, &sent.chat_id, &sent.id)
            .await
            .expect("get"),
        Some(sent.clone())
    );

    let ids = |filter: AiLogFilter| async move {
        every_page(2, |p| {
            let filter = &filter;
            async move { store.list_ai_logs(filter, &p).await }
        })
        .await
        .into_iter()
        .map(|l| l.id)
        .collect::<Vec<_>>()
    };
    let newest_first = |picked: &[usize]| {
        picked
            .iter()
            .rev()
            .map(|i| logs[*i].id.clone())
            .collect::<Vec<_>>()
    };
    let of_one = ids(AiLogFilter {
        account_id: Some(one.id.clone()),
        ..Default::default()
    })
    .await;
    assert_eq!(of_one, newest_first(&[0, 1, 2, 4]));
    let of_chat = ids(AiLogFilter {
        account_id: Some(one.id.clone()),
        chat_id: Some(jid(CHAT)),
        ..Default::default()
    })
    .await;
    assert_eq!(of_chat, newest_first(&[0, 1, 4]));
    let generated = ids(AiLogFilter {
        account_id: Some(one.id.clone()),
        status: Some(AiLogStatus::Generated),
        ..Default::default()
    })
    .await;
    assert_eq!(generated, newest_first(&[2, 4]));
    let all = ids(AiLogFilter::default()).await;
    for log in &logs {
        assert!(
            all.contains(&log.id),
            "every account's rows in the unfiltered list"
        );
    }
}

/// Two replies in one chat (one generated, one sent), beside decisions that are not replies
/// and a reply in another chat.
async fn two_replies_in_one_chat(store: &dyn Store) -> Account {
    let account = new_account();
    for (status, chat) in [
        (AiLogStatus::Generated, CHAT),
        (AiLogStatus::Sent, CHAT),
        (AiLogStatus::Skipped, CHAT),
        (AiLogStatus::Failed, CHAT),
        (AiLogStatus::Sent, "15550000000@s.whatsapp.net"),
    ] {
        let m = inbound(&account.id, chat, "hi", &next_ulid().to_string());
        store.record_inbound(&m).await.expect("inbound");
        let log = log_for(&m, AiLogStatus::Generated);
        match status {
            AiLogStatus::Generated | AiLogStatus::Sent => {
                let mut reply = outbound(&account.id, chat, "hello");
                reply.origin = MessageOrigin::Ai;
                reply.idempotency_key = Some(format!("ai-reply:{}", m.id));
                store.record_reply(&log, &reply).await.expect("reply");
                if status == AiLogStatus::Sent {
                    let sent = AiLog {
                        status,
                        ..log.clone()
                    };
                    let change = StatusChange {
                        from: &[MessageStatus::Queued],
                        to: MessageStatus::Sent,
                        provider_message_id: None,
                        error: None,
                        code: None,
                    };
                    let settled = store
                        .settle_reply(&account.id, &reply.chat_id, &reply.id, &change, &sent)
                        .await
                        .expect("settle");
                    assert_eq!(settled, (true, true));
                }
            }
            _ => {
                let decided = AiLog { status, ..log };
                store.insert_ai_log(&decided).await.expect("log");
            }
        }
    }
    account
}

/// What the reply job's context counts, reading the chat's `history` newest messages.
async fn counted_in_context(
    store: &dyn Store,
    account: &Account,
    history: usize,
    since: chrono::DateTime<Utc>,
) -> u32 {
    let any = MessageId::from_ulid(next_ulid());
    store
        .reply_context(&account.id, &jid(CHAT), &any, history, since)
        .await
        .expect("context")
        .replies_since
}

pub async fn the_loop_guard_counts_recent_replies_of_one_chat(store: &dyn Store) {
    let account = two_replies_in_one_chat(store).await;
    let hour_ago = Utc::now() - Span::hours(1);
    assert_eq!(
        store
            .count_replies_since(&account.id, &jid(CHAT), hour_ago)
            .await
            .expect("count"),
        2
    );
    let future = Utc::now() + Span::seconds(5);
    assert_eq!(
        store
            .count_replies_since(&account.id, &jid(CHAT), future)
            .await
            .expect("count"),
        0
    );
}

/// The reply job's context counts the same, whether the newest messages it reads hold the
/// whole chat (20) or not (1: the store has to count beyond them).
pub async fn the_reply_context_counts_the_chats_replies(store: &dyn Store) {
    let account = two_replies_in_one_chat(store).await;
    let hour_ago = Utc::now() - Span::hours(1);
    let future = Utc::now() + Span::seconds(5);
    for history in [20, 1] {
        assert_eq!(
            counted_in_context(store, &account, history, hour_ago).await,
            2,
            "reading {history} messages"
        );
        assert_eq!(
            counted_in_context(store, &account, history, future).await,
            0,
            "reading {history} messages"
        );
    }
}

pub async fn job_contexts_read_what_the_jobs_decide_on(store: &dyn Store) {
    let account = new_account();
    store
        .insert_account(&account, &TokenHash("h".into()))
        .await
        .expect("account");
    let patch = AiSettingsPatch {
        model_name: Change::Set(text("global-model")),
        ..Default::default()
    };
    store.update_global_ai(patch).await.expect("global");
    let patch = AiSettingsPatch {
        echo_mode: Change::Set(true),
        ..Default::default()
    };
    store
        .update_account_ai(&account.id, patch)
        .await
        .expect("account ai");
    let m = inbound(&account.id, CHAT, "hi", "p1");
    store.record_inbound(&m).await.expect("inbound");

    let ctx = store
        .reply_context(&account.id, &jid(CHAT), &m.id, 20, Utc::now())
        .await
        .expect("reply context");
    assert_eq!(ctx.account.as_ref().map(|a| &a.id), Some(&account.id));
    assert_eq!(ctx.message.as_ref(), Some(&m));
    assert_eq!(ctx.decided, None);
    assert_eq!(
        ctx.chat.as_ref().map(|c| c.name.as_deref()),
        Some(Some("Ana"))
    );
    assert_eq!(ctx.global_ai.model_name.as_deref(), Some("global-model"));
    assert_eq!(ctx.account_ai.echo_mode, Some(true));
    assert_eq!(ctx.recent, vec![m.clone()], "the chat's newest messages");

    let newer = inbound(&account.id, CHAT, "newer", "p2");
    store.record_inbound(&newer).await.expect("newer");
    let late = store
        .reply_context(&account.id, &jid(CHAT), &m.id, 1, Utc::now())
        .await
        .expect("late job");
    assert_eq!(
        late.message.as_ref(),
        Some(&m),
        "found beyond the newest asked for"
    );
    assert_eq!(late.recent, vec![newer.clone()]);

    let (reply, log) = reply_to(store, &account, &m).await;
    let ctx = store
        .send_context(&account.id, &jid(CHAT), &reply.id, Some(&log.id))
        .await
        .expect("send context");
    assert_eq!(ctx.message.as_ref(), Some(&reply));
    assert_eq!(ctx.log.as_ref(), Some(&log));
    assert!(ctx.account.is_some() && ctx.chat.is_some());

    let nobody = AccountId::from_ulid(next_ulid());
    let empty = store
        .reply_context(&nobody, &jid(CHAT), &m.id, 20, Utc::now())
        .await
        .expect("empty");
    assert!(empty.account.is_none() && empty.message.is_none() && empty.chat.is_none());
    assert_eq!(empty.account_ai, Default::default());
}

pub async fn accounts_list_update_and_delete_with_everything_they_own(store: &dyn Store) {
    let mut created = Vec::new();
    for _ in 0..5 {
        let a = new_account();
        store
            .insert_account(&a, &TokenHash(format!("hash-{}", a.id)))
            .await
            .expect("insert");
        created.push(a);
    }
    assert!(
        store
            .insert_account(&created[0], &TokenHash("x".into()))
            .await
            .is_err(),
        "an id is taken once"
    );
    let listed: Vec<AccountId> = every_page(2, |p| async move { store.list_accounts(&p).await })
        .await
        .into_iter()
        .map(|a| a.id)
        .collect();
    for a in &created {
        assert!(listed.contains(&a.id));
    }
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(listed, sorted, "oldest first");

    let mut renamed = created[0].clone();
    renamed.name = "renamed".into();
    assert!(store.update_account(&renamed).await.expect("update"));
    assert_eq!(
        store.get_account(&renamed.id).await.expect("get"),
        Some(renamed.clone())
    );
    assert_eq!(
        store.account_with_token(&renamed.id).await.expect("hash"),
        Some((renamed.clone(), TokenHash(format!("hash-{}", renamed.id)))),
        "a rename keeps the token"
    );
    assert!(
        store
            .set_token_hash(&renamed.id, &TokenHash("new".into()))
            .await
            .expect("rotate")
    );
    assert_eq!(
        store.account_with_token(&renamed.id).await.expect("hash"),
        Some((renamed.clone(), TokenHash("new".into())))
    );
    let ghost = new_account();
    assert!(!store.update_account(&ghost).await.expect("ghost"));
    assert!(
        !store
            .set_token_hash(&ghost.id, &TokenHash("x".into()))
            .await
            .expect("ghost")
    );
    assert_eq!(
        store.get_account(&ghost.id).await.expect("ghost"),
        None,
        "nothing created"
    );

    let doomed = &created[1];
    let m = inbound(&doomed.id, CHAT, "hi", "p");
    store.record_inbound(&m).await.expect("inbound");
    store
        .insert_ai_log(&log_for(&m, AiLogStatus::Skipped))
        .await
        .expect("log");
    store
        .update_account_ai(
            &doomed.id,
            AiSettingsPatch {
                echo_mode: Change::Set(true),
                ..Default::default()
            },
        )
        .await
        .expect("ai");
    let hook = subscription(Some(doomed.id.clone()));
    store.insert_webhook(&hook).await.expect("hook");
    let waiting = waiting_in_outbox(store, &doomed.id, "to the phone").await;
    let kept = inbound(&created[2].id, CHAT, "kept", "p");
    store.record_inbound(&kept).await.expect("kept");

    assert!(store.delete_account(&doomed.id).await.expect("delete"));
    assert!(!store.delete_account(&doomed.id).await.expect("again"));
    assert_eq!(store.get_account(&doomed.id).await.expect("get"), None);
    assert!(
        store
            .recent_messages(&doomed.id, &jid(CHAT), None, 20)
            .await
            .expect("messages")
            .is_empty()
    );
    assert_eq!(
        store.get_chat(&doomed.id, &jid(CHAT)).await.expect("chat"),
        None
    );
    assert_eq!(
        store.account_ai(&doomed.id).await.expect("ai"),
        Default::default()
    );
    assert_eq!(store.get_webhook(&hook.id).await.expect("hook"), None);
    let until = Utc::now() + Span::minutes(1);
    assert!(
        store
            .lease_outbox(&doomed.id, 10, until)
            .await
            .expect("outbox")
            .is_empty(),
        "its outbox went with it"
    );
    assert_eq!(
        store
            .outbox_lease(&doomed.id, &waiting.id)
            .await
            .expect("lease"),
        None
    );
    let logs = store
        .list_ai_logs(
            &AiLogFilter {
                account_id: Some(doomed.id.clone()),
                ..Default::default()
            },
            &page(10, None),
        )
        .await
        .expect("logs");
    assert!(logs.items.is_empty());
    assert_eq!(
        store
            .recent_messages(&created[2].id, &jid(CHAT), None, 20)
            .await
            .expect("kept")
            .len(),
        1,
        "other accounts keep theirs"
    );
}

pub async fn concurrent_setting_changes_both_survive(store: &dyn Store) {
    let account = new_account();
    let model = AiSettingsPatch {
        model_name: Change::Set(text("m")),
        ..Default::default()
    };
    let echo = AiSettingsPatch {
        echo_mode: Change::Set(true),
        ..Default::default()
    };
    let prompt = AiSettingsPatch {
        default_system_prompt: Change::Set(text("be brief")),
        ..Default::default()
    };
    let (a, b, c) = tokio::join!(
        store.update_account_ai(&account.id, model),
        store.update_account_ai(&account.id, echo),
        store.update_account_ai(&account.id, prompt),
    );
    a.expect("a");
    b.expect("b");
    c.expect("c");
    let s = store.account_ai(&account.id).await.expect("read");
    assert_eq!(
        (
            s.model_name.as_deref(),
            s.echo_mode,
            s.default_system_prompt.as_deref()
        ),
        (Some("m"), Some(true), Some("be brief"))
    );
    let cleared = store
        .update_account_ai(
            &account.id,
            AiSettingsPatch {
                echo_mode: Change::Clear,
                ..Default::default()
            },
        )
        .await
        .expect("clear");
    assert_eq!(cleared.echo_mode, None);
    assert_eq!(
        store.account_ai(&account.id).await.expect("read").echo_mode,
        None
    );
    assert_eq!(
        store.global_ai().await.expect("global").model_name,
        None,
        "levels are apart"
    );
    let url = HttpUrl::parse("base_url", "https://llm.example.com/v1").expect("url");
    let g = store
        .update_global_ai(AiSettingsPatch {
            base_url: Change::Set(url.clone()),
            ..Default::default()
        })
        .await
        .expect("global");
    assert_eq!(g.base_url, Some(url));
}

pub async fn chats_keep_settings_and_activity_apart_and_list_newest_first(store: &dyn Store) {
    let account = new_account();
    let chats = [
        "15550000001@s.whatsapp.net",
        "15550000002@s.whatsapp.net",
        "120363025246125486@g.us",
    ];
    for (i, chat) in chats.iter().enumerate() {
        store
            .record_inbound(&inbound(&account.id, chat, "hi", &format!("p{i}")))
            .await
            .expect("inbound");
    }
    let now = Utc::now();
    let until = now + Span::minutes(30);
    let first = jid(chats[0]);
    let (blocked, paused) = tokio::join!(
        store.update_chat(&account.id, &first, ChatChange::Blocked(true), now),
        store.update_chat(&account.id, &first, ChatChange::PauseAi { until }, now),
    );
    blocked.expect("blocked");
    paused.expect("paused");
    store
        .record_inbound(&inbound(&account.id, chats[0], "again", "p9"))
        .await
        .expect("activity");
    let c = store
        .get_chat(&account.id, &jid(chats[0]))
        .await
        .expect("get")
        .expect("chat");
    assert!(c.blocked, "both changes survive");
    assert_eq!(
        c.ai_paused_until.map(|t| t.timestamp_millis()),
        Some(until.timestamp_millis())
    );
    assert_eq!(c.name.as_deref(), Some("Ana"));
    let group = store
        .get_chat(&account.id, &jid(chats[2]))
        .await
        .expect("get")
        .expect("group");
    assert_eq!(group.name, None, "a group does not take a sender's name");

    let fresh = store
        .update_chat(
            &account.id,
            &jid("15550000003@s.whatsapp.net"),
            ChatChange::Blocked(true),
            now,
        )
        .await
        .expect("new chat");
    assert!(fresh.blocked && fresh.last_message_at.is_none());

    let listed: Vec<String> = every_page(2, |p| {
        let account = &account.id;
        async move { store.list_chats(account, &p).await }
    })
    .await
    .iter()
    .map(|c| c.chat_id.to_string())
    .collect();
    assert_eq!(
        listed,
        [chats[0], chats[2], chats[1], "15550000003@s.whatsapp.net"],
        "newest activity first; no activity last"
    );
}

fn subscription(account: Option<AccountId>) -> Subscription {
    Subscription {
        id: WebhookId::from_ulid(next_ulid()),
        url: HttpUrl::parse("url", "https://hooks.example.com/in").expect("url"),
        events: EventFilter::Only(vec![EventType::MessageReceived]),
        account_id: account,
        disabled: false,
        disabled_reason: None,
        failing_since: None,
        secret: SealedSecret("sealed".into()),
        created_at: Utc::now(),
    }
}

pub async fn webhooks_and_their_attempts(store: &dyn Store) {
    let (a, b) = (subscription(None), subscription(Some(new_account().id)));
    store.insert_webhook(&a).await.expect("a");
    store.insert_webhook(&b).await.expect("b");
    assert!(store.insert_webhook(&a).await.is_err());
    let mut off = b.clone();
    off.disabled = true;
    off.disabled_reason = Some("gone".into());
    assert!(store.update_webhook(&off).await.expect("disable"));
    assert!(
        !store
            .update_webhook(&subscription(None))
            .await
            .expect("unknown")
    );
    let active: Vec<_> = store
        .active_webhooks()
        .await
        .expect("active")
        .into_iter()
        .map(|w| w.id)
        .collect();
    assert!(active.contains(&a.id) && !active.contains(&b.id));
    assert_eq!(store.get_webhook(&b.id).await.expect("get"), Some(off));

    let event = EventId::from_ulid(next_ulid());
    for n in 1..=5u32 {
        let attempt = DeliveryAttempt {
            webhook_id: a.id.clone(),
            event_id: event.clone(),
            event_type: EventType::MessageReceived,
            attempt: n,
            status: if n < 5 {
                AttemptStatus::Retrying
            } else {
                AttemptStatus::Succeeded
            },
            status_code: Some(if n < 5 { 500 } else { 200 }),
            latency_ms: 5,
            error: None,
            next_retry_at: None,
            created_at: Utc::now() + Span::milliseconds(n as i64),
        };
        store.insert_attempt(&attempt).await.expect("attempt");
    }
    let numbers: Vec<u32> = every_page(2, |p| {
        let webhook = &a.id;
        async move { store.list_attempts(webhook, &p).await }
    })
    .await
    .iter()
    .map(|x| x.attempt)
    .collect();
    assert_eq!(numbers, [5, 4, 3, 2, 1], "newest first");
    let bad = store
        .list_attempts(&a.id, &page(2, Some("not-a-cursor".into())))
        .await
        .expect("bad cursor");
    assert!(bad.items.is_empty());

    assert!(store.delete_webhook(&a.id).await.expect("delete"));
    assert!(!store.delete_webhook(&a.id).await.expect("again"));
    assert!(
        store
            .list_attempts(&a.id, &page(10, None))
            .await
            .expect("gone")
            .items
            .is_empty()
    );
}

/// An AI reply to `inbound`, recorded as generated and waiting to be sent.
async fn reply_to(store: &dyn Store, account: &Account, inbound: &Message) -> (Message, AiLog) {
    let mut reply = outbound(&account.id, CHAT, "hello");
    reply.origin = MessageOrigin::Ai;
    let log = log_for(inbound, AiLogStatus::Generated);
    store.record_reply(&log, &reply).await.expect("reply");
    (reply, log)
}

/// A new inbound message with provider id `provider_id`, and its generated reply.
async fn generated_reply(
    store: &dyn Store,
    account: &Account,
    provider_id: &str,
) -> (Message, AiLog) {
    let m = inbound(&account.id, CHAT, "hi", provider_id);
    store.record_inbound(&m).await.expect("inbound");
    reply_to(store, account, &m).await
}

pub async fn a_reply_and_its_log_row_settle_together(store: &dyn Store) {
    let account = new_account();
    let (reply, log) = generated_reply(store, &account, "wamid.S").await;
    let mut sent = log.clone();
    sent.status = AiLogStatus::Sent;
    sent.sent_at = Some(Utc::now());
    let change = StatusChange {
        from: &[MessageStatus::Queued, MessageStatus::Sending],
        to: MessageStatus::Sent,
        provider_message_id: Some("wamid.REPLY"),
        error: None,
        code: None,
    };
    let settle = || store.settle_reply(&account.id, &reply.chat_id, &reply.id, &change, &sent);
    assert_eq!(settle().await.expect("settle"), (true, true));
    assert_eq!(
        settle().await.expect("again"),
        (false, false),
        "a second run moves nothing"
    );
    assert_eq!(
        store
            .get_ai_log(&log.account_id, &log.chat_id, &log.id)
            .await
            .expect("log"),
        Some(sent.clone())
    );
    let stored = store
        .get_message(&account.id, &reply.chat_id, &reply.id)
        .await
        .expect("get")
        .expect("reply");
    assert_eq!(stored.status, MessageStatus::Sent);
    assert_eq!(
        store
            .find_by_provider_id(&account.id, "wamid.REPLY")
            .await
            .expect("find")
            .map(|f| f.id),
        Some(reply.id.clone())
    );

    // A row settled by someone else: the message still moves, the row stays as it is.
    let (reply2, log2) = generated_reply(store, &account, "wamid.S2").await;
    let mut failed = log2.clone();
    failed.status = AiLogStatus::Failed;
    assert!(
        store
            .update_ai_log_if(AiLogStatus::Generated, &failed)
            .await
            .expect("fail")
    );
    let mut sent2 = log2.clone();
    sent2.status = AiLogStatus::Sent;
    let change2 = StatusChange {
        provider_message_id: None,
        ..change
    };
    assert_eq!(
        store
            .settle_reply(&account.id, &reply2.chat_id, &reply2.id, &change2, &sent2)
            .await
            .expect("settle"),
        (true, false)
    );
    assert_eq!(
        store
            .get_ai_log(&log2.account_id, &log2.chat_id, &log2.id)
            .await
            .expect("log"),
        Some(failed)
    );
}

/// A queued message to a relay phone, in its outbox.
async fn waiting_in_outbox(store: &dyn Store, account: &AccountId, text: &str) -> Message {
    let m = outbound(account, "15551234567@sms", text);
    store.record_outbound(&m).await.expect("message");
    store.put_in_outbox(&m).await.expect("outbox");
    m
}

pub async fn a_relay_outbox_hands_each_message_to_one_poll(store: &dyn Store) {
    let account = new_account();
    let mut waiting = Vec::new();
    for i in 0..5 {
        waiting.push(waiting_in_outbox(store, &account.id, &format!("m{i}")).await);
    }
    // Put twice: still once in the outbox.
    store.put_in_outbox(&waiting[0]).await.expect("again");
    // Withdrawn before any poll: it leaves the outbox instead of being handed out.
    let withdraw = StatusChange {
        from: &[MessageStatus::Queued],
        to: MessageStatus::Cancelled,
        provider_message_id: None,
        error: None,
        code: None,
    };
    assert!(
        store
            .transition_message(&account.id, &waiting[4].chat_id, &waiting[4].id, &withdraw)
            .await
            .expect("withdraw")
    );
    let until =
        chrono::DateTime::from_timestamp_millis((Utc::now() + Span::minutes(2)).timestamp_millis())
            .expect("time");
    let (a, b) = tokio::join!(
        store.lease_outbox(&account.id, 3, until),
        store.lease_outbox(&account.id, 3, until)
    );
    let (a, b) = (a.expect("lease"), b.expect("lease"));
    let mut taken: Vec<_> = a.iter().chain(&b).map(|m| m.id.clone()).collect();
    taken.sort();
    let mut expected: Vec<_> = waiting[..4].iter().map(|m| m.id.clone()).collect();
    expected.sort();
    assert_eq!(
        taken, expected,
        "each waiting message to one poll, the withdrawn to none"
    );
    assert!(
        a.iter()
            .chain(&b)
            .all(|m| m.status == MessageStatus::Sending)
    );
    assert!(
        store
            .lease_outbox(&account.id, 10, until)
            .await
            .expect("lease")
            .is_empty()
    );
    let lease = store
        .outbox_lease(&account.id, &waiting[0].id)
        .await
        .expect("lease")
        .expect("leased");
    assert_eq!(lease.chat, waiting[0].chat_id);
    assert_eq!(lease.until, until);
    assert_eq!(
        store
            .outbox_lease(&account.id, &waiting[4].id)
            .await
            .expect("lease"),
        None
    );

    // Back to the outbox only under its own lease.
    let other = until + Span::seconds(1);
    assert!(
        !store
            .return_to_outbox(&account.id, &waiting[0].id, other)
            .await
            .expect("back")
    );
    assert!(
        store
            .return_to_outbox(&account.id, &waiting[0].id, until)
            .await
            .expect("back")
    );
    let again = store
        .lease_outbox(&account.id, 10, other)
        .await
        .expect("lease");
    assert_eq!(
        again.iter().map(|m| m.id.clone()).collect::<Vec<_>>(),
        vec![waiting[0].id.clone()]
    );
    // A message that moved on (sent) does not go back.
    let sent = StatusChange {
        from: &[MessageStatus::Sending],
        to: MessageStatus::Sent,
        provider_message_id: None,
        error: None,
        code: None,
    };
    assert!(
        store
            .transition_message(&account.id, &waiting[1].chat_id, &waiting[1].id, &sent)
            .await
            .expect("sent")
    );
    assert!(
        !store
            .return_to_outbox(&account.id, &waiting[1].id, until)
            .await
            .expect("back")
    );
    assert!(
        store
            .outbox_lease(&account.id, &waiting[1].id)
            .await
            .expect("lease")
            .is_some(),
        "kept after its report"
    );
}

pub async fn a_pace_allows_its_burst_then_spaces_takes(store: &dyn Store) {
    use switchboard_core::ports::Rate;
    let key = format!("pace-{}", next_ulid());
    let rate = Rate {
        count: 3,
        per: Duration::from_secs(3),
    };
    let now = Utc::now();
    for i in 0..3 {
        assert_eq!(
            store.take_rate(&key, rate, now).await.expect("take"),
            None,
            "take {i} of the burst"
        );
    }
    let wait = store
        .take_rate(&key, rate, now)
        .await
        .expect("take")
        .expect("a wait past the burst");
    assert!(
        wait > Duration::ZERO && wait <= Duration::from_secs(1),
        "{wait:?}"
    );
    let other = format!("{key}-other");
    assert_eq!(
        store.take_rate(&other, rate, now).await.expect("take"),
        None,
        "keys are apart"
    );
    // Once the wait has passed, one more is allowed, and the next waits again.
    let later = now + Span::from_std(wait).expect("span") + Span::milliseconds(5);
    let waited = tokio::time::sleep(wait + Duration::from_millis(5));
    waited.await;
    assert_eq!(
        store.take_rate(&key, rate, later).await.expect("take"),
        None
    );
    assert!(
        store
            .take_rate(&key, rate, later)
            .await
            .expect("take")
            .is_some()
    );
}

pub async fn a_phone_is_seen_only_forward(store: &dyn Store) {
    let account = new_account();
    store
        .insert_account(&account, &TokenHash("h".into()))
        .await
        .expect("account");
    let seen = Utc::now();
    store.mark_seen(&account.id, seen).await.expect("seen");
    store
        .mark_seen(&account.id, seen - Span::minutes(1))
        .await
        .expect("older");
    let stored = store
        .get_account(&account.id)
        .await
        .expect("get")
        .expect("account");
    let shown = stored.last_seen_at.expect("seen").timestamp_micros();
    assert_eq!(shown, seen.timestamp_micros());
    let ghost = new_account();
    store
        .mark_seen(&ghost.id, seen)
        .await
        .expect("no account: nothing");
    assert_eq!(store.get_account(&ghost.id).await.expect("get"), None);
}

fn api_key(name: &str) -> ApiKey {
    ApiKey {
        id: ApiKeyId::from_ulid(next_ulid()),
        name: name.into(),
        policy: Policy {
            phones: Scope::All,
            channels: Scope::Only(vec![Channel::Sms]),
            recipient_allowlist: Some(vec!["+15551234567".into()]),
            rate_limit_per_minute: 10,
            require_confirmation: true,
        },
        created_at: Utc::now(),
    }
}

fn audit_row(key: Option<&ApiKeyId>, action: AuditAction, outcome: AuditOutcome) -> AuditEntry {
    AuditEntry {
        id: AuditId::from_ulid(next_ulid()),
        at: Utc::now(),
        actor: "admin:ops".into(),
        key_id: key.cloned(),
        action,
        outcome,
        code: (outcome == AuditOutcome::Refused).then(|| "rate_limited".into()),
        reason: None,
        phone_id: None,
        channel: Some(Channel::Sms),
        to: Some("+15551234567".into()),
        message_id: None,
    }
}

pub async fn api_keys_are_stored_with_their_hash_listed_and_deleted_with_their_audit(
    store: &dyn Store,
) {
    let keys: Vec<ApiKey> = (0..3).map(|i| api_key(&format!("k{i}"))).collect();
    for k in &keys {
        let row = audit_row(Some(&k.id), AuditAction::KeyCreate, AuditOutcome::Accepted);
        let hash = TokenHash(format!("hash-{}", k.id));
        store.insert_api_key(k, &hash, &row).await.expect("insert");
    }
    let (found, hash) = store
        .api_key_with_hash(&keys[1].id)
        .await
        .expect("get")
        .expect("found");
    assert_eq!(found, keys[1]);
    assert_eq!(hash.0, format!("hash-{}", keys[1].id));
    let listed = every_page(2, |p| async move { store.list_api_keys(&p).await }).await;
    let ids: Vec<_> = listed.iter().map(|k: &ApiKey| k.id.clone()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first");
    for k in &keys {
        assert!(ids.contains(&k.id));
    }
    let row = audit_row(
        Some(&keys[1].id),
        AuditAction::KeyDelete,
        AuditOutcome::Accepted,
    );
    assert!(
        store
            .delete_api_key(&keys[1].id, &row)
            .await
            .expect("delete")
    );
    let again = audit_row(
        Some(&keys[1].id),
        AuditAction::KeyDelete,
        AuditOutcome::Accepted,
    );
    assert!(
        !store
            .delete_api_key(&keys[1].id, &again)
            .await
            .expect("delete")
    );
    assert!(
        store
            .api_key_with_hash(&keys[1].id)
            .await
            .expect("get")
            .is_none()
    );
    let filter = AuditFilter {
        key_id: Some(keys[1].id.clone()),
        outcome: None,
    };
    let rows = store
        .list_audit(&filter, &page(10, None))
        .await
        .expect("audit");
    let actions: Vec<_> = rows.items.iter().map(|r| r.action).collect();
    assert_eq!(
        actions,
        [AuditAction::KeyDelete, AuditAction::KeyCreate],
        "no row for a missed delete"
    );
}

pub async fn the_audit_lists_newest_first_by_key_and_outcome(store: &dyn Store) {
    let (a, b) = (
        ApiKeyId::from_ulid(next_ulid()),
        ApiKeyId::from_ulid(next_ulid()),
    );
    let mut written = Vec::new();
    for i in 0..7 {
        let key = if i % 2 == 0 { &a } else { &b };
        let outcome = if i % 3 == 0 {
            AuditOutcome::Refused
        } else {
            AuditOutcome::Accepted
        };
        let row = audit_row(Some(key), AuditAction::Send, outcome);
        store.insert_audit(&row).await.expect("insert");
        written.push(row);
    }
    let of_a = AuditFilter {
        key_id: Some(a.clone()),
        outcome: None,
    };
    let rows = every_page(2, |p| {
        let f = &of_a;
        async move { store.list_audit(f, &p).await }
    })
    .await;
    let expected: Vec<_> = written
        .iter()
        .rev()
        .filter(|r| r.key_id.as_ref() == Some(&a))
        .cloned()
        .collect();
    assert_eq!(rows, expected, "newest first, all pages");
    let refused_a = AuditFilter {
        key_id: Some(a.clone()),
        outcome: Some(AuditOutcome::Refused),
    };
    let rows = every_page(1, |p| {
        let f = &refused_a;
        async move { store.list_audit(f, &p).await }
    })
    .await;
    let expected: Vec<_> = written
        .iter()
        .rev()
        .filter(|r| r.key_id.as_ref() == Some(&a) && r.outcome == AuditOutcome::Refused)
        .cloned()
        .collect();
    assert_eq!(rows, expected);
    let all = store
        .list_audit(&AuditFilter::default(), &page(200, None))
        .await
        .expect("all");
    for row in &written {
        assert!(all.items.contains(row));
    }
}

pub async fn an_idempotency_key_is_held_then_finished_with_its_message(store: &dyn Store) {
    let account = new_account();
    store
        .insert_account(&account, &TokenHash("h".into()))
        .await
        .expect("account");
    let key = IdempotencyKey {
        api_key: ApiKeyId::from_ulid(next_ulid()),
        key: "order-1".into(),
    };
    let now = Utc::now();
    assert_eq!(
        store
            .begin_idempotent(&key, "fp", now)
            .await
            .expect("begin"),
        Begun::Taken
    );
    assert_eq!(
        store
            .begin_idempotent(&key, "fp", now)
            .await
            .expect("begin"),
        Begun::InFlight {
            fingerprint: "fp".into()
        }
    );
    // A holder that stopped frees the key after its hold.
    let later = now + Span::seconds(IN_FLIGHT_SECONDS + 1);
    assert_eq!(
        store
            .begin_idempotent(&key, "fp", later)
            .await
            .expect("begin"),
        Begun::Taken
    );

    let m = outbound(&account.id, "ann@example.com@email", "x");
    let mut m = m;
    m.client = Some(ClientSend {
        key_id: Some(key.api_key.clone()),
        channel: Channel::Email,
        to: "ann@example.com".into(),
        subject: Some("Hi".into()),
        source: None,
        expires_at: None,
    });
    let answer = StoredAnswer {
        status: 202,
        body: serde_json::json!({"id": m.id}),
    };
    let row = audit_row(
        Some(&key.api_key),
        AuditAction::Send,
        AuditOutcome::Accepted,
    );
    // Another fingerprint does not finish this hold: nothing is written.
    let wrong = Finished {
        key: &key,
        fingerprint: "other",
        answer: &answer,
    };
    assert!(
        store
            .record_client_send(&m, &row, Some(wrong))
            .await
            .is_err()
    );
    assert!(
        store.find_message(&m.id).await.expect("find").is_none(),
        "nothing half-written"
    );
    let finished = Finished {
        key: &key,
        fingerprint: "fp",
        answer: &answer,
    };
    store
        .record_client_send(&m, &row, Some(finished))
        .await
        .expect("record");
    assert_eq!(
        store
            .begin_idempotent(&key, "fp", later)
            .await
            .expect("begin"),
        Begun::Finished {
            fingerprint: "fp".into(),
            answer: answer.clone()
        }
    );
    let found = store
        .find_message(&m.id)
        .await
        .expect("find")
        .expect("message");
    assert_eq!(found.client, m.client);
    assert!(
        store
            .list_chats(&account.id, &page(10, None))
            .await
            .expect("chats")
            .items
            .is_empty(),
        "an email has no chat"
    );
    // Honoured for a day, then the key is free again.
    let next_day = later + Span::hours(IDEMPOTENCY_HOURS) + Span::seconds(1);
    assert_eq!(
        store
            .begin_idempotent(&key, "fp2", next_day)
            .await
            .expect("begin"),
        Begun::Taken
    );
    // A refused request frees its hold; a finished record is never released.
    store.release_idempotent(&key).await.expect("release");
    assert_eq!(
        store
            .begin_idempotent(&key, "fp3", next_day)
            .await
            .expect("begin"),
        Begun::Taken
    );
}

pub async fn a_decision_moves_a_pending_message_with_its_audit_row(store: &dyn Store) {
    let account = new_account();
    store
        .insert_account(&account, &TokenHash("h".into()))
        .await
        .expect("account");
    let mut m = outbound(&account.id, "15551234567@sms", "pay?");
    m.status = MessageStatus::PendingConfirmation;
    m.reached
        .insert(MessageStatus::PendingConfirmation, m.created_at);
    let key = ApiKeyId::from_ulid(next_ulid());
    m.client = Some(ClientSend {
        key_id: Some(key.clone()),
        channel: Channel::Sms,
        to: "+15551234567".into(),
        subject: None,
        source: None,
        expires_at: Some(Utc::now() + Span::minutes(15)),
    });
    let row = audit_row(Some(&key), AuditAction::Send, AuditOutcome::Accepted);
    store
        .record_client_send(&m, &row, None)
        .await
        .expect("record");
    let mut later = outbound(&account.id, "15557654321@sms", "pay too?");
    later.status = MessageStatus::PendingConfirmation;
    later.client = m.client.clone();
    // The others' rows name no key, so the key's own audit below is this message's alone.
    let row = audit_row(None, AuditAction::Send, AuditOutcome::Accepted);
    store
        .record_client_send(&later, &row, None)
        .await
        .expect("record");
    let queued = outbound(&account.id, "15550000000@sms", "no confirmation");
    let row = audit_row(None, AuditAction::Send, AuditOutcome::Accepted);
    store
        .record_client_send(&queued, &row, None)
        .await
        .expect("record");
    let chats = store
        .list_chats(&account.id, &page(10, None))
        .await
        .expect("chats");
    assert_eq!(chats.items.len(), 3, "an SMS is in its chat");
    let first = store.list_pending(&page(1, None)).await.expect("pending");
    assert_eq!(first.items.len(), 1);
    assert_eq!(first.items[0].id, m.id, "oldest first");
    let second = store
        .list_pending(&page(1, first.next.clone()))
        .await
        .expect("pending");
    let ids: Vec<_> = second.items.iter().map(|x| x.id.clone()).collect();
    assert_eq!(ids, [later.id.clone()], "only what waits, paged");
    let confirm = StatusChange {
        from: &[MessageStatus::PendingConfirmation],
        to: MessageStatus::Queued,
        provider_message_id: None,
        error: None,
        code: None,
    };
    let yes = audit_row(Some(&key), AuditAction::Confirm, AuditOutcome::Accepted);
    assert!(store.decide(&m, &confirm, &yes).await.expect("decide"));
    let waiting: Vec<_> = store
        .list_pending(&page(10, None))
        .await
        .expect("pending")
        .items
        .into_iter()
        .map(|x| x.id)
        .collect();
    assert_eq!(
        waiting,
        [later.id.clone()],
        "off the list with its decision"
    );
    let twice = audit_row(Some(&key), AuditAction::Confirm, AuditOutcome::Accepted);
    assert!(
        !store.decide(&m, &confirm, &twice).await.expect("decide"),
        "only once"
    );
    let found = store
        .find_message(&m.id)
        .await
        .expect("find")
        .expect("message");
    assert_eq!(found.status, MessageStatus::Queued);
    assert!(found.reached.contains_key(&MessageStatus::Queued));
    assert!(
        found
            .reached
            .contains_key(&MessageStatus::PendingConfirmation)
    );
    let filter = AuditFilter {
        key_id: Some(key),
        outcome: None,
    };
    let actions: Vec<_> = store
        .list_audit(&filter, &page(10, None))
        .await
        .expect("audit")
        .items
        .iter()
        .map(|r| r.action)
        .collect();
    assert_eq!(actions, [AuditAction::Confirm, AuditAction::Send]);
}

pub async fn media_readings_expire_media_is_kept_and_inline_bytes_are_forgotten(store: &dyn Store) {
    let now = Utc::now();
    // A reading is found until it expires, and a second keeping replaces it.
    assert_eq!(
        store
            .cached_text("transcript|sha256:a|whisper-1", now)
            .await
            .expect("read"),
        None
    );
    store
        .cache_text(
            "transcript|sha256:a|whisper-1",
            "hello",
            now + Span::days(30),
        )
        .await
        .expect("keep");
    store
        .cache_text("description|sha256:b|m", "old", now - Span::seconds(1))
        .await
        .expect("keep");
    assert_eq!(
        store
            .cached_text("transcript|sha256:a|whisper-1", now)
            .await
            .expect("read")
            .as_deref(),
        Some("hello")
    );
    assert_eq!(
        store
            .cached_text("description|sha256:b|m", now)
            .await
            .expect("read"),
        None,
        "expired"
    );

    // A message's medium, replaced as the reply job dealt with it, read back by every read.
    let account = new_account();
    store
        .insert_account(&account, &TokenHash("h".into()))
        .await
        .expect("account");
    let mut m = inbound(&account.id, CHAT, "", "wamid.media");
    m.text = None;
    m.media = Some(Media::received(
        MediaKind::Audio,
        "audio/ogg; codecs=opus",
        MediaSource::Whatsapp {
            media_id: "1234".into(),
        },
    ));
    store.record_inbound(&m).await.expect("record");
    let mut understood = m.media.clone().expect("media");
    understood.status = MediaStatus::Ready;
    understood.transcript = Some("hello".into());
    understood.sha256 = Some("ab".repeat(32));
    store
        .set_media(&account.id, &m.chat_id, &m.id, &understood, now)
        .await
        .expect("set");
    let read = store
        .get_message(&account.id, &m.chat_id, &m.id)
        .await
        .expect("get")
        .expect("found");
    assert_eq!(read.media.as_ref(), Some(&understood));
    let ctx = store
        .reply_context(&account.id, &m.chat_id, &m.id, 20, now)
        .await
        .expect("context");
    assert_eq!(ctx.message.and_then(|m| m.media), Some(understood.clone()));
    assert_eq!(ctx.recent[0].media.as_ref(), Some(&understood));

    // Inline bytes larger than one item holds come back whole, then are gone.
    let bytes: Vec<u8> = (0..900 * 1024).map(|i| (i % 251) as u8).collect();
    store
        .keep_inline_media("acc/bridge-1", &bytes, now + Span::hours(24))
        .await
        .expect("keep");
    assert_eq!(
        store.inline_media("acc/bridge-1").await.expect("read"),
        Some(bytes)
    );
    assert_eq!(store.inline_media("acc/other").await.expect("read"), None);
    store
        .forget_inline_media("acc/bridge-1")
        .await
        .expect("forget");
    assert_eq!(
        store.inline_media("acc/bridge-1").await.expect("read"),
        None
    );
    store
        .forget_inline_media("acc/bridge-1")
        .await
        .expect("forgetting twice is fine");
}

/// The service window moves with the contact's messages only (an outbound one leaves it), an
/// opt-out survives activity and an opt-in clears it, a failed send keeps its named code, and
/// a template list is cached like any text.
pub async fn a_chat_keeps_its_window_and_consent_and_a_failure_its_code(store: &dyn Store) {
    use switchboard_core::domain::consent::{ConsentScope, OptOutSource};
    use switchboard_core::domain::message::FailureCode;
    let account = new_account();
    store
        .insert_account(&account, &TokenHash("h".into()))
        .await
        .expect("account");
    let chat = jid(CHAT);
    let mut first = inbound(&account.id, CHAT, "hi", "wamid.W1");
    first.created_at = Utc::now() - Span::hours(3);
    store.record_inbound(&first).await.expect("inbound");
    let reply = outbound(&account.id, CHAT, "hello");
    store.record_outbound(&reply).await.expect("outbound");
    let read = store
        .get_chat(&account.id, &chat)
        .await
        .expect("get")
        .expect("chat");
    let at = |t: chrono::DateTime<Utc>| t.timestamp_millis();
    assert_eq!(
        read.last_inbound_at.map(at),
        Some(at(first.created_at)),
        "the contact's message, not the reply"
    );
    assert_eq!(
        read.service_window_expires_at().map(at),
        Some(at(first.created_at + Span::hours(24)))
    );

    let opted = Utc::now();
    let change = |opted_out, scope| ChatChange::Consent {
        scope,
        opted_out,
        source: OptOutSource::Keyword,
        at: opted,
    };
    store
        .update_chat(&account.id, &chat, change(true, ConsentScope::All), opted)
        .await
        .expect("opt out");
    store
        .update_chat(
            &account.id,
            &chat,
            change(true, ConsentScope::Marketing),
            opted,
        )
        .await
        .expect("marketing");
    let later = inbound(&account.id, CHAT, "anyone?", "wamid.W2");
    store.record_inbound(&later).await.expect("inbound");
    let read = store
        .get_chat(&account.id, &chat)
        .await
        .expect("get")
        .expect("chat");
    assert_eq!(
        read.opted_out_at.map(at),
        Some(at(opted)),
        "kept through activity"
    );
    assert_eq!(read.opt_out_source, Some(OptOutSource::Keyword));
    assert!(read.marketing_opted_out);
    assert_eq!(read.last_inbound_at.map(at), Some(at(later.created_at)));
    let listed = store
        .list_chats(&account.id, &page(10, None))
        .await
        .expect("list");
    assert_eq!(listed.items[0].opted_out_at.map(at), Some(at(opted)));
    store
        .update_chat(&account.id, &chat, change(false, ConsentScope::All), opted)
        .await
        .expect("opt in");
    let read = store
        .get_chat(&account.id, &chat)
        .await
        .expect("get")
        .expect("chat");
    assert_eq!((read.opted_out_at, read.opt_out_source), (None, None));
    assert!(read.marketing_opted_out, "marketing is its own choice");

    let failing = outbound(&account.id, CHAT, "offer");
    store.record_outbound(&failing).await.expect("outbound");
    let failed = StatusChange {
        from: &[MessageStatus::Queued],
        to: MessageStatus::Failed,
        provider_message_id: None,
        error: Some("outside the 24-hour customer service window"),
        code: Some(FailureCode::OutsideServiceWindow),
    };
    assert!(
        store
            .transition_message(&account.id, &chat, &failing.id, &failed)
            .await
            .expect("fail")
    );
    let read = store
        .get_message(&account.id, &chat, &failing.id)
        .await
        .expect("get")
        .expect("message");
    assert_eq!(read.error_code(), Some("outside_service_window"));
    assert_eq!(
        store
            .get_message(&account.id, &chat, &reply.id)
            .await
            .expect("get")
            .expect("message")
            .error_code,
        None
    );

    let key = format!("templates:{}:102290129340398", account.id);
    let list = r#"[{"name":"order_ready"}]"#;
    store
        .cache_text(&key, list, Utc::now() + Span::minutes(10))
        .await
        .expect("cache");
    assert_eq!(
        store
            .cached_text(&key, Utc::now())
            .await
            .expect("read")
            .as_deref(),
        Some(list)
    );
    assert_eq!(
        store
            .cached_text(&key, Utc::now() + Span::minutes(11))
            .await
            .expect("read"),
        None,
        "ten minutes on, Meta is asked again"
    );
}

pub async fn an_open_chat_reads_its_changes_and_the_moved_chats_and_activity_adds_up(
    store: &dyn Store,
) {
    use switchboard_core::domain::activity::Activity;
    let account = new_account();
    store
        .insert_account(&account, &TokenHash("h".into()))
        .await
        .expect("account");
    let before = Utc::now() - Span::seconds(1);
    let first = inbound(&account.id, CHAT, "hi", "wamid.C1");
    store.record_inbound(&first).await.expect("inbound");
    let reply = outbound(&account.id, CHAT, "hello");
    store.record_outbound(&reply).await.expect("outbound");

    let (chat, messages) = store
        .conversation(&account.id, &jid(CHAT), 10)
        .await
        .expect("read");
    assert_eq!(chat.expect("the chat").chat_id.as_str(), CHAT);
    let ids: Vec<_> = messages.iter().map(|m| m.id.clone()).collect();
    assert_eq!(ids, [reply.id.clone(), first.id.clone()], "newest first");
    let (_, newest) = store
        .conversation(&account.id, &jid(CHAT), 1)
        .await
        .expect("read");
    assert_eq!(newest.len(), 1);
    assert_eq!(newest[0].id, reply.id);
    let (none, nothing) = store
        .conversation(&account.id, &jid("15550000000@s.whatsapp.net"), 10)
        .await
        .expect("read");
    assert!(none.is_none() && nothing.is_empty());

    // A status change moves the message's `updated_at`, which is what a poll compares.
    let changed_after = Utc::now();
    let sent = StatusChange {
        from: &[MessageStatus::Queued],
        to: MessageStatus::Sent,
        provider_message_id: Some("wamid.C2"),
        error: None,
        code: None,
    };
    assert!(
        store
            .transition_message(&account.id, &reply.chat_id, &reply.id, &sent)
            .await
            .expect("transition")
    );
    let (_, after) = store
        .conversation(&account.id, &jid(CHAT), 10)
        .await
        .expect("read");
    assert!(after[0].updated_at >= changed_after, "{:?}", after[0]);
    assert_eq!(after[0].status, MessageStatus::Sent);
    assert!(
        after[1].updated_at < changed_after,
        "the other is unchanged"
    );

    // Chats that moved since a time, newest first.
    let other = "15557654321@s.whatsapp.net";
    let moved_from = Utc::now();
    let later = inbound(&account.id, other, "me too", "wamid.C3");
    store.record_inbound(&later).await.expect("inbound");
    let moved = store
        .chats_since(&account.id, moved_from - Span::milliseconds(1), 10)
        .await
        .expect("since");
    let names: Vec<_> = moved.iter().map(|c| c.chat_id.to_string()).collect();
    assert_eq!(names, [other]);
    let both = store
        .chats_since(&account.id, before, 10)
        .await
        .expect("since");
    assert_eq!(both.len(), 2);
    assert_eq!(both[0].chat_id.as_str(), other, "newest first");
    let one = store
        .chats_since(&account.id, before, 1)
        .await
        .expect("since");
    assert_eq!(one.len(), 1, "at most the limit");

    // A failed AI reply marks the chat.
    let failed_at = Utc::now();
    store
        .update_chat(
            &account.id,
            &jid(CHAT),
            ChatChange::AiFailed { at: failed_at },
            failed_at,
        )
        .await
        .expect("mark");
    let marked = store
        .get_chat(&account.id, &jid(CHAT))
        .await
        .expect("get")
        .expect("chat");
    assert_eq!(
        marked.ai_failed_at.map(|t| t.timestamp_millis()),
        Some(failed_at.timestamp_millis())
    );

    // Activity: counts of an hour add up; a day sums its hours and leaves older ones out.
    let hour = switchboard_core::domain::activity::hour_of(Utc::now());
    let add = |messages_in, ai_sent| Activity {
        messages_in,
        ai_sent,
        ..Activity::default()
    };
    for (at, counts) in [
        (hour, add(2, 0)),
        (hour, add(1, 1)),
        (hour - Span::hours(5), add(0, 2)),
        (hour - Span::hours(30), add(100, 100)),
    ] {
        store
            .count_activity(&account.id, at, &counts)
            .await
            .expect("count");
    }
    let other_account = new_account();
    store
        .insert_account(&other_account, &TokenHash("h2".into()))
        .await
        .expect("account");
    store
        .count_activity(&other_account.id, hour, &add(7, 7))
        .await
        .expect("count");
    let day = store
        .activity_since(&account.id, hour - Span::hours(23))
        .await
        .expect("day");
    assert_eq!(day, add(3, 3));
    store.delete_account(&account.id).await.expect("delete");
    let gone = store
        .activity_since(&account.id, hour - Span::hours(48))
        .await
        .expect("day");
    assert!(gone.is_empty(), "deleted with its account: {gone:?}");
    let kept = store
        .activity_since(&other_account.id, hour)
        .await
        .expect("day");
    assert_eq!(kept, add(7, 7));
}
