//! The backends a deployment wires together, chosen once at start and shared by every handler
//! and job.

use crate::auth::AdminTokens;
use crate::auth::LoginThrottle;
use crate::ports::{Cipher, Clock, IdGen, JobQueue, Providers, Store};
use crate::settings::Settings;
use std::sync::Arc;

pub struct Services {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn JobQueue>,
    pub cipher: Arc<dyn Cipher>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdGen>,
    pub providers: Providers,
    pub settings: Settings,
    pub admin_tokens: AdminTokens,
    pub login_throttle: LoginThrottle,
}

/// What axum handlers and job handlers receive.
pub type AppState = Arc<Services>;

impl Services {
    pub fn new(
        store: Arc<dyn Store>,
        queue: Arc<dyn JobQueue>,
        cipher: Arc<dyn Cipher>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGen>,
        providers: Providers,
        settings: Settings,
    ) -> AppState {
        let admin_tokens = AdminTokens::new(&settings);
        Arc::new(Self {
            store,
            queue,
            cipher,
            clock,
            ids,
            providers,
            settings,
            admin_tokens,
            login_throttle: LoginThrottle::default(),
        })
    }
}
