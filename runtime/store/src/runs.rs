//! Runs: one request's way through a flow.

use std::collections::BTreeMap;

use assent_engine::{FlowPlan, Position, RunStatus};
use assent_types::{FieldValue, Notification, RequestPermission, Run, Step, User};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use sqlx::AnyConnection;

use crate::db::multi_row_insert;
use crate::{Store, StoreError, Tx};

/// What went wrong when a plugin failed a step, in the plugin author's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunError {
    pub step: Step,
    /// The handler that failed, e.g. `on_approve` or `escalate`.
    pub handler: String,
    pub message: String,
    pub at: i64,
}

/// Everything about a run besides the columns queries filter on, kept as JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunBody {
    pub requester: User,
    pub fields: BTreeMap<String, FieldValue>,
    /// Who acted at each step, the context of each, and where the request came from.
    pub run: Run,
    /// When each step happened (Unix milliseconds), by step: when a request was approved
    /// stays known after later steps move `updated_at` on.
    pub acted_at: BTreeMap<Step, i64>,
    /// Outputs of the steps so far (e.g. the strategy's answer to `escalate`), by step name.
    pub outputs: serde_json::Map<String, serde_json::Value>,
    /// The request's notifications in the order they go out.
    pub notifications: Vec<Notification>,
    pub plan: FlowPlan,
    /// The reason given with the latest step, by a person or a hook.
    pub reason: Option<String>,
    pub error: Option<RunError>,
    /// When access ends, if it was granted for a duration.
    pub access_until: Option<i64>,
    /// The Slack workspace (team id) the request was made in: its cards and DMs go there.
    /// `None` for requests made through the API, which go to the organisation's first.
    pub slack_team: Option<String>,
    /// The flow's `get_permissions` answer, asked once when the request was made (as Sym
    /// does): who may approve, deny, revoke and view. `None` for runs stored before runs kept
    /// it; those ask the plugin again.
    pub permissions: Option<RequestPermission>,
    /// The fields the requester's form showed (the flow's visible ones, as the plugin's
    /// `on_change` left them): what cards show. `None` for runs stored before runs kept it;
    /// those show the flow's visible fields.
    pub shown_fields: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    pub id: String,
    pub org_id: String,
    pub flow_id: String,
    pub flow_name: String,
    pub requester_id: String,
    pub status: RunStatus,
    pub notification: u32,
    /// Bumped by every step; see `Tx::update_run`.
    pub version: i64,
    pub body: RunBody,
    pub created_at: i64,
    pub updated_at: i64,
}

impl RunRecord {
    /// Where the run stands, for the state machine.
    pub fn position(&self) -> Position {
        Position {
            status: self.status,
            notification: self.notification,
            notifications: u32::try_from(self.body.notifications.len()).unwrap_or(u32::MAX),
        }
    }
}

const RUN_COLUMNS: &str = "id, org_id, flow_id, flow_name, requester_id, status, notification, version, body, created_at, updated_at";

fn run_from_row(row: &AnyRow) -> Result<RunRecord, StoreError> {
    let status: String = row.try_get("status")?;
    let body: String = row.try_get("body")?;
    let notification: i64 = row.try_get("notification")?;
    Ok(RunRecord {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        flow_id: row.try_get("flow_id")?,
        flow_name: row.try_get("flow_name")?,
        requester_id: row.try_get("requester_id")?,
        status: status.parse().map_err(|_| {
            StoreError::Database(sqlx::Error::Protocol(format!(
                "stored run status `{status}` is unknown"
            )))
        })?,
        notification: u32::try_from(notification).unwrap_or(0),
        version: row.try_get("version")?,
        body: serde_json::from_str(&body).map_err(StoreError::corrupt("run"))?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn body_json(body: &RunBody) -> Result<String, StoreError> {
    serde_json::to_string(body).map_err(StoreError::corrupt("run"))
}

/// Inserts `runs` in one statement.
pub(crate) async fn insert_runs(
    connection: &mut AnyConnection,
    runs: &[&RunRecord],
) -> Result<(), StoreError> {
    if runs.is_empty() {
        return Ok(());
    }
    let sql = multi_row_insert(
        "runs (id, org_id, flow_id, flow_name, requester_id, status, notification, version, body, created_at, updated_at)",
        11,
        runs.len(),
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for run in runs {
        query = query
            .bind(run.id.clone())
            .bind(run.org_id.clone())
            .bind(run.flow_id.clone())
            .bind(run.flow_name.clone())
            .bind(run.requester_id.clone())
            .bind(run.status.as_str())
            .bind(i64::from(run.notification))
            .bind(run.version)
            .bind(body_json(&run.body)?)
            .bind(run.created_at)
            .bind(run.updated_at);
    }
    query.execute(connection).await?;
    Ok(())
}

/// Stores `run` (its version already bumped) if the row is still at `run.version - 1`.
pub(crate) async fn update_run(
    connection: &mut AnyConnection,
    run: &RunRecord,
) -> Result<bool, StoreError> {
    let updated = sqlx::query(
        "UPDATE runs SET status = $1, notification = $2, version = $3, body = $4, updated_at = $5
         WHERE org_id = $6 AND id = $7 AND version = $8",
    )
    .bind(run.status.as_str())
    .bind(i64::from(run.notification))
    .bind(run.version)
    .bind(body_json(&run.body)?)
    .bind(run.updated_at)
    .bind(&run.org_id)
    .bind(&run.id)
    .bind(run.version - 1)
    .execute(connection)
    .await?;
    Ok(updated.rows_affected() == 1)
}

impl Tx {
    pub async fn insert_run(&mut self, run: &RunRecord) -> Result<(), StoreError> {
        insert_runs(&mut self.inner, &[run]).await
    }

    /// Stores `run` (with its version already bumped) if the stored row is still at
    /// `run.version - 1`. `false`: another step got there first; nothing was written.
    pub async fn update_run(&mut self, run: &RunRecord) -> Result<bool, StoreError> {
        update_run(&mut self.inner, run).await
    }
}

impl Store {
    pub async fn run(&self, org_id: &str, id: &str) -> Result<Option<RunRecord>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE org_id = $1 AND id = $2"
        ));
        let row = sqlx::query(sql)
            .bind(org_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(run_from_row).transpose()
    }

    /// The organisation's runs, newest first, before the run `before` if given.
    pub async fn runs(
        &self,
        org_id: &str,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<RunRecord>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE org_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
        ));
        let rows = sqlx::query(sql)
            .bind(org_id)
            .bind(before.unwrap_or("~"))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(run_from_row).collect()
    }
}
