//! Secrets and integrations, per environment.
//!
//! Secrets arrive sealed (the runner seals them with the server's keyring) and leave sealed:
//! this module never sees a plaintext. [`SecretRecord`], the one shape lists and the API
//! are built from, has no value at all.

use std::collections::BTreeMap;

use assent_types::{IntegrationSpec, IntegrationType};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError, now_millis};

/// A secret as anyone outside the runner may see it: which one, which version, who set it
/// and when — never its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretRecord {
    pub name: String,
    pub version: i64,
    /// The email of whoever set this version; `None` for configuration.
    pub set_by: Option<String>,
    pub set_at: i64,
}

/// A secret's sealed value and the key it is sealed under, for the runner to open.
#[derive(Debug, Clone)]
pub struct SealedSecret {
    pub record: SecretRecord,
    pub sealed: Vec<u8>,
    pub key_id: String,
}

/// A secret sealed under a key being rotated away from, anywhere in the database.
#[derive(Debug, Clone)]
pub struct StaleSecret {
    pub org_id: String,
    pub environment_id: String,
    pub name: String,
    pub version: i64,
    pub sealed: Vec<u8>,
}

/// An integration as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntegrationRecord {
    pub name: String,
    #[serde(flatten)]
    pub spec: IntegrationSpec,
    /// Increases with every change.
    pub version: i64,
    pub updated_by: Option<String>,
    pub updated_at: i64,
}

/// What deleting a secret did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretDeletion {
    Deleted,
    NotFound,
    /// Not deleted: these integrations (by name) reference it.
    InUse(Vec<String>),
}

fn secret_from_row(row: &AnyRow) -> Result<SecretRecord, StoreError> {
    Ok(SecretRecord {
        name: row.try_get("name")?,
        version: row.try_get("version")?,
        set_by: row.try_get("set_by")?,
        set_at: row.try_get("set_at")?,
    })
}

fn integration_from_row(row: &AnyRow) -> Result<IntegrationRecord, StoreError> {
    let kind: String = row.try_get("integration_type")?;
    let integration_type: IntegrationType = serde_json::from_value(serde_json::Value::String(kind))
        .map_err(StoreError::corrupt("integration type"))?;
    let settings: String = row.try_get("settings")?;
    let settings: BTreeMap<String, String> =
        serde_json::from_str(&settings).map_err(StoreError::corrupt("integration settings"))?;
    Ok(IntegrationRecord {
        name: row.try_get("name")?,
        spec: IntegrationSpec {
            integration_type,
            external_id: row.try_get("external_id")?,
            settings,
        },
        version: row.try_get("version")?,
        updated_by: row.try_get("updated_by")?,
        updated_at: row.try_get("updated_at")?,
    })
}

const SECRET_COLUMNS: &str = "name, version, set_by, set_at";
const INTEGRATION_COLUMNS: &str =
    "name, integration_type, external_id, settings, version, updated_by, updated_at";

impl Store {
    /// Sets secret `name` of the environment to a sealed value: its first version, or the
    /// next one.
    pub async fn put_secret(
        &self,
        org_id: &str,
        environment_id: &str,
        name: &str,
        sealed: &[u8],
        key_id: &str,
        set_by: Option<&str>,
    ) -> Result<SecretRecord, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO secrets (org_id, environment_id, name, version, sealed, key_id, set_by, set_at)
             VALUES ($1, $2, $3, 1, $4, $5, $6, $7)
             ON CONFLICT (org_id, environment_id, name) DO UPDATE SET version = secrets.version + 1,
               sealed = excluded.sealed, key_id = excluded.key_id, set_by = excluded.set_by,
               set_at = excluded.set_at
             RETURNING {SECRET_COLUMNS}"
        )))
        .bind(org_id)
        .bind(environment_id)
        .bind(name)
        .bind(sealed.to_vec())
        .bind(key_id)
        .bind(set_by)
        .bind(now_millis())
        .fetch_one(&self.writes)
        .await?;
        secret_from_row(&row)
    }

    /// The environment's secrets, by name, without values.
    pub async fn secrets(
        &self,
        org_id: &str,
        environment_id: &str,
    ) -> Result<Vec<SecretRecord>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SECRET_COLUMNS} FROM secrets WHERE org_id = $1 AND environment_id = $2 ORDER BY name"
        )))
        .bind(org_id)
        .bind(environment_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(secret_from_row)
        .collect()
    }

    /// One secret's sealed value, for the runner to open for an integration.
    pub async fn sealed_secret(
        &self,
        org_id: &str,
        environment_id: &str,
        name: &str,
    ) -> Result<Option<SealedSecret>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SECRET_COLUMNS}, sealed, key_id FROM secrets
             WHERE org_id = $1 AND environment_id = $2 AND name = $3"
        )))
        .bind(org_id)
        .bind(environment_id)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(SealedSecret {
                record: secret_from_row(&row)?,
                sealed: row.try_get("sealed")?,
                key_id: row.try_get("key_id")?,
            })
        })
        .transpose()
    }

    /// Deletes secret `name`, unless an integration of the environment references it.
    ///
    /// The check and the delete share a transaction. On PostgreSQL an integration written
    /// concurrently could still reference the secret once it is gone; using it then fails
    /// naming the missing secret, as it would for one deleted by hand.
    pub async fn delete_secret(
        &self,
        org_id: &str,
        environment_id: &str,
        name: &str,
    ) -> Result<SecretDeletion, StoreError> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {INTEGRATION_COLUMNS} FROM integrations WHERE org_id = $1 AND environment_id = $2 ORDER BY name"
        )))
        .bind(org_id)
        .bind(environment_id)
        .fetch_all(&mut *tx.inner)
        .await?;
        let mut users = Vec::new();
        for row in &rows {
            let integration = integration_from_row(row)?;
            if integration
                .spec
                .secret_references()
                .any(|(_, secret)| secret == name)
            {
                users.push(integration.name);
            }
        }
        if !users.is_empty() {
            return Ok(SecretDeletion::InUse(users));
        }
        let deleted = sqlx::query(
            "DELETE FROM secrets WHERE org_id = $1 AND environment_id = $2 AND name = $3",
        )
        .bind(org_id)
        .bind(environment_id)
        .bind(name)
        .execute(&mut *tx.inner)
        .await?;
        tx.commit().await?;
        Ok(if deleted.rows_affected() > 0 {
            SecretDeletion::Deleted
        } else {
            SecretDeletion::NotFound
        })
    }

    /// Secrets of every organisation not sealed under `current_key_id`, a page at a time, for
    /// a key rotation (which is the server's, not a tenant's: the one read here that names
    /// no organisation).
    pub async fn stale_secrets(
        &self,
        current_key_id: &str,
        limit: i64,
    ) -> Result<Vec<StaleSecret>, StoreError> {
        sqlx::query(
            "SELECT org_id, environment_id, name, version, sealed FROM secrets
             WHERE key_id <> $1 ORDER BY org_id, environment_id, name LIMIT $2",
        )
        .bind(current_key_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(StaleSecret {
                org_id: row.try_get("org_id")?,
                environment_id: row.try_get("environment_id")?,
                name: row.try_get("name")?,
                version: row.try_get("version")?,
                sealed: row.try_get("sealed")?,
            })
        })
        .collect()
    }

    /// Replaces a stale secret's sealed value with the same value sealed under the current
    /// key, if nobody set a new version meanwhile; keeps its version, who set it and when.
    pub async fn reseal_secret(
        &self,
        stale: &StaleSecret,
        sealed: &[u8],
        key_id: &str,
    ) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE secrets SET sealed = $1, key_id = $2
             WHERE org_id = $3 AND environment_id = $4 AND name = $5 AND version = $6",
        )
        .bind(sealed.to_vec())
        .bind(key_id)
        .bind(&stale.org_id)
        .bind(&stale.environment_id)
        .bind(&stale.name)
        .bind(stale.version)
        .execute(&self.writes)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    /// Creates or replaces integration `name` of the environment.
    pub async fn put_integration(
        &self,
        org_id: &str,
        environment_id: &str,
        name: &str,
        spec: &IntegrationSpec,
        updated_by: Option<&str>,
    ) -> Result<IntegrationRecord, StoreError> {
        let settings = serde_json::to_string(&spec.settings).unwrap_or_else(|_| "{}".to_owned());
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO integrations (org_id, environment_id, name, integration_type, external_id, settings, version, updated_by, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8)
             ON CONFLICT (org_id, environment_id, name) DO UPDATE SET
               integration_type = excluded.integration_type, external_id = excluded.external_id,
               settings = excluded.settings, version = integrations.version + 1,
               updated_by = excluded.updated_by, updated_at = excluded.updated_at
             RETURNING {INTEGRATION_COLUMNS}"
        )))
        .bind(org_id)
        .bind(environment_id)
        .bind(name)
        .bind(spec.integration_type.as_str())
        .bind(&spec.external_id)
        .bind(settings)
        .bind(updated_by)
        .bind(now_millis())
        .fetch_one(&self.writes)
        .await?;
        integration_from_row(&row)
    }

    pub async fn integration(
        &self,
        org_id: &str,
        environment_id: &str,
        name: &str,
    ) -> Result<Option<IntegrationRecord>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {INTEGRATION_COLUMNS} FROM integrations
             WHERE org_id = $1 AND environment_id = $2 AND name = $3"
        )))
        .bind(org_id)
        .bind(environment_id)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(integration_from_row)
        .transpose()
    }

    /// The environment's integrations, by name.
    pub async fn integrations(
        &self,
        org_id: &str,
        environment_id: &str,
    ) -> Result<Vec<IntegrationRecord>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {INTEGRATION_COLUMNS} FROM integrations WHERE org_id = $1 AND environment_id = $2 ORDER BY name"
        )))
        .bind(org_id)
        .bind(environment_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(integration_from_row)
        .collect()
    }

    /// Deletes integration `name`; `false` if there was none.
    pub async fn delete_integration(
        &self,
        org_id: &str,
        environment_id: &str,
        name: &str,
    ) -> Result<bool, StoreError> {
        let deleted = sqlx::query(
            "DELETE FROM integrations WHERE org_id = $1 AND environment_id = $2 AND name = $3",
        )
        .bind(org_id)
        .bind(environment_id)
        .bind(name)
        .execute(&self.writes)
        .await?;
        Ok(deleted.rows_affected() > 0)
    }
}
