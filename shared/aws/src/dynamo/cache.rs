//! Configuration items (accounts, both AI settings levels) kept in memory for a few seconds,
//! so a warm function reads them once per burst instead of once per job. A change made through
//! this process is seen at once; one made elsewhere within `FRESH_FOR`.

use super::item::{Item, get_s};
use super::keys::{PK, SK};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const FRESH_FOR: Duration = Duration::from_secs(10);
const MAX_ENTRIES: usize = 4096;

#[derive(Default)]
pub struct ConfigCache {
    /// By `pk|sk`: the item, or `None` when it did not exist.
    entries: Mutex<HashMap<String, (Instant, Option<Item>)>>,
}

pub fn cache_key(key: &Item) -> String {
    format!(
        "{}|{}",
        get_s(key, PK).unwrap_or_default(),
        get_s(key, SK).unwrap_or_default()
    )
}

impl ConfigCache {
    /// The fresh entry of a key: `Some(None)` when the item is known not to exist.
    pub fn get(&self, key: &Item) -> Option<Option<Item>> {
        let entries = self.entries.lock().ok()?;
        let (at, item) = entries.get(&cache_key(key))?;
        (at.elapsed() < FRESH_FOR).then(|| item.clone())
    }

    pub fn put(&self, key: &Item, item: Option<Item>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.retain(|_, (at, _)| at.elapsed() < FRESH_FOR);
                if entries.len() >= MAX_ENTRIES {
                    entries.clear();
                }
            }
            entries.insert(cache_key(key), (Instant::now(), item));
        }
    }

    pub fn forget(&self, key: &Item) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(&cache_key(key));
        }
    }
}
