//! The backends a deployment wires together, chosen once at start and shared by every handler
//! and job, with the little state a process keeps in memory beside them.

mod endpoint_slots;
mod media_memory;
mod subscription_cache;

pub use endpoint_slots::{EndpointSlots, Slot};
pub use media_memory::{Held, MediaMemory};
pub use subscription_cache::SubscriptionCache;

use crate::auth::{AdminTokens, LoginThrottle};
use crate::ports::{
    Cipher, Clock, Downloads, IdGen, JobQueue, Llm, Providers, Store, SystemClock, UlidGen,
    WebhookSender,
};
use crate::settings::Settings;
use std::sync::Arc;

pub struct Services {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn JobQueue>,
    pub cipher: Arc<dyn Cipher>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdGen>,
    pub network: Network,
    pub settings: Settings,
    pub endpoint_slots: EndpointSlots,
    pub subscriptions: SubscriptionCache,
    pub admin_tokens: AdminTokens,
    pub login_throttle: LoginThrottle,
    /// The media bytes this process holds at once: a burst of large voice notes waits its turn
    /// instead of filling memory.
    pub media_memory: MediaMemory,
    /// One template list fetched from the provider at a time in this process: requests that
    /// find the cache empty together wait for the first to fill it, then read it.
    pub template_fill: tokio::sync::Mutex<()>,
}

/// What a deployment reaches over the network: the providers, the LLM and webhook receivers.
pub struct Network {
    pub providers: Providers,
    pub llm: Arc<dyn Llm>,
    pub webhooks: Arc<dyn WebhookSender>,
    /// URLs of media a bridge or relay phone sent.
    pub downloads: Arc<dyn Downloads>,
}

/// Deliveries to one endpoint running at once in a process: enough to keep a fast endpoint
/// busy, an eighth of the local webhook worker's slots, so a hanging one cannot take them all.
const DELIVERIES_PER_ENDPOINT: usize = 8;

/// What axum handlers and job handlers receive.
pub type AppState = Arc<Services>;

impl Services {
    /// A deployment's adapters, with the system's clock and ids.
    pub fn new(
        store: Arc<dyn Store>,
        queue: Arc<dyn JobQueue>,
        cipher: Arc<dyn Cipher>,
        network: Network,
        settings: Settings,
    ) -> AppState {
        let media_memory = MediaMemory::new(settings.media_memory_bytes);
        Arc::new(Self {
            store,
            queue,
            cipher,
            clock: Arc::new(SystemClock),
            ids: Arc::new(UlidGen::default()),
            network,
            admin_tokens: AdminTokens::new(&settings),
            settings,
            endpoint_slots: EndpointSlots::new(DELIVERIES_PER_ENDPOINT),
            subscriptions: SubscriptionCache::default(),
            login_throttle: LoginThrottle::default(),
            media_memory,
            template_fill: tokio::sync::Mutex::new(()),
        })
    }
}
