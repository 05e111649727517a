//! Whether, and when, the reply job answers an inbound message. A pure function of what the job
//! read, the configuration in force and the time, so each case is a unit test; the job
//! (`usecases::reply`) only reads, calls `gate`, and carries the decision out.

use crate::domain::ai_log::{AiLog, AiLogStatus};
use crate::domain::ai_settings::EffectiveAi;
use crate::domain::chat::Chat;
use crate::domain::message::Message;
use crate::rules::{self, MessageFacts, SkipReason};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// How many messages of the chat the LLM sees.
pub const HISTORY: usize = 20;

/// What the reply job knows when it decides.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// The message to answer.
    pub inbound: &'a Message,
    /// Its chat (a fresh one when the chat was never written).
    pub chat: &'a Chat,
    /// The AI log row of the message, when it was decided before.
    pub decided: Option<&'a AiLog>,
    /// The chat's newest messages, newest first; they may be newer than `inbound`.
    pub recent: &'a [Message],
    /// The chat's AI replies in the last hour.
    pub replies_last_hour: u32,
    /// The message mentions the account or replies to one of its messages.
    pub addresses_account: bool,
    /// The channel takes free-form messages only inside the contact's 24-hour window
    /// (WhatsApp Cloud).
    pub windowed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Decided before, and nothing is left to do.
    Done,
    /// Decided before: the reply is recorded, but the run that recorded it may have stopped
    /// before queueing its send.
    Resume,
    /// A rule says no: a `skipped` log row with this reason.
    Skip(SkipReason),
    /// Inside the debounce window: look again after this.
    Later(Duration),
    /// Generate the reply.
    Generate,
}

/// A margin past the debounce window, so the second look falls after it, not on its edge.
const DEBOUNCE_MARGIN: Duration = Duration::from_millis(50);

/// Decides, in order: decided before; the rules of the contract (sender, enabled, block,
/// opt-out, chat type, text, key, a human's pause, group mentions); WhatsApp's 24-hour window;
/// the debounce window and a newer message in it; the loop guard.
pub fn gate(facts: Facts<'_>, effective: &EffectiveAi, now: DateTime<Utc>) -> Decision {
    match facts.decided {
        Some(log) if log.status == AiLogStatus::Generated => return Decision::Resume,
        Some(_) => return Decision::Done,
        None => {}
    }
    let inbound = facts.inbound;
    let message = MessageFacts {
        from_me: inbound.from_me,
        from_bot: inbound.from_bot,
        // A voice note or photo is answered as a text is (the conversation names it, with
        // what was heard or seen of it).
        has_text: inbound.media.is_some()
            || inbound
                .text
                .as_deref()
                .is_some_and(|t| !t.trim().is_empty()),
        addresses_account: facts.addresses_account,
    };
    if let Err(reason) = rules::decide(effective, facts.chat, message, now) {
        return Decision::Skip(reason);
    }
    // Meta would refuse the reply (131047): skipped here instead of failing there.
    if facts.windowed && !facts.chat.service_window_open(now) {
        return Decision::Skip(SkipReason::OutsideWindow);
    }
    let debounce = Duration::from_secs(u64::from(effective.debounce_seconds.value));
    if !debounce.is_zero() {
        let arrived = inbound.id.created_at().unwrap_or(now);
        let waited = (now - arrived).to_std().unwrap_or_default();
        if waited < debounce {
            return Decision::Later(debounce - waited + DEBOUNCE_MARGIN);
        }
        let newest = facts.recent.iter().find(|m| !m.from_me).map(|m| &m.id);
        if newest.is_some_and(|newest| newest != &inbound.id) {
            return Decision::Skip(SkipReason::NewerInBurst);
        }
    }
    let max = effective.max_replies_per_chat_per_hour.value;
    if facts.replies_last_hour >= max {
        return Decision::Skip(SkipReason::TooManyReplies {
            recent: facts.replies_last_hour,
            max,
        });
    }
    Decision::Generate
}

/// The conversation up to the message being answered, newest first: the last `HISTORY`
/// messages the customer could have seen (a send waiting for confirmation, cancelled or failed
/// never reached them).
pub fn history(recent: &[Message], inbound: &Message) -> Vec<Message> {
    recent
        .iter()
        .filter(|m| m.id <= inbound.id && m.could_have_reached_the_customer())
        .take(HISTORY)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ai_settings::AiSettings;
    use crate::domain::chat::ChatJid;
    use crate::domain::ids::{AccountId, MessageId};
    use crate::domain::message::{MessageOrigin, MessageStatus};
    use crate::domain::validation::Bounded;

    fn effective(global: AiSettings) -> EffectiveAi {
        EffectiveAi::of_global(&global)
    }

    fn on() -> AiSettings {
        AiSettings {
            enabled: Some(true),
            echo_mode: Some(true),
            ..Default::default()
        }
    }

    fn account() -> AccountId {
        AccountId::from_trusted("acc_01JABCDEFGHJKMNPQRSTVWXYZ0")
    }

    fn chat() -> Chat {
        let jid = ChatJid::parse("15551234567@s.whatsapp.net").expect("jid");
        Chat::new(account(), jid, Utc::now())
    }

    /// An inbound text that arrived `ago` before `now`.
    fn inbound_at(now: DateTime<Utc>, ago: chrono::Duration) -> Message {
        let at = (now - ago).timestamp_millis() as u64;
        let mut m = Message::outbound(
            MessageId::from_ulid(ulid::Ulid::from_parts(at, rand::random())),
            &account(),
            chat().chat_id,
            Some("hello".into()),
            MessageOrigin::Contact,
            now - ago,
        );
        m.from_me = false;
        m.status = MessageStatus::Received;
        m
    }

    fn facts<'a>(inbound: &'a Message, chat: &'a Chat, recent: &'a [Message]) -> Facts<'a> {
        Facts {
            inbound,
            chat,
            decided: None,
            recent,
            replies_last_hour: 0,
            addresses_account: false,
            windowed: false,
        }
    }

    fn log(status: AiLogStatus, inbound: &Message) -> AiLog {
        AiLog::for_inbound(inbound, status, Utc::now())
    }

    #[test]
    fn a_fresh_text_in_an_open_chat_is_answered() {
        let now = Utc::now();
        let (m, c) = (inbound_at(now, chrono::Duration::zero()), chat());
        let recent = [m.clone()];
        assert_eq!(
            gate(facts(&m, &c, &recent), &effective(on()), now),
            Decision::Generate
        );
    }

    #[test]
    fn a_message_decided_before_is_resumed_only_when_its_reply_may_not_have_left() {
        let now = Utc::now();
        let (m, c) = (inbound_at(now, chrono::Duration::zero()), chat());
        let generated = log(AiLogStatus::Generated, &m);
        let f = Facts {
            decided: Some(&generated),
            ..facts(&m, &c, &[])
        };
        assert_eq!(gate(f, &effective(on()), now), Decision::Resume);
        for status in [AiLogStatus::Skipped, AiLogStatus::Sent, AiLogStatus::Failed] {
            let row = log(status, &m);
            let f = Facts {
                decided: Some(&row),
                ..facts(&m, &c, &[])
            };
            assert_eq!(gate(f, &effective(on()), now), Decision::Done, "{status:?}");
        }
        // Decided before wins over a rule that would now say no.
        let off = AiSettings {
            enabled: Some(false),
            ..on()
        };
        let f = Facts {
            decided: Some(&generated),
            ..facts(&m, &c, &[])
        };
        assert_eq!(gate(f, &effective(off), now), Decision::Resume);
    }

    #[test]
    fn a_rule_that_says_no_is_a_skip_with_its_reason() {
        let now = Utc::now();
        let (m, mut c) = (inbound_at(now, chrono::Duration::zero()), chat());
        c.blocked = true;
        assert_eq!(
            gate(facts(&m, &c, &[]), &effective(on()), now),
            Decision::Skip(SkipReason::Blocked)
        );
    }

    #[test]
    fn debounce_waits_out_the_window_then_answers_only_the_newest() {
        let now = Utc::now();
        let debounced = AiSettings {
            debounce_seconds: Bounded::try_from(10).ok(),
            ..on()
        };
        let c = chat();
        let young = inbound_at(now, chrono::Duration::seconds(4));
        match gate(facts(&young, &c, &[]), &effective(debounced.clone()), now) {
            Decision::Later(wait) => {
                assert!(
                    wait > Duration::from_secs(5) && wait <= Duration::from_secs(7),
                    "{wait:?}"
                );
            }
            other => panic!("expected Later, got {other:?}"),
        }
        let old = inbound_at(now, chrono::Duration::seconds(12));
        let newer = inbound_at(now, chrono::Duration::seconds(11));
        let recent = [newer.clone(), old.clone()];
        assert_eq!(
            gate(facts(&old, &c, &recent), &effective(debounced.clone()), now),
            Decision::Skip(SkipReason::NewerInBurst)
        );
        assert_eq!(
            gate(
                facts(&newer, &c, &recent),
                &effective(debounced.clone()),
                now
            ),
            Decision::Generate
        );
        // Without debounce, a newer message does not stop the older one's reply.
        assert_eq!(
            gate(facts(&old, &c, &recent), &effective(on()), now),
            Decision::Generate
        );
    }

    #[test]
    fn the_loop_guard_stops_at_the_hourly_maximum() {
        let now = Utc::now();
        let (m, c) = (inbound_at(now, chrono::Duration::zero()), chat());
        let capped = AiSettings {
            max_replies_per_chat_per_hour: Bounded::try_from(3).ok(),
            ..on()
        };
        let under = Facts {
            replies_last_hour: 2,
            ..facts(&m, &c, &[])
        };
        assert_eq!(
            gate(under, &effective(capped.clone()), now),
            Decision::Generate
        );
        let at = Facts {
            replies_last_hour: 3,
            ..facts(&m, &c, &[])
        };
        let decision = gate(at, &effective(capped), now);
        assert_eq!(
            decision,
            Decision::Skip(SkipReason::TooManyReplies { recent: 3, max: 3 })
        );
        if let Decision::Skip(reason) = decision {
            assert_eq!(
                reason.to_string(),
                "3 replies in this chat in the last hour (max_replies_per_chat_per_hour = 3)"
            );
        }
    }

    #[test]
    fn the_history_ends_at_the_answered_message() {
        let now = Utc::now();
        let old = inbound_at(now, chrono::Duration::seconds(5));
        let newer = inbound_at(now, chrono::Duration::seconds(1));
        let recent = [newer.clone(), old.clone()];
        assert_eq!(history(&recent, &old), vec![old.clone()]);
        assert_eq!(history(&recent, &newer), vec![newer, old]);
    }

    #[test]
    fn the_history_holds_only_what_reached_the_customer() {
        let now = Utc::now();
        let asked = inbound_at(now, chrono::Duration::seconds(50));
        let mut sends: Vec<Message> = [
            MessageStatus::Sent,
            MessageStatus::PendingConfirmation,
            MessageStatus::Cancelled,
            MessageStatus::Failed,
            MessageStatus::Read,
        ]
        .into_iter()
        .enumerate()
        .map(|(i, status)| {
            let mut m = inbound_at(now, chrono::Duration::seconds(40 - i as i64));
            m.from_me = true;
            m.status = status;
            m
        })
        .collect();
        let inbound = inbound_at(now, chrono::Duration::seconds(1));
        sends.insert(0, asked);
        sends.push(inbound.clone());
        // Newest first, as the store reads them.
        sends.reverse();
        let seen: Vec<(bool, MessageStatus)> = history(&sends, &inbound)
            .iter()
            .map(|m| (m.from_me, m.status))
            .collect();
        assert_eq!(
            seen,
            [
                (false, MessageStatus::Received),
                (true, MessageStatus::Read),
                (true, MessageStatus::Sent),
                (false, MessageStatus::Received),
            ]
        );
    }
}
