//! Flows, versioned: every change is a new version and runs keep the one they started with.

use std::collections::BTreeMap;

use assent_types::{FlowParams, PromptField, Strategy};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::unique;
use crate::{Store, StoreError, new_id, now_millis};

/// A flow version to store.
#[derive(Debug, Clone)]
pub struct NewFlow {
    pub name: String,
    pub label: String,
    pub environment_id: String,
    pub vars: BTreeMap<String, String>,
    pub fields: Vec<PromptField>,
    pub params: FlowParams,
    pub plugin_hash: String,
    pub strategy: Option<Strategy>,
}

/// One stored version of a flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowRecord {
    pub id: String,
    pub name: String,
    pub version: i64,
    pub label: String,
    pub environment: String,
    pub vars: BTreeMap<String, String>,
    pub fields: Vec<PromptField>,
    pub params: FlowParams,
    pub plugin_hash: String,
    pub strategy: Option<Strategy>,
    pub created_at: i64,
}

/// An organisation's flows filter (Sym's `sym_flows_filter`): the plugin whose `get_flows`
/// decides which flows each person is offered, and the vars it gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowsFilter {
    pub plugin_hash: String,
    pub vars: BTreeMap<String, String>,
    pub updated_at: i64,
}

const FLOW_SELECT: &str =
    "SELECT f.id AS id, f.name AS name, f.version AS version, f.label AS label,
    e.name AS environment, f.vars AS vars, f.fields AS fields, f.params AS params,
    f.plugin_hash AS plugin_hash, f.strategy_hash AS strategy_hash, f.strategy AS strategy, f.created_at AS created_at
    FROM flows f JOIN environments e ON e.id = f.environment_id AND e.org_id = f.org_id";

fn flow_from_row(row: &AnyRow) -> Result<FlowRecord, StoreError> {
    let json = |column: &str| -> Result<String, StoreError> { Ok(row.try_get(column)?) };
    Ok(FlowRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        version: row.try_get("version")?,
        label: row.try_get("label")?,
        environment: row.try_get("environment")?,
        vars: serde_json::from_str(&json("vars")?).map_err(StoreError::corrupt("flow vars"))?,
        fields: serde_json::from_str(&json("fields")?)
            .map_err(StoreError::corrupt("flow fields"))?,
        params: serde_json::from_str(&json("params")?)
            .map_err(StoreError::corrupt("flow params"))?,
        plugin_hash: row.try_get("plugin_hash")?,
        strategy: strategy_from_row(row)?,
        created_at: row.try_get("created_at")?,
    })
}

/// The flow's strategy: the `strategy` column, or for a row written before it, a plugin
/// strategy by its hash alone.
fn strategy_from_row(row: &AnyRow) -> Result<Option<Strategy>, StoreError> {
    let whole: Option<String> = row.try_get("strategy")?;
    if let Some(json) = whole {
        return serde_json::from_str(&json)
            .map(Some)
            .map_err(StoreError::corrupt("flow strategy"));
    }
    let hash: Option<String> = row.try_get("strategy_hash")?;
    Ok(hash.map(Strategy::plugin))
}

fn to_json(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// Inserts `flow` as the next version of its name in `tx`; returns the version's id.
pub(crate) async fn insert_flow(
    tx: &mut crate::Tx,
    org_id: &str,
    flow: &NewFlow,
) -> Result<String, StoreError> {
    let latest: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM flows WHERE org_id = $1 AND name = $2")
            .bind(org_id)
            .bind(&flow.name)
            .fetch_one(&mut *tx.inner)
            .await?;
    let id = new_id();
    sqlx::query(
            "INSERT INTO flows (id, org_id, name, version, environment_id, label, vars, fields, params, plugin_hash, strategy_hash, strategy, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&id)
        .bind(org_id)
        .bind(&flow.name)
        .bind(latest.unwrap_or(0) + 1)
        .bind(&flow.environment_id)
        .bind(&flow.label)
        .bind(to_json(&flow.vars))
        .bind(to_json(&flow.fields))
        .bind(to_json(&flow.params))
        .bind(&flow.plugin_hash)
        .bind(flow.strategy.as_ref().and_then(Strategy::plugin_hash))
        .bind(flow.strategy.as_ref().map(to_json))
        .bind(now_millis())
        .execute(&mut *tx.inner)
        .await
        .map_err(unique(format!("flow `{}` at this version", flow.name)))?;
    Ok(id)
}

impl Store {
    /// Stores `flow` as the next version of its name (version 1 if new).
    pub async fn put_flow(&self, org_id: &str, flow: &NewFlow) -> Result<FlowRecord, StoreError> {
        let mut tx = self.begin().await?;
        let id = insert_flow(&mut tx, org_id, flow).await?;
        tx.commit().await?;
        self.flow_version(org_id, &id)
            .await?
            .ok_or_else(|| StoreError::Conflict(format!("flow `{}` vanished", flow.name)))
    }

    /// The latest version of the flow called `name`.
    pub async fn flow(&self, org_id: &str, name: &str) -> Result<Option<FlowRecord>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{FLOW_SELECT} WHERE f.org_id = $1 AND f.name = $2 ORDER BY f.version DESC LIMIT 1"
        ));
        let row = sqlx::query(sql)
            .bind(org_id)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(flow_from_row).transpose()
    }

    /// One stored version, by its id.
    pub async fn flow_version(
        &self,
        org_id: &str,
        id: &str,
    ) -> Result<Option<FlowRecord>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("{FLOW_SELECT} WHERE f.org_id = $1 AND f.id = $2"));
        let row = sqlx::query(sql)
            .bind(org_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(flow_from_row).transpose()
    }

    /// The latest version of every flow.
    pub async fn flows(&self, org_id: &str) -> Result<Vec<FlowRecord>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{FLOW_SELECT} WHERE f.org_id = $1 AND f.version =
               (SELECT MAX(v.version) FROM flows v WHERE v.org_id = f.org_id AND v.name = f.name)
             ORDER BY f.name"
        ));
        let rows = sqlx::query(sql).bind(org_id).fetch_all(&self.pool).await?;
        rows.iter().map(flow_from_row).collect()
    }

    /// The organisation's flows filter, if it has one.
    pub async fn flows_filter(&self, org_id: &str) -> Result<Option<FlowsFilter>, StoreError> {
        let row = sqlx::query(
            "SELECT plugin_hash, vars, updated_at FROM flows_filters WHERE org_id = $1",
        )
        .bind(org_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let vars: String = row.try_get("vars")?;
            Ok(FlowsFilter {
                plugin_hash: row.try_get("plugin_hash")?,
                vars: serde_json::from_str(&vars)
                    .map_err(StoreError::corrupt("flows filter vars"))?,
                updated_at: row.try_get("updated_at")?,
            })
        })
        .transpose()
    }

    /// Sets the organisation's flows filter, replacing the one before.
    pub async fn put_flows_filter(
        &self,
        org_id: &str,
        plugin_hash: &str,
        vars: &BTreeMap<String, String>,
    ) -> Result<FlowsFilter, StoreError> {
        let updated_at = now_millis();
        sqlx::query(
            "INSERT INTO flows_filters (org_id, plugin_hash, vars, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (org_id) DO UPDATE SET plugin_hash = excluded.plugin_hash,
               vars = excluded.vars, updated_at = excluded.updated_at",
        )
        .bind(org_id)
        .bind(plugin_hash)
        .bind(to_json(vars))
        .bind(updated_at)
        .execute(&self.writes)
        .await?;
        Ok(FlowsFilter {
            plugin_hash: plugin_hash.to_owned(),
            vars: vars.clone(),
            updated_at,
        })
    }

    /// Removes the organisation's flows filter; `false` if it had none.
    pub async fn delete_flows_filter(&self, org_id: &str) -> Result<bool, StoreError> {
        let deleted = sqlx::query("DELETE FROM flows_filters WHERE org_id = $1")
            .bind(org_id)
            .execute(&self.writes)
            .await?;
        Ok(deleted.rows_affected() > 0)
    }
}
