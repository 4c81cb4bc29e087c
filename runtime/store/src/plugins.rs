//! Uploaded plugins, content-addressed within each organisation.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError, now_millis};

/// What the store knows of a plugin without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginRecord {
    /// SHA-256 of the component, hex: the plugin's name everywhere.
    pub hash: String,
    pub size: i64,
    pub sdk: String,
    pub contract_version: String,
    pub handlers: Vec<String>,
    pub created_at: i64,
}

fn record_from_row(row: &AnyRow) -> Result<PluginRecord, StoreError> {
    let handlers: String = row.try_get("handlers")?;
    Ok(PluginRecord {
        hash: row.try_get("hash")?,
        size: row.try_get("size")?,
        sdk: row.try_get("sdk")?,
        contract_version: row.try_get("contract_version")?,
        handlers: serde_json::from_str(&handlers)
            .map_err(StoreError::corrupt("plugin handlers"))?,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    /// Stores a validated plugin. Uploading the same bytes again changes nothing.
    pub async fn put_plugin(
        &self,
        org_id: &str,
        record: &PluginRecord,
        bytes: &[u8],
    ) -> Result<PluginRecord, StoreError> {
        sqlx::query(
            "INSERT INTO plugins (org_id, hash, bytes, size, sdk, contract_version, handlers, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (org_id, hash) DO NOTHING",
        )
        .bind(org_id)
        .bind(&record.hash)
        .bind(bytes)
        .bind(record.size)
        .bind(&record.sdk)
        .bind(&record.contract_version)
        .bind(serde_json::to_string(&record.handlers).unwrap_or_else(|_| "[]".to_owned()))
        .bind(now_millis())
        .execute(&self.writes)
        .await?;
        self.plugin(org_id, &record.hash)
            .await?
            .ok_or_else(|| StoreError::Conflict(format!("plugin `{}` vanished", record.hash)))
    }

    pub async fn plugin(
        &self,
        org_id: &str,
        hash: &str,
    ) -> Result<Option<PluginRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT hash, size, sdk, contract_version, handlers, created_at FROM plugins WHERE org_id = $1 AND hash = $2",
        )
        .bind(org_id)
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(record_from_row).transpose()
    }

    pub async fn plugin_bytes(
        &self,
        org_id: &str,
        hash: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT bytes FROM plugins WHERE org_id = $1 AND hash = $2")
                .bind(org_id)
                .bind(hash)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub async fn plugins(&self, org_id: &str) -> Result<Vec<PluginRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT hash, size, sdk, contract_version, handlers, created_at FROM plugins WHERE org_id = $1 ORDER BY created_at, hash",
        )
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record_from_row).collect()
    }
}
