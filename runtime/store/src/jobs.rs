//! Durable timers: request expiry, notification timeouts, queued escalation, deescalation.
//!
//! A worker *leases* due jobs (sets `lease_until` in the future and its own name as owner);
//! while the lease lasts no other worker takes them — on PostgreSQL the claiming query skips
//! rows another replica has locked, on SQLite the single writer serialises claims. The job
//! row is deleted by [`Tx::complete_job`] in the transaction of the step it fired, and only
//! if the lease is still the worker's: if a worker dies, its lease runs out and another
//! worker fires the job; if it was merely slow and lost the lease, its step does not commit.

use assent_engine::{Notice, Trigger};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use sqlx::AnyConnection;

use crate::db::multi_row_insert;
use crate::{Backend, Store, StoreError, Tx, new_id, now_millis};

/// What a job does when it fires.
///
/// Stored as JSON in `jobs.trigger`: a trigger is tagged `"trigger"`, a notice `"notice"`,
/// so rows written before notices existed still read as steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Task {
    /// Move the run on (a timer, a queued escalation, a failed delivery).
    Step(Trigger),
    /// Tell people about a step that committed.
    Notice(Notice),
}

impl Task {
    /// `jobs.kind`: cancelling a run's timers removes steps only.
    fn kind(&self) -> &'static str {
        match self {
            Task::Step(_) => "step",
            Task::Notice(_) => "notice",
        }
    }
}

impl From<Trigger> for Task {
    fn from(trigger: Trigger) -> Task {
        Task::Step(trigger)
    }
}

impl From<Notice> for Task {
    fn from(notice: Notice) -> Task {
        Task::Notice(notice)
    }
}

/// A job to store.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub run_id: String,
    pub task: Task,
    /// When it fires, Unix milliseconds.
    pub due_at: i64,
    /// Taken by this worker from the start (until the lease's end), for a step the
    /// scheduling process runs itself straight away; `None` for the worker to claim.
    pub leased_to: Option<(String, i64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Job {
    pub id: String,
    pub org_id: String,
    pub run_id: String,
    pub task: Task,
    pub due_at: i64,
    /// How many times a worker has taken it, this time included.
    pub attempts: i64,
}

fn job_from_row(row: &AnyRow) -> Result<Job, StoreError> {
    let trigger: String = row.try_get("trigger")?;
    Ok(Job {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        run_id: row.try_get("run_id")?,
        task: serde_json::from_str(&trigger).map_err(StoreError::corrupt("job trigger"))?,
        due_at: row.try_get("due_at")?,
        attempts: row.try_get("attempts")?,
    })
}

const CLAIM_POSTGRES: &str =
    "UPDATE jobs SET lease_until = $1, lease_owner = $2, attempts = attempts + 1
    WHERE id IN (SELECT id FROM jobs WHERE due_at <= $3 AND lease_until <= $3
                 ORDER BY due_at LIMIT $4 FOR UPDATE SKIP LOCKED)
    RETURNING id, org_id, run_id, trigger, due_at, attempts";

const CLAIM_SQLITE: &str =
    "UPDATE jobs SET lease_until = $1, lease_owner = $2, attempts = attempts + 1
    WHERE id IN (SELECT id FROM jobs WHERE due_at <= $3 AND lease_until <= $3
                 ORDER BY due_at LIMIT $4)
    RETURNING id, org_id, run_id, trigger, due_at, attempts";

/// Inserts `jobs` (organisation, new id, job) in one statement.
pub(crate) async fn insert_jobs(
    connection: &mut AnyConnection,
    jobs: &[(&str, &str, &NewJob)],
) -> Result<(), StoreError> {
    if jobs.is_empty() {
        return Ok(());
    }
    let now = now_millis();
    let sql = multi_row_insert(
        "jobs (id, org_id, run_id, trigger, due_at, lease_until, lease_owner, attempts, created_at, kind)",
        10,
        jobs.len(),
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (org_id, id, job) in jobs {
        query = query
            .bind((*id).to_owned())
            .bind((*org_id).to_owned())
            .bind(job.run_id.clone())
            .bind(serde_json::to_string(&job.task).map_err(StoreError::corrupt("job trigger"))?)
            .bind(job.due_at)
            .bind(job.leased_to.as_ref().map_or(0, |(_, until)| *until))
            .bind(job.leased_to.as_ref().map(|(owner, _)| owner.clone()))
            .bind(i64::from(job.leased_to.is_some()))
            .bind(now)
            .bind(job.task.kind());
    }
    query.execute(connection).await?;
    Ok(())
}

/// Drops every pending timer of the run (its notices still go out).
pub(crate) async fn cancel_jobs(
    connection: &mut AnyConnection,
    org_id: &str,
    run_id: &str,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM jobs WHERE org_id = $1 AND run_id = $2 AND kind = 'step'")
        .bind(org_id)
        .bind(run_id)
        .execute(connection)
        .await?;
    Ok(())
}

/// Deletes a fired job if `owner` still holds its lease.
pub(crate) async fn complete_job(
    connection: &mut AnyConnection,
    job_id: &str,
    owner: &str,
) -> Result<bool, StoreError> {
    let deleted = sqlx::query("DELETE FROM jobs WHERE id = $1 AND lease_owner = $2")
        .bind(job_id)
        .bind(owner)
        .execute(connection)
        .await?;
    Ok(deleted.rows_affected() == 1)
}

impl Tx {
    /// Stores `jobs`; returns their ids.
    pub async fn schedule(
        &mut self,
        org_id: &str,
        jobs: &[NewJob],
    ) -> Result<Vec<String>, StoreError> {
        let ids: Vec<String> = jobs.iter().map(|_| new_id()).collect();
        let rows: Vec<(&str, &str, &NewJob)> = ids
            .iter()
            .zip(jobs)
            .map(|(id, job)| (org_id, id.as_str(), job))
            .collect();
        insert_jobs(&mut self.inner, &rows).await?;
        Ok(ids)
    }

    /// Drops the run's pending timers.
    pub async fn cancel_jobs(&mut self, org_id: &str, run_id: &str) -> Result<(), StoreError> {
        cancel_jobs(&mut self.inner, org_id, run_id).await
    }

    /// Deletes a fired job if `owner` still holds its lease. `false`: the lease was lost
    /// and the caller must roll back, because another worker owns the job now.
    pub async fn complete_job(&mut self, job_id: &str, owner: &str) -> Result<bool, StoreError> {
        complete_job(&mut self.inner, job_id, owner).await
    }
}

impl Store {
    /// Leases up to `limit` due jobs to `owner` for `lease_ms`.
    pub async fn claim_due(
        &self,
        owner: &str,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError> {
        let now = now_millis();
        let sql = match self.backend() {
            Backend::Postgres => CLAIM_POSTGRES,
            Backend::Sqlite => CLAIM_SQLITE,
        };
        let rows = sqlx::query(sql)
            .bind(now + lease_ms)
            .bind(owner)
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&self.writes)
            .await?;
        rows.iter().map(job_from_row).collect()
    }

    /// Leases one job now, due or not — used to run a queued escalation straight away.
    /// `None` if it is gone or someone else holds it.
    pub async fn claim_job(
        &self,
        job_id: &str,
        owner: &str,
        lease_ms: i64,
    ) -> Result<Option<Job>, StoreError> {
        let now = now_millis();
        let row = sqlx::query(
            "UPDATE jobs SET lease_until = $1, lease_owner = $2, attempts = attempts + 1
             WHERE id = $3 AND lease_until <= $4
             RETURNING id, org_id, run_id, trigger, due_at, attempts",
        )
        .bind(now + lease_ms)
        .bind(owner)
        .bind(job_id)
        .bind(now)
        .fetch_optional(&self.writes)
        .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// Gives a job back to be tried again at `retry_at` (after a failure that was not the
    /// run's fault, such as the database going away mid-step).
    pub async fn release_job(
        &self,
        job_id: &str,
        owner: &str,
        retry_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE jobs SET lease_until = $1, lease_owner = NULL WHERE id = $2 AND lease_owner = $3")
            .bind(retry_at)
            .bind(job_id)
            .bind(owner)
            .execute(&self.writes)
            .await?;
        Ok(())
    }

    /// When the next job becomes claimable, if any is waiting.
    pub async fn next_job_at(&self) -> Result<Option<i64>, StoreError> {
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(CASE WHEN lease_until > due_at THEN lease_until ELSE due_at END) FROM jobs",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(next)
    }

    /// The run's pending jobs, soonest first.
    pub async fn jobs_for_run(&self, org_id: &str, run_id: &str) -> Result<Vec<Job>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, org_id, run_id, trigger, due_at, attempts FROM jobs WHERE org_id = $1 AND run_id = $2 ORDER BY due_at, id",
        )
        .bind(org_id)
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(job_from_row).collect()
    }
}
