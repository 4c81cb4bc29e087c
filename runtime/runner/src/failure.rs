//! When a plugin fails. During a step (its own error, a trap, the deadline, the memory
//! limit) the run moves to `errored` with the error recorded; after a step (`after_<step>`)
//! the step stands and the error is only recorded. Either way the environment's error
//! logger hears of it, and nothing else about the tenant or the server changes.

use assent_engine::{Notice, RunStatus, StrategyCall, Trigger};
use assent_plugin_host::CallError;
use assent_store::{
    EventKind, Job, NewEvent, NewJob, RunError, RunRecord, RunWrite, StepCommit, StepWrite, Task,
    now_millis,
};
use assent_types::Step;
use serde_json::json;

use crate::context::FlowContext;
use crate::jobs::queued_jobs;
use crate::step::{Advance, StepResult};
use crate::{Runner, RuntimeError};

impl Runner {
    /// Records an `after_*` hook's failure (the step stands) and queues the notice for the
    /// error logger.
    pub(crate) async fn record_plugin_error(
        &self,
        run: &RunRecord,
        step: Step,
        error: &CallError,
    ) -> Result<Vec<Job>, RuntimeError> {
        tracing::warn!(run = %run.id, %step, %error, "plugin failed after a step");
        let schedule = self.notices(&run.id, vec![failed_notice(step, error)], now_millis());
        let event = NewEvent::run(
            &run.id,
            EventKind::PluginError,
            None,
            json!({ "step": step, "handler": error.handler, "error": error.to_string() }),
        );
        let write = StepWrite::new(run.org_id.clone(), RunWrite::Unchanged)
            .scheduling(schedule.clone())
            .recording(vec![event]);
        Ok(match self.store.commit_step(write).await? {
            StepCommit::Committed { job_ids } => queued_jobs(&run.org_id, &schedule, job_ids),
            StepCommit::Conflict | StepCommit::LeaseLost => Vec::new(),
        })
    }

    /// Records a failed attempt at `step` that will be tried again (the run is unchanged).
    pub(crate) async fn record_retry(
        &self,
        run: &RunRecord,
        step: Step,
        error: &CallError,
    ) -> Result<(), RuntimeError> {
        tracing::warn!(run = %run.id, %step, %error, "plugin failed; the step will be tried again");
        let event = NewEvent::run(
            &run.id,
            EventKind::PluginError,
            None,
            json!({ "step": step, "handler": error.handler, "error": error.to_string(), "retrying": true }),
        );
        self.store.append(&run.org_id, &[event]).await?;
        Ok(())
    }

    /// A deescalation asked for now (a revoke) whose strategy failed: access must still go, so
    /// the step becomes a timer, due after the first backoff, that the worker fires and
    /// retries like any failed deescalation until it succeeds or the run says access may
    /// still be granted. The run is unchanged meanwhile.
    pub(crate) async fn retry_deescalation(
        &self,
        run: &RunRecord,
        trigger: Trigger,
        error: &CallError,
    ) -> Result<(), RuntimeError> {
        tracing::warn!(run = %run.id, %error, "taking access away failed; it will be tried again");
        let retry = NewJob {
            run_id: run.id.clone(),
            task: Task::Step(trigger),
            due_at: now_millis() + crate::timers::RETRY_STEP_MS,
            leased_to: None,
        };
        let event = NewEvent::run(
            &run.id,
            EventKind::PluginError,
            None,
            json!({ "step": Step::Deescalate, "handler": error.handler, "error": error.to_string(), "retrying": true }),
        );
        let write = StepWrite::new(run.org_id.clone(), RunWrite::Unchanged)
            .scheduling(vec![retry])
            .recording(vec![event]);
        self.store.commit_step(write).await?;
        Ok(())
    }

    /// A new request whose plugin failed before its first step: stored, errored.
    pub(crate) async fn fail_new(
        &self,
        context: &FlowContext,
        run: RunRecord,
        step: Step,
        error: &CallError,
    ) -> Result<StepResult, RuntimeError> {
        match self.fail(context, run, step, error, None).await? {
            Advance::Done(result) => self.run_queued(*result).await,
            Advance::Lost => Err(RuntimeError::Busy),
        }
    }

    /// Moves the run to `errored` with the plugin's error, dropping its timers.
    pub(crate) async fn fail(
        &self,
        context: &FlowContext,
        mut run: RunRecord,
        step: Step,
        error: &CallError,
        job: Option<&Job>,
    ) -> Result<Advance, RuntimeError> {
        tracing::warn!(run = %run.id, flow = %context.flow.name, %step, %error, "plugin failed; the run is errored");
        let mut events = Vec::with_capacity(2);
        let mut message = failure_message(step, error);
        if step == Step::Escalate && context.strategy.is_some() {
            let (rolled_back, event) = self.roll_back(context, &run).await;
            events.push(event);
            message = match rolled_back {
                Ok(()) => format!("{message}; whatever it granted was taken back"),
                Err(again) => format!(
                    "access may still be granted: {message}; taking it back failed too ({again}); take it away by hand"
                ),
            };
        }
        let is_new = run.version == 0;
        let now = now_millis();
        run.status = RunStatus::Errored;
        run.version += 1;
        run.updated_at = now;
        run.body.error = Some(RunError {
            step,
            handler: error.handler.clone(),
            message: message.clone(),
            at: now,
        });
        let notice = Notice::Failed {
            step,
            handler: error.handler.clone(),
            error: message,
        };
        let schedule = self.notices(&run.id, vec![notice], now);
        events.insert(
            0,
            NewEvent::run(
                &run.id,
                EventKind::PluginError,
                None,
                json!({ "step": step, "handler": error.handler, "error": error.to_string(), "status": "errored" }),
            ),
        );
        let write = StepWrite::new(
            run.org_id.clone(),
            if is_new {
                RunWrite::Insert(run.clone())
            } else {
                RunWrite::Update(run.clone())
            },
        )
        .completing(self.lease_of(job))
        .cancelling_timers(true)
        .scheduling(schedule.clone())
        .recording(events);
        let queued = match self.store.commit_step(write).await? {
            StepCommit::Conflict => return Ok(Advance::Lost),
            StepCommit::Committed { job_ids } => queued_jobs(&run.org_id, &schedule, job_ids),
            StepCommit::LeaseLost => Vec::new(),
        };
        Ok(Advance::Done(Box::new(StepResult {
            queued,
            ..StepResult::unchanged(run)
        })))
    }
}

impl Runner {
    /// An escalation failed part-way: the strategy may have granted some of the access.
    /// Its `deescalate` takes back whatever it did (strategies are idempotent, so taking back
    /// what was never granted is harmless); the audit entry says how that went.
    async fn roll_back(
        &self,
        context: &FlowContext,
        run: &RunRecord,
    ) -> (Result<(), CallError>, NewEvent) {
        let requester = run.body.requester.clone();
        let outcome = self
            .call_strategy(
                context,
                StrategyCall::Deescalate,
                &requester,
                Step::Deescalate,
                run,
            )
            .await;
        let data = match &outcome {
            Ok(output) => json!({ "handler": "deescalate", "output": output }),
            Err(error) => json!({ "handler": "deescalate", "error": error.to_string() }),
        };
        let event = NewEvent::run(&run.id, EventKind::RolledBack, None, data);
        (outcome.map(|_| ()), event)
    }
}

/// What the run says of a failure: a failed deescalation leaves access in place, and the
/// people reading it must know to take it away by hand.
fn failure_message(step: Step, error: &CallError) -> String {
    if step == Step::Deescalate {
        format!("access may still be granted: {error}; take it away by hand")
    } else {
        error.to_string()
    }
}

fn failed_notice(step: Step, error: &CallError) -> Notice {
    Notice::Failed {
        step,
        handler: error.handler.clone(),
        error: error.to_string(),
    }
}
