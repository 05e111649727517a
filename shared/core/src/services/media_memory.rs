//! The bytes of media this process holds at once. A medium claims room before it is fetched
//! and keeps it while its bytes (or their base64) are alive: through a transcription or a
//! description, and for an image the chat model sees, until the reply's LLM call ends. A burst
//! of large media then waits its turn instead of growing the process past its memory, which is
//! what lets a function that reads media run in 128 MB.

use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Bytes alive at once per byte of a medium: the bytes or their base64 (4/3), the copy a try of
/// a request makes, and the body the request is serialized into.
pub const COPIES: u64 = 4;

/// Permits count KiB: a u32 of them covers any medium, and rounding costs under 1 KiB each.
const UNIT: u64 = 1024;

#[derive(Debug)]
pub struct MediaMemory {
    room: Arc<Semaphore>,
    total: u32,
}

/// Room held for one medium; dropping it gives the room back.
#[derive(Debug)]
pub struct Held(OwnedSemaphorePermit);

impl MediaMemory {
    /// Room for `bytes` of media at once.
    pub fn new(bytes: u64) -> Self {
        let total = units(bytes).max(1);
        Self {
            room: Arc::new(Semaphore::new(total as usize)),
            total,
        }
    }

    /// The largest medium the room takes (`COPIES` times its size); larger ones are refused.
    pub fn largest(&self) -> u64 {
        u64::from(self.total) * UNIT / COPIES
    }

    /// Waits for room for a medium of `bytes`, held `COPIES` times, by a reply that already
    /// holds `holding`: it never waits for room it holds itself, so it claims at most what it
    /// does not hold, and nothing when it holds it all (what it holds bounds it then).
    pub async fn claim(&self, bytes: u64, holding: &[Held]) -> Held {
        let held: u32 = holding.iter().map(|h| h.0.num_permits() as u32).sum();
        let wanted = units(bytes.saturating_mul(COPIES)).min(self.total.saturating_sub(held));
        match self.room.clone().acquire_many_owned(wanted).await {
            Ok(permit) => Held(permit),
            // The semaphore is never closed.
            Err(_) => unreachable!("media memory closed"),
        }
    }

    /// Room free now, in bytes (for tests and figures).
    pub fn free(&self) -> u64 {
        self.room.available_permits() as u64 * UNIT
    }
}

impl Held {
    /// Gives back what a medium smaller than claimed does not need, once its size is known.
    pub fn shrink_to(&mut self, bytes: u64) {
        let keep = units(bytes.saturating_mul(COPIES)).max(1) as usize;
        if let Some(extra) = self.0.num_permits().checked_sub(keep).filter(|n| *n > 0) {
            drop(self.0.split(extra));
        }
    }
}

fn units(bytes: u64) -> u32 {
    u32::try_from(bytes.div_ceil(UNIT)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const MB: u64 = 1024 * 1024;

    #[tokio::test]
    async fn a_claim_holds_its_copies_until_dropped() {
        let memory = MediaMemory::new(64 * MB);
        let held = memory.claim(5 * MB, &[]).await;
        assert_eq!(memory.free(), 64 * MB - 5 * MB * COPIES);
        drop(held);
        assert_eq!(memory.free(), 64 * MB);
    }

    #[tokio::test]
    async fn a_claim_waits_while_the_room_is_taken() {
        let memory = Arc::new(MediaMemory::new(64 * MB));
        let first = memory.claim(10 * MB, &[]).await;
        let waiting = tokio::spawn({
            let memory = memory.clone();
            async move { memory.claim(10 * MB, &[]).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "80 MB of claims fit in 64 MB");
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("room given back")
            .expect("claim");
        assert_eq!(memory.free(), 64 * MB - 10 * MB * COPIES);
        drop(second);
    }

    #[tokio::test]
    async fn a_medium_larger_than_the_room_runs_alone() {
        let memory = MediaMemory::new(64 * MB);
        let held = memory.claim(25 * MB, &[]).await;
        assert_eq!(memory.free(), 0);
        drop(held);
        assert_eq!(memory.free(), 64 * MB);
    }

    #[tokio::test]
    async fn a_reply_never_waits_for_room_it_holds_itself() {
        let memory = MediaMemory::new(64 * MB);
        let image = [memory.claim(5 * MB, &[]).await];
        let next = tokio::time::timeout(Duration::from_secs(5), memory.claim(16 * MB, &image))
            .await
            .expect("claims only the room the reply does not hold");
        assert_eq!(memory.free(), 0);
        drop((image, next));
        assert_eq!(memory.free(), 64 * MB);
        assert_eq!(memory.largest(), 16 * MB);
    }

    #[tokio::test]
    async fn shrinking_gives_back_what_the_fetched_size_does_not_need() {
        let memory = MediaMemory::new(64 * MB);
        let mut held = memory.claim(10 * MB, &[]).await;
        held.shrink_to(MB);
        assert_eq!(memory.free(), 64 * MB - MB * COPIES);
        held.shrink_to(2 * MB);
        assert_eq!(
            memory.free(),
            64 * MB - MB * COPIES,
            "shrinking never grows"
        );
    }
}
