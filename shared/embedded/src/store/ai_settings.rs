//! AI settings of the global level and of each account, one row per owner, changed by
//! read-change-write inside the single writer (so concurrent changes to different fields both
//! survive).

use super::{EmbeddedStore, backend, from_json, to_json};
use crate::cached;
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use switchboard_core::domain::ai_settings::{AiSettings, AiSettingsPatch};
use switchboard_core::domain::ids::AccountId;
use switchboard_core::ports::{AiSettingsStore, StoreError};

pub(super) const GLOBAL: &str = "global";

impl EmbeddedStore {
    async fn settings_of(&self, owner: String) -> Result<AiSettings, StoreError> {
        self.db
            .read(move |c| {
                let data: Option<String> = cached::query_row(
                    c,
                    "SELECT data FROM ai_settings WHERE owner = ?1",
                    [owner],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
                data.map(|d| from_json(&d))
                    .transpose()
                    .map(Option::unwrap_or_default)
            })
            .await
    }

    /// Read, change and write in one savepoint of the single writer: concurrent updates
    /// serialize instead of overwriting each other.
    async fn update_settings_of(
        &self,
        owner: String,
        patch: AiSettingsPatch,
    ) -> Result<AiSettings, StoreError> {
        self.db
            .write(move |c| {
                let stored: Option<String> = cached::query_row(
                    c,
                    "SELECT data FROM ai_settings WHERE owner = ?1",
                    [&owner],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
                let mut settings: AiSettings = stored
                    .map(|d| from_json(&d))
                    .transpose()?
                    .unwrap_or_default();
                settings.apply(patch);
                cached::exec(
                    c,
                    "INSERT INTO ai_settings (owner, data) VALUES (?1, ?2)
                     ON CONFLICT (owner) DO UPDATE SET data = excluded.data",
                    params![owner, to_json(&settings)?],
                )
                .map_err(backend)?;
                Ok(settings)
            })
            .await
    }
}

#[async_trait]
impl AiSettingsStore for EmbeddedStore {
    async fn global_ai(&self) -> Result<AiSettings, StoreError> {
        self.settings_of(GLOBAL.into()).await
    }

    async fn update_global_ai(&self, patch: AiSettingsPatch) -> Result<AiSettings, StoreError> {
        self.update_settings_of(GLOBAL.into(), patch).await
    }

    async fn account_ai(&self, id: &AccountId) -> Result<AiSettings, StoreError> {
        self.settings_of(id.to_string()).await
    }

    async fn update_account_ai(
        &self,
        id: &AccountId,
        patch: AiSettingsPatch,
    ) -> Result<AiSettings, StoreError> {
        self.update_settings_of(id.to_string(), patch).await
    }
}
