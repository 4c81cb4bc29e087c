//! Durable timers and queued steps: request expiry, notification timeouts, escalation,
//! deescalation and notices are rows in `jobs`. The worker claims due rows (leased, so two
//! processes never fire the same one) and fires each through the step pipeline, whose
//! commit deletes the row; a crashed worker's lease runs out and another fires it.
//!
//! Jobs a step queues for right now (an escalation after approval, notices) are leased to
//! the process that committed the step, which runs them at once ([`Runner::run_queued`]).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use assent_engine::Trigger;
use assent_store::{Job, RunWrite, StepWrite, Task, now_millis};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use crate::context::system_user;
use crate::jobs::LEASE_MS;
use crate::step::{Advance, Attempt, MAX_RACE_RETRIES, StepResult};
use crate::{Runner, RuntimeError};

// A failing timer is retried after one second per attempt so far, at most a minute: soon
// enough for a passing fault, slow enough that a lasting one does not spin.
pub(crate) const RETRY_STEP_MS: i64 = 1_000;
const MAX_RETRY_STEPS: i64 = 60;

/// How the worker looks for due timers.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The longest the worker sleeps between looks. Timers scheduled by this process wake it
    /// at once; this bounds how late it notices timers other replicas scheduled, and timers
    /// whose lease ran out after a crash.
    pub poll: Duration,
    /// Timers fired at once. Each holds a plugin instance while it runs hooks.
    pub concurrency: usize,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            // Half a second: replicas' timers fire at most this late, at one cheap indexed
            // query per idle replica twice a second.
            poll: Duration::from_millis(500),
            // Sixteen: enough to keep both cores busy while most firings wait on plugins or
            // the database, and a sixteenth of the host's 256 instance slots at most.
            concurrency: 16,
        }
    }
}

impl Runner {
    /// Starts the worker on the current runtime; it runs until the task is aborted.
    pub fn spawn_worker(&self, config: WorkerConfig) -> JoinHandle<()> {
        let runner = self.clone();
        tokio::spawn(async move { runner.work(config).await })
    }

    async fn work(self, config: WorkerConfig) {
        let slots = Arc::new(Semaphore::new(config.concurrency.max(1)));
        loop {
            let free = u32::try_from(slots.available_permits())
                .unwrap_or(u32::MAX)
                .max(1);
            let claimed = match self.store.claim_due(&self.owner, LEASE_MS, free).await {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::warn!(%error, "could not claim due timers; retrying");
                    tokio::time::sleep(config.poll).await;
                    continue;
                }
            };
            let busy = !claimed.is_empty();
            for job in claimed {
                let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
                    return;
                };
                let runner = self.clone();
                tokio::spawn(async move {
                    if let Err(error) = runner.fire(&job).await {
                        tracing::warn!(job = %job.id, run = %job.run_id, %error, "timer failed; it will be retried");
                        let backoff = RETRY_STEP_MS * job.attempts.clamp(1, MAX_RETRY_STEPS);
                        let _ = runner
                            .store
                            .release_job(&job.id, &runner.owner, now_millis() + backoff)
                            .await;
                    }
                    drop(permit);
                });
            }
            if busy {
                continue;
            }
            let sleep = match self.store.next_job_at().await {
                Ok(Some(next)) => {
                    let wait = u64::try_from((next - now_millis()).max(0)).unwrap_or(0);
                    Duration::from_millis(wait).min(config.poll)
                }
                _ => config.poll,
            };
            tokio::select! {
                () = tokio::time::sleep(sleep) => {}
                () = self.wake.notified() => {}
            }
        }
    }

    /// Fires a job this process holds the lease of, then whatever it queued.
    pub async fn fire(&self, job: &Job) -> Result<(), RuntimeError> {
        let queued = self.fire_one(job).await?;
        self.drain(queued).await;
        Ok(())
    }

    /// Runs the jobs `result` queued (notices, an escalation after approval) now, in this
    /// request, and returns the run as they left it. Should this process die first, the
    /// worker of any replica fires them once their lease is free.
    pub(crate) async fn run_queued(
        &self,
        mut result: StepResult,
    ) -> Result<StepResult, RuntimeError> {
        if result.queued.is_empty() {
            return Ok(result);
        }
        self.drain(std::mem::take(&mut result.queued)).await;
        if let Some(run) = self.store.run(&result.run.org_id, &result.run.id).await? {
            result.run = run;
        }
        Ok(result)
    }

    /// Runs queued jobs, and the jobs they queue in turn, in order.
    async fn drain(&self, jobs: Vec<Job>) {
        let mut work: VecDeque<Job> = jobs.into();
        while let Some(job) = work.pop_front() {
            match self.fire_one(&job).await {
                Ok(queued) => work.extend(queued),
                Err(error) => {
                    tracing::warn!(job = %job.id, %error, "queued job failed; the worker retries it");
                    let _ = self
                        .store
                        .release_job(&job.id, &self.owner, now_millis())
                        .await;
                    self.wake.notify_one();
                }
            }
        }
    }

    /// Fires one job; returns the jobs it queued for this process.
    async fn fire_one(&self, job: &Job) -> Result<Vec<Job>, RuntimeError> {
        match &job.task {
            Task::Step(trigger) => self.fire_step(job, *trigger).await,
            Task::Notice(notice) => self.deliver(job, notice).await,
        }
    }

    /// Fires a step job: a timer or a queued step.
    async fn fire_step(&self, job: &Job, trigger: Trigger) -> Result<Vec<Job>, RuntimeError> {
        for _ in 0..MAX_RACE_RETRIES {
            let Some(run) = self.store.run(&job.org_id, &job.run_id).await? else {
                self.spend(job).await?;
                return Ok(Vec::new());
            };
            let context = self.context_of(&run).await?;
            // Access is granted to and taken from the requester: they are the event's user,
            // as in Sym. Forwarding and expiry happen on nobody's behalf.
            let actor = match trigger {
                Trigger::Escalate | Trigger::Deescalate { .. } => run.body.requester.clone(),
                _ => system_user(),
            };
            let attempt = Attempt {
                context: &context,
                trigger,
                actor: &actor,
                reason: None,
                job: Some(job),
            };
            match self.advance(&attempt, run, None).await {
                Ok(Advance::Done(result)) => return Ok(result.queued),
                Ok(Advance::Lost) => continue,
                // A person's trigger would be refused; a timer's is simply spent.
                Err(RuntimeError::Rejected(_)) => {
                    self.spend(job).await?;
                    return Ok(Vec::new());
                }
                Err(error) => return Err(error),
            }
        }
        Err(RuntimeError::Busy)
    }

    /// Drops a timer that has nothing left to do (its run moved on or is gone).
    pub(crate) async fn spend(&self, job: &Job) -> Result<(), RuntimeError> {
        let write = StepWrite::new(job.org_id.clone(), RunWrite::Unchanged)
            .completing(self.lease_of(Some(job)));
        self.store.commit_step(write).await?;
        Ok(())
    }
}
