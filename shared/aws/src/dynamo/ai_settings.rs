//! AI settings of the global level and of each account, one item each, changed on the version
//! read (retried on a conflict) so that concurrent changes to different fields both survive.

use super::item::{self, Item, data, get_n, json, key, n};
use super::keys::{self, GLOBAL_PK, SETTINGS_SK};
use super::{DynamoStore, held};
use async_trait::async_trait;
use switchboard_core::domain::ai_settings::{AiSettings, AiSettingsPatch};
use switchboard_core::domain::ids::AccountId;
use switchboard_core::ports::{AiSettingsStore, StoreError};

const VERSION: &str = "v";
/// Concurrent changes to one level retry this often before the caller sees a conflict.
const ATTEMPTS: usize = 20;

pub(super) fn global_key() -> Item {
    key(GLOBAL_PK, SETTINGS_SK)
}

pub(super) fn account_settings_key(id: &AccountId) -> Item {
    key(keys::account(id), SETTINGS_SK)
}

pub(super) fn settings_of(row: Option<&Item>) -> Result<AiSettings, StoreError> {
    row.map(data).transpose().map(Option::unwrap_or_default)
}

impl DynamoStore {
    /// Read, change, and write back only if nobody wrote in between (a version number), so
    /// concurrent changes to different fields both survive.
    async fn update_settings(
        &self,
        row_key: Item,
        patch: AiSettingsPatch,
    ) -> Result<AiSettings, StoreError> {
        for _ in 0..ATTEMPTS {
            let stored = self.get(row_key.clone()).await?;
            let version = stored.as_ref().and_then(|i| get_n(i, VERSION));
            let mut settings = settings_of(stored.as_ref())?;
            settings.apply(patch.clone());
            let mut row = row_key.clone();
            row.insert(item::DATA.into(), json(&settings)?);
            row.insert(VERSION.into(), n(version.unwrap_or(0) + 1));
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(row));
            let put = match version {
                Some(v) => put
                    .condition_expression("v = :v")
                    .expression_attribute_values(":v", n(v)),
                None => put.condition_expression("attribute_not_exists(pk)"),
            };
            let written = held(put.send().await);
            self.forget_config(&row_key);
            if written? {
                return Ok(settings);
            }
        }
        Err(StoreError::Conflict(
            "the settings kept changing; try again".into(),
        ))
    }
}

#[async_trait]
impl AiSettingsStore for DynamoStore {
    async fn global_ai(&self) -> Result<AiSettings, StoreError> {
        settings_of(self.get(global_key()).await?.as_ref())
    }

    async fn update_global_ai(&self, patch: AiSettingsPatch) -> Result<AiSettings, StoreError> {
        self.update_settings(global_key(), patch).await
    }

    async fn account_ai(&self, id: &AccountId) -> Result<AiSettings, StoreError> {
        settings_of(self.get(account_settings_key(id)).await?.as_ref())
    }

    async fn update_account_ai(
        &self,
        id: &AccountId,
        patch: AiSettingsPatch,
    ) -> Result<AiSettings, StoreError> {
        self.update_settings(account_settings_key(id), patch).await
    }
}
