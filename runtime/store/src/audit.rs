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
    /// The organisation's flows filter was set or removed.
    FlowsFilterUpdated,
    UserUpdated,
    TokenCreated,
    EnvironmentUpdated,
    /// A secret was set (a new version) or deleted; the entry never holds its value.
    SecretSet,
    SecretDeleted,
    /// An integration was created, changed or deleted.
    IntegrationUpdated,
    IntegrationDeleted,
    /// A plugin's request to an integration: which, method, host, path, status, duration —
    /// never a header, a body or a query.
    IntegrationCall,
    /// A plugin read the value of an integration's secret (never recorded).
    SecretRetrieved,
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
            EventKind::FlowsFilterUpdated => "flows_filter.updated",
            EventKind::UserUpdated => "user.updated",
            EventKind::TokenCreated => "token.created",
            EventKind::EnvironmentUpdated => "environment.updated",
            EventKind::SecretSet => "secret.set",
            EventKind::SecretDeleted => "secret.deleted",
            EventKind::IntegrationUpdated => "integration.updated",
            EventKind::IntegrationDeleted => "integration.deleted",
            EventKind::IntegrationCall => "integration.call",
            EventKind::SecretRetrieved => "secret.retrieved",
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

/// Which audit entries [`Store::event_count`] counts: those of one step on runs one person
/// requested, narrowed as Sym's `User.get_event_count` narrows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventCount {
    pub requester_id: String,
    pub step: Step,
    /// Unix milliseconds, inclusive.
    pub since: Option<i64>,
    /// Unix milliseconds, exclusive.
    pub until: Option<i64>,
    pub flow_name: Option<String>,
    /// Only runs whose request names this target (by id) in a field.
    pub target_id: Option<String>,
    pub include_errored: bool,
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

    /// How many audit entries match `count`.
    pub async fn event_count(&self, org_id: &str, count: &EventCount) -> Result<u64, StoreError> {
        // Each filter adds a condition and its bind, numbered in order.
        let mut conditions = vec![
            "e.org_id = $1".to_owned(),
            "r.requester_id = $2".to_owned(),
            "e.kind = $3".to_owned(),
        ];
        let mut last_bind = 3;
        let mut bind = || {
            last_bind += 1;
            last_bind
        };
        if count.since.is_some() {
            conditions.push(format!("e.created_at >= ${}", bind()));
        }
        if count.until.is_some() {
            conditions.push(format!("e.created_at < ${}", bind()));
        }
        if count.flow_name.is_some() {
            conditions.push(format!("r.flow_name = ${}", bind()));
        }
        if !count.include_errored {
            conditions.push("r.status <> 'errored'".to_owned());
        }
        // Without a target, the database counts; with one, the runs' bodies say which
        // fields name it (a JSON query would differ between SQLite and PostgreSQL).
        let selected = if count.target_id.is_some() {
            "r.body"
        } else {
            "COUNT(*) AS n"
        };
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {selected} FROM events e JOIN runs r ON r.id = e.run_id AND r.org_id = e.org_id WHERE {}",
            conditions.join(" AND ")
        ));
        let mut query = sqlx::query(sql)
            .bind(org_id)
            .bind(&count.requester_id)
            .bind(count.step.as_str());
        if let Some(since) = count.since {
            query = query.bind(since);
        }
        if let Some(until) = count.until {
            query = query.bind(until);
        }
        if let Some(flow) = &count.flow_name {
            query = query.bind(flow);
        }
        let Some(target_id) = &count.target_id else {
            let row = query.fetch_one(&self.pool).await?;
            let n: i64 = row.try_get("n")?;
            return Ok(u64::try_from(n).unwrap_or(0));
        };
        let rows = query.fetch_all(&self.pool).await?;
        let mut matching = 0;
        for row in rows {
            let body: String = row.try_get("body")?;
            let body: crate::RunBody =
                serde_json::from_str(&body).map_err(StoreError::corrupt("run"))?;
            let names_target = body.fields.values().any(|value| {
                matches!(value, assent_types::FieldValue::Target(target) if &target.id == target_id)
            });
            if names_target {
                matching += 1;
            }
        }
        Ok(matching)
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
