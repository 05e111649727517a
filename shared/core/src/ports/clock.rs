//! Time and identifiers, as ports so tests can pin them.

use chrono::{DateTime, Utc};
use std::sync::Mutex;
use ulid::{Generator, Ulid};

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

pub trait IdGen: Send + Sync {
    fn next_ulid(&self) -> Ulid;
}

/// ULIDs that keep increasing within one millisecond, so ids made in a burst still sort in the
/// order they were made (messages are listed by id).
#[derive(Default)]
pub struct UlidGen(Mutex<Generator>);

impl IdGen for UlidGen {
    fn next_ulid(&self) -> Ulid {
        let mut generator = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Overflow needs 2^80 ids in one millisecond; fall back to a fresh random one.
        generator.generate().unwrap_or_else(|_| Ulid::new())
    }
}
