//! The backends a deployment wires together, chosen once at start and shared by every handler
//! and job.

use crate::auth::AdminTokens;
use crate::auth::LoginThrottle;
use crate::domain::provider::ProviderKind;
use crate::jobs::gate::EndpointGate;
use crate::net::guard::UrlGuard;
use crate::net::openai::OpenAiClient;
use crate::net::webhook_client::WebhookClient;
use crate::ports::{Cipher, Clock, IdGen, JobQueue, Llm, Providers, Store, WebhookSender};
use crate::sandbox::SandboxProvider;
use crate::settings::Settings;
use crate::usecases::subscription_cache::SubscriptionCache;
use std::sync::Arc;

pub struct Services {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn JobQueue>,
    pub cipher: Arc<dyn Cipher>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdGen>,
    pub providers: Providers,
    pub llm: Arc<dyn Llm>,
    pub webhooks: Arc<dyn WebhookSender>,
    pub settings: Settings,
    pub endpoint_gate: EndpointGate,
    pub subscriptions: SubscriptionCache,
    pub admin_tokens: AdminTokens,
    pub login_throttle: LoginThrottle,
}

/// Deliveries to one endpoint running at once in a process: enough to keep a fast endpoint
/// busy, an eighth of the local webhook worker's places, so a hanging one cannot take them all.
const DELIVERIES_PER_ENDPOINT: usize = 8;

/// What axum handlers and job handlers receive.
pub type AppState = Arc<Services>;

/// The adapters a deployment chose.
pub struct Backends {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn JobQueue>,
    pub cipher: Arc<dyn Cipher>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdGen>,
    pub providers: Providers,
    pub llm: Arc<dyn Llm>,
    pub webhooks: Arc<dyn WebhookSender>,
}

impl Services {
    pub fn new(backends: Backends, settings: Settings) -> AppState {
        let admin_tokens = AdminTokens::new(&settings);
        let Backends {
            store,
            queue,
            cipher,
            clock,
            ids,
            providers,
            llm,
            webhooks,
        } = backends;
        Arc::new(Self {
            store,
            queue,
            cipher,
            clock,
            ids,
            providers,
            llm,
            webhooks,
            settings,
            endpoint_gate: EndpointGate::new(DELIVERIES_PER_ENDPOINT),
            subscriptions: SubscriptionCache::default(),
            admin_tokens,
            login_throttle: LoginThrottle::default(),
        })
    }
}

/// What every deployment reaches over the network: the providers, the LLM client and the
/// webhook client, the last two behind one guard of user-controlled URLs.
pub struct NetworkClients {
    pub providers: Providers,
    pub llm: Arc<dyn Llm>,
    pub webhooks: Arc<dyn WebhookSender>,
}

impl NetworkClients {
    pub fn new(settings: &Settings) -> Result<Self, String> {
        let guard = UrlGuard::new(settings.allow_private_network_urls);
        let llm = OpenAiClient::new(guard).map_err(|e| format!("building the LLM client: {e}"))?;
        let webhooks =
            WebhookClient::new(guard).map_err(|e| format!("building the webhook client: {e}"))?;
        Ok(Self {
            providers: Providers::default().with(ProviderKind::Sandbox, Arc::new(SandboxProvider)),
            llm: Arc::new(llm),
            webhooks: Arc::new(webhooks),
        })
    }
}
