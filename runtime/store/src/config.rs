//! A configuration applied at once: environments' error loggers, flow versions and the flows
//! filter, written in one transaction with their audit entries — all of it, or none.

use std::collections::BTreeMap;

use crate::flows::insert_flow;
use crate::{NewEvent, NewFlow, Store, StoreError, now_millis};

/// What an apply writes; only what changed.
#[derive(Debug, Clone, Default)]
pub struct ConfigWrite {
    /// Environment id → its error-logger channel (`None` removes it).
    pub error_loggers: Vec<(String, Option<String>)>,
    /// New flow versions; their environments exist already.
    pub flows: Vec<NewFlow>,
    /// The flows filter to set: plugin hash and vars.
    pub flows_filter: Option<(String, BTreeMap<String, String>)>,
    pub events: Vec<NewEvent>,
}

impl Store {
    /// Writes `write` in one transaction; returns the new flow versions' ids.
    pub async fn apply_config(
        &self,
        org_id: &str,
        write: &ConfigWrite,
    ) -> Result<Vec<String>, StoreError> {
        let mut tx = self.begin().await?;
        for (environment_id, channel) in &write.error_loggers {
            sqlx::query("UPDATE environments SET error_logger = $1 WHERE org_id = $2 AND id = $3")
                .bind(channel)
                .bind(org_id)
                .bind(environment_id)
                .execute(&mut *tx.inner)
                .await?;
        }
        let mut ids = Vec::with_capacity(write.flows.len());
        for flow in &write.flows {
            ids.push(insert_flow(&mut tx, org_id, flow).await?);
        }
        if let Some((plugin_hash, vars)) = &write.flows_filter {
            sqlx::query(
                "INSERT INTO flows_filters (org_id, plugin_hash, vars, updated_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (org_id) DO UPDATE SET plugin_hash = excluded.plugin_hash,
                   vars = excluded.vars, updated_at = excluded.updated_at",
            )
            .bind(org_id)
            .bind(plugin_hash)
            .bind(serde_json::to_string(vars).unwrap_or_else(|_| "{}".to_owned()))
            .bind(now_millis())
            .execute(&mut *tx.inner)
            .await?;
        }
        tx.append(org_id, &write.events).await?;
        tx.commit().await?;
        Ok(ids)
    }
}
