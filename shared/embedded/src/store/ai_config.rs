use super::{EmbeddedStore, backend, from_json, to_json};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use switchboard_core::domain::ai_settings::AiSettings;
use switchboard_core::domain::ids::AccountId;
use switchboard_core::ports::{AiConfigStore, StoreError};

const GLOBAL: &str = "global";

impl EmbeddedStore {
    async fn settings_of(&self, owner: String) -> Result<AiSettings, StoreError> {
        self.db
            .read(move |c| {
                let data: Option<String> = c
                    .query_row(
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

    async fn put_settings_of(
        &self,
        owner: String,
        settings: &AiSettings,
    ) -> Result<(), StoreError> {
        let data = to_json(settings)?;
        self.db
            .write(move |c| {
                c.execute(
                    "INSERT INTO ai_settings (owner, data) VALUES (?1, ?2)
                     ON CONFLICT (owner) DO UPDATE SET data = excluded.data",
                    params![owner, data],
                )
                .map_err(backend)?;
                Ok(())
            })
            .await
    }
}

#[async_trait]
impl AiConfigStore for EmbeddedStore {
    async fn global_ai(&self) -> Result<AiSettings, StoreError> {
        self.settings_of(GLOBAL.into()).await
    }

    async fn put_global_ai(&self, settings: &AiSettings) -> Result<(), StoreError> {
        self.put_settings_of(GLOBAL.into(), settings).await
    }

    async fn account_ai(&self, id: &AccountId) -> Result<AiSettings, StoreError> {
        self.settings_of(id.to_string()).await
    }

    async fn put_account_ai(
        &self,
        id: &AccountId,
        settings: &AiSettings,
    ) -> Result<(), StoreError> {
        self.put_settings_of(id.to_string(), settings).await
    }
}
