//! The audit trail: an append-only log of who did what, when, and what plugins decided.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use sqlx::AnyConnection;

use crate::db::multi_row_insert;
use crate::{Store, StoreError, Tx, new_id, now_millis};
use assent_types::{Step, User};

/// What an audit entry records. The one list of kinds: the log's `kind` column holds
/// [`EventKind::as_str`], which API clients filter on, so a name never changes once released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A run took this step (`request`, `approve`, …).
    Step(Step),
    /// An `on_<step>` hook decided (proceed, redirect, ignore).
    Hook,
    /// A notification went out to its destinations.
    Notify,
    /// A hook set the event aside.
    Ignored,
    /// Someone tried a step their permissions do not allow.
    Refused,
    /// A plugin or strategy failed.
    PluginError,
    /// A request reached none of its destinations.
    DeliveryFailed,
    /// A failed escalation's access taken back by the strategy's `deescalate`.
    RolledBack,
    PluginUploaded,
    FlowUpdated,
    UserUpdated,
    TokenCreated,
    EnvironmentUpdated,
    SlackConnected,
    SlackDisconnected,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Step(step) => step.as_str(),
            EventKind::Hook => "hook",
            EventKind::Notify => "notify",
            EventKind::Ignored => "ignored",
            EventKind::Refused => "refused",
            EventKind::PluginError => "plugin_error",
            EventKind::DeliveryFailed => "delivery_failed",
            EventKind::RolledBack => "rolled_back",
            EventKind::PluginUploaded => "plugin.uploaded",
            EventKind::FlowUpdated => "flow.updated",
            EventKind::UserUpdated => "user.updated",
            EventKind::TokenCreated => "token.created",
            EventKind::EnvironmentUpdated => "environment.updated",
            EventKind::SlackConnected => "slack.connected",
            EventKind::SlackDisconnected => "slack.disconnected",
        }
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An entry to append.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub run_id: Option<String>,
    pub kind: EventKind,
    pub actor: Option<User>,
    pub data: serde_json::Value,
}

impl NewEvent {
    /// An entry about run `run_id`.
    pub fn run(
        run_id: &str,
        kind: EventKind,
        actor: Option<&User>,
        data: serde_json::Value,
    ) -> NewEvent {
        NewEvent {
            run_id: Some(run_id.to_owned()),
            kind,
            actor: actor.cloned(),
            data,
        }
    }

    /// An entry about the organisation (plugins, flows, people, workspaces).
    pub fn org(kind: EventKind, actor: Option<&User>, data: serde_json::Value) -> NewEvent {
        NewEvent {
            run_id: None,
            kind,
            actor: actor.cloned(),
            data,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEvent {
    pub id: String,
    pub run_id: Option<String>,
    pub kind: String,
    pub actor_id: Option<String>,
    pub actor_email: Option<String>,
    pub data: serde_json::Value,
    pub created_at: i64,
}

/// A page of the log, oldest first; `next` continues after it.
#[derive(Debug, Clone, Serialize)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    pub next: Option<String>,
}

fn event_from_row(row: &AnyRow) -> Result<AuditEvent, StoreError> {
    let data: String = row.try_get("data")?;
    Ok(AuditEvent {
        id: row.try_get("id")?,
        run_id: row.try_get("run_id")?,
        kind: row.try_get("kind")?,
        actor_id: row.try_get("actor_id")?,
        actor_email: row.try_get("actor_email")?,
        data: serde_json::from_str(&data).map_err(StoreError::corrupt("audit event"))?,
        created_at: row.try_get("created_at")?,
    })
}

const EVENT_COLUMNS: &str = "id, run_id, kind, actor_id, actor_email, data, created_at";

/// Appends `events` (organisation, entry) in order, in one statement; returns their ids.
pub(crate) async fn insert_events(
    connection: &mut AnyConnection,
    events: &[(&str, &NewEvent)],
) -> Result<Vec<String>, StoreError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let now = now_millis();
    let ids: Vec<String> = events.iter().map(|_| new_id()).collect();
    let sql = multi_row_insert(
        "events (id, org_id, run_id, kind, actor_id, actor_email, data, created_at)",
        8,
        events.len(),
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (id, (org_id, event)) in ids.iter().zip(events) {
        query = query
            .bind(id.clone())
            .bind((*org_id).to_owned())
            .bind(event.run_id.clone())
            .bind(event.kind.as_str())
            .bind(event.actor.as_ref().map(|user| user.id.clone()))
            .bind(event.actor.as_ref().map(|user| user.email.clone()))
            .bind(event.data.to_string())
            .bind(now);
    }
    query.execute(connection).await?;
    Ok(ids)
}

impl Tx {
    /// Appends `events` in order; returns their ids.
    pub async fn append(
        &mut self,
        org_id: &str,
        events: &[NewEvent],
    ) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(&str, &NewEvent)> = events.iter().map(|event| (org_id, event)).collect();
        insert_events(&mut self.inner, &rows).await
    }
}

impl Store {
    /// Appends `events` in a transaction of their own.
    pub async fn append(
        &self,
        org_id: &str,
        events: &[NewEvent],
    ) -> Result<Vec<String>, StoreError> {
        let mut tx = self.begin().await?;
        let ids = tx.append(org_id, events).await?;
        tx.commit().await?;
        Ok(ids)
    }

    pub async fn event(&self, org_id: &str, id: &str) -> Result<Option<AuditEvent>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE org_id = $1 AND id = $2"
        ));
        let row = sqlx::query(sql)
            .bind(org_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(event_from_row).transpose()
    }

    /// Up to `limit` events after the event `after`, oldest first; only `run_id`'s if given.
    pub async fn audit(
        &self,
        org_id: &str,
        run_id: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<AuditPage, StoreError> {
        let after = after.unwrap_or("");
        let fetch = i64::from(limit) + 1;
        let rows = match run_id {
            Some(run_id) => {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {EVENT_COLUMNS} FROM events WHERE org_id = $1 AND run_id = $2 AND id > $3 ORDER BY id LIMIT $4"
                ));
                sqlx::query(sql)
                    .bind(org_id)
                    .bind(run_id)
                    .bind(after)
                    .bind(fetch)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {EVENT_COLUMNS} FROM events WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3"
                ));
                sqlx::query(sql)
                    .bind(org_id)
                    .bind(after)
                    .bind(fetch)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        let mut events = rows
            .iter()
            .map(event_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let more = events.len() > limit as usize;
        events.truncate(limit as usize);
        let next = if more {
            events.last().map(|event| event.id.clone())
        } else {
            None
        };
        Ok(AuditPage { events, next })
    }
}
