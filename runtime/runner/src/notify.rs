//! Telling people about steps. The runner schedules each notice as a job in the step's own
//! transaction and delivers it straight after the commit; a process that dies first leaves
//! the job for any replica's worker. Delivery is at least once: a notifier must make a
//! repeated notice harmless (the Slack notifier remembers what it posted).

use std::fmt::Debug;

use assent_engine::{Notice, Trigger};
use assent_store::{
    EventKind, FlowRecord, Job, NewEvent, NewJob, RunRecord, RunWrite, StepCommit, StepWrite, Task,
    now_millis,
};
use futures::future::BoxFuture;
use serde_json::json;

use crate::jobs::{LEASE_MS, notice_jobs, queued_jobs};
use crate::{Runner, RuntimeError};

/// How a notice went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Delivered, or nothing to deliver (the organisation has no Slack, say).
    Done,
    /// A request could reach none of its destinations: the run moves on as on a timeout.
    Undeliverable,
}

/// Delivers notices somewhere people see them.
pub trait Notifier: Send + Sync + Debug + 'static {
    /// Delivers `notice` about `run` (as it is now, which may be later than the step that
    /// sent the notice). `attempts` counts deliveries of this notice, this one included.
    fn deliver<'a>(
        &'a self,
        flow: &'a FlowRecord,
        run: &'a RunRecord,
        notice: &'a Notice,
        attempts: i64,
    ) -> BoxFuture<'a, Result<Delivery, RuntimeError>>;
}

impl Runner {
    /// Jobs delivering `notices`, for this process; none when nobody is told of steps.
    pub(crate) fn notices(&self, run_id: &str, notices: Vec<Notice>, now: i64) -> Vec<NewJob> {
        if self.notifier.is_none() {
            return Vec::new();
        }
        notice_jobs(run_id, notices, now, &self.owner)
    }

    /// Delivers a notice; a request that reached nobody moves the run on.
    pub(crate) async fn deliver(
        &self,
        job: &Job,
        notice: &Notice,
    ) -> Result<Vec<Job>, RuntimeError> {
        let delivery = match (
            &self.notifier,
            self.store.run(&job.org_id, &job.run_id).await?,
        ) {
            (Some(notifier), Some(run)) => {
                let flow = self
                    .store
                    .flow_version(&run.org_id, &run.flow_id)
                    .await?
                    .ok_or_else(|| RuntimeError::NotFound(format!("flow of run `{}`", run.id)))?;
                notifier.deliver(&flow, &run, notice, job.attempts).await?
            }
            // Nobody to tell (the run is gone, or the process has no notifier): spend it.
            _ => Delivery::Done,
        };
        let now = now_millis();
        let mut write = StepWrite::new(job.org_id.clone(), RunWrite::Unchanged)
            .completing(self.lease_of(Some(job)));
        if let (Delivery::Undeliverable, Notice::Request { notification }) = (delivery, notice) {
            write = write
                .scheduling(vec![NewJob {
                    run_id: job.run_id.clone(),
                    task: Task::Step(Trigger::DeliveryFailed {
                        notification: *notification,
                    }),
                    due_at: now,
                    leased_to: Some((self.owner.to_string(), now + LEASE_MS)),
                }])
                .recording(vec![NewEvent::run(
                    &job.run_id,
                    EventKind::DeliveryFailed,
                    None,
                    json!({ "notification": notification }),
                )]);
        }
        let schedule = write.schedule.clone();
        Ok(match self.store.commit_step(write).await? {
            StepCommit::Committed { job_ids } => queued_jobs(&job.org_id, &schedule, job_ids),
            StepCommit::Conflict | StepCommit::LeaseLost => Vec::new(),
        })
    }
}
