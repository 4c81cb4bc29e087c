//! Group commit: the writes of many steps in one transaction.
//!
//! A step's writes are a [`StepWrite`]. [`Store::commit_step`] hands it to one writer task per
//! store, which takes every step waiting at that moment (up to [`MAX_BATCH`]) and commits
//! them together:
//!
//! 1. for each step that has conditions (a run update at the version it read, a timer it
//!    must still hold the lease of, timers to drop), inside a savepoint: apply them, or roll
//!    the savepoint back and answer [`StepCommit::Conflict`] / [`StepCommit::LeaseLost`];
//! 2. the new runs, new timers and audit entries of every accepted step, one multi-row
//!    `INSERT` per table;
//! 3. one `COMMIT`.
//!
//! A new request — the hot path — has no conditions, so a batch of them costs five statements
//! in all however many there are, where one transaction each would cost five apiece. Should
//! a batch fail as a whole (say one step breaks a constraint), each of its steps is committed
//! again on its own, so one bad step fails only itself.

use sqlx::AnyConnection;
use tokio::sync::{mpsc, oneshot};

use crate::audit::insert_events;
use crate::jobs::{cancel_jobs, complete_job, insert_jobs};
use crate::runs::{insert_runs, update_run};
use crate::{Backend, NewEvent, NewJob, RunRecord, StoreError, new_id};

// Steps committed together at most. Large enough to amortise a commit over a burst; small
// enough that the statements stay well inside both databases' bind-parameter limits
// (a step adds at most a run, a few timers and a handful of audit entries).
pub(crate) const MAX_BATCH: usize = 64;
// Steps waiting for the writer before `commit_step` callers wait for room.
const QUEUE: usize = 1024;

/// What happens to the run row.
#[derive(Debug, Clone)]
pub enum RunWrite {
    /// Nothing (a stale timer is only spent).
    Unchanged,
    /// A new run.
    Insert(RunRecord),
    /// The run, its version already bumped: stored only if the row is still one version older.
    Update(RunRecord),
}

/// Everything one step writes.
#[derive(Debug, Clone)]
pub struct StepWrite {
    pub org_id: String,
    pub run: RunWrite,
    /// The timer that fired this step, and the lease holder that must still hold it.
    pub complete_job: Option<(String, String)>,
    /// Drop the run's other pending timers.
    pub cancel_jobs: bool,
    pub schedule: Vec<NewJob>,
    pub events: Vec<NewEvent>,
}

impl StepWrite {
    /// A step of `org_id` that writes `run` and nothing else yet; the builder methods below
    /// add the rest.
    pub fn new(org_id: impl Into<String>, run: RunWrite) -> StepWrite {
        StepWrite {
            org_id: org_id.into(),
            run,
            complete_job: None,
            cancel_jobs: false,
            schedule: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Deletes timer `job_id`, which must still be leased to `owner` (else nothing commits).
    pub fn completing(mut self, job: Option<(String, String)>) -> StepWrite {
        self.complete_job = job;
        self
    }

    /// Drops the run's other pending timers when `cancel` is set.
    pub fn cancelling_timers(mut self, cancel: bool) -> StepWrite {
        self.cancel_jobs = cancel;
        self
    }

    pub fn scheduling(mut self, jobs: Vec<NewJob>) -> StepWrite {
        self.schedule = jobs;
        self
    }

    pub fn recording(mut self, events: Vec<NewEvent>) -> StepWrite {
        self.events = events;
        self
    }
}

/// How a step's writes ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepCommit {
    /// Stored; the ids of the timers it scheduled, in order.
    Committed { job_ids: Vec<String> },
    /// The run moved on since it was read; nothing was stored.
    Conflict,
    /// Another worker holds the timer's lease now; nothing was stored.
    LeaseLost,
}

pub(crate) type Request = (StepWrite, oneshot::Sender<Result<StepCommit, StoreError>>);

pub(crate) fn spawn_writer(pool: sqlx::AnyPool, backend: Backend) -> mpsc::Sender<Request> {
    let (sender, mut receiver) = mpsc::channel::<Request>(QUEUE);
    tokio::spawn(async move {
        while let Some(first) = receiver.recv().await {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match receiver.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            let writes: Vec<&StepWrite> = batch.iter().map(|(write, _)| write).collect();
            match commit_batch(&pool, backend, &writes).await {
                Ok(outcomes) => {
                    for ((_, reply), outcome) in batch.into_iter().zip(outcomes) {
                        let _ = reply.send(Ok(outcome));
                    }
                }
                Err(error) if batch.len() == 1 => {
                    if let Some((_, reply)) = batch.into_iter().next() {
                        let _ = reply.send(Err(error));
                    }
                }
                Err(_) => {
                    for (write, reply) in batch {
                        let result = commit_batch(&pool, backend, &[&write])
                            .await
                            .map(|mut outcomes| outcomes.pop().unwrap_or(StepCommit::Conflict));
                        let _ = reply.send(result);
                    }
                }
            }
        }
    });
    sender
}

async fn commit_batch(
    pool: &sqlx::AnyPool,
    backend: Backend,
    writes: &[&StepWrite],
) -> Result<Vec<StepCommit>, StoreError> {
    let mut tx = match backend {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => pool.begin().await?,
    };
    let connection: &mut AnyConnection = &mut tx;
    let mut outcomes: Vec<Option<StepCommit>> = Vec::with_capacity(writes.len());
    for write in writes {
        outcomes.push(check_conditions(connection, write).await?);
    }

    let accepted: Vec<&StepWrite> = writes
        .iter()
        .zip(&outcomes)
        .filter(|(_, outcome)| outcome.is_none())
        .map(|(write, _)| *write)
        .collect();
    let new_runs: Vec<&RunRecord> = accepted
        .iter()
        .filter_map(|write| match &write.run {
            RunWrite::Insert(run) => Some(run),
            _ => None,
        })
        .collect();
    insert_runs(connection, &new_runs).await?;
    let mut job_ids: Vec<Vec<String>> = Vec::with_capacity(accepted.len());
    let mut jobs: Vec<(&str, &str, &NewJob)> = Vec::new();
    for write in &accepted {
        let ids: Vec<String> = write.schedule.iter().map(|_| new_id()).collect();
        job_ids.push(ids);
    }
    for (write, ids) in accepted.iter().zip(&job_ids) {
        for (job, id) in write.schedule.iter().zip(ids) {
            jobs.push((write.org_id.as_str(), id.as_str(), job));
        }
    }
    insert_jobs(connection, &jobs).await?;
    let events: Vec<(&str, &NewEvent)> = accepted
        .iter()
        .flat_map(|write| {
            write
                .events
                .iter()
                .map(|event| (write.org_id.as_str(), event))
        })
        .collect();
    insert_events(connection, &events).await?;
    tx.commit().await?;

    let mut job_ids = job_ids.into_iter();
    Ok(outcomes
        .into_iter()
        .map(|outcome| match outcome {
            Some(refused) => refused,
            None => StepCommit::Committed {
                job_ids: job_ids.next().unwrap_or_default(),
            },
        })
        .collect())
}

/// Applies one step's conditions inside a savepoint, rolled back if they fail; `Some` if the
/// step must not commit. A step without conditions (a new request) costs nothing here.
async fn check_conditions(
    connection: &mut AnyConnection,
    write: &StepWrite,
) -> Result<Option<StepCommit>, StoreError> {
    let conditional = matches!(write.run, RunWrite::Update(_))
        || write.complete_job.is_some()
        || write.cancel_jobs;
    if !conditional {
        return Ok(None);
    }
    sqlx::query("SAVEPOINT step")
        .execute(&mut *connection)
        .await?;
    let refused = apply_conditions(connection, write).await?;
    if refused.is_some() {
        sqlx::query("ROLLBACK TO SAVEPOINT step")
            .execute(&mut *connection)
            .await?;
    }
    sqlx::query("RELEASE SAVEPOINT step")
        .execute(&mut *connection)
        .await?;
    Ok(refused)
}

/// The checks and conditional writes of one step; `Some` if it must not commit.
async fn apply_conditions(
    connection: &mut AnyConnection,
    write: &StepWrite,
) -> Result<Option<StepCommit>, StoreError> {
    if let RunWrite::Update(run) = &write.run
        && !update_run(connection, run).await?
    {
        return Ok(Some(StepCommit::Conflict));
    }
    if let Some((job_id, owner)) = &write.complete_job
        && !complete_job(connection, job_id, owner).await?
    {
        return Ok(Some(StepCommit::LeaseLost));
    }
    if write.cancel_jobs {
        let run_id = match &write.run {
            RunWrite::Insert(run) | RunWrite::Update(run) => Some(run.id.as_str()),
            RunWrite::Unchanged => None,
        };
        if let Some(run_id) = run_id {
            cancel_jobs(connection, &write.org_id, run_id).await?;
        }
    }
    Ok(None)
}
