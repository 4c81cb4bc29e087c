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
use assent_strategies::Change;
use assent_types::{Step, StrategyType};
use serde_json::{Value, json};
use thiserror::Error;

use crate::context::FlowContext;
use crate::jobs::queued_jobs;
use crate::step::{Advance, StepResult};
use crate::{Runner, RuntimeError};

/// Why the work of a step failed: a plugin (a hook, a reducer, a strategy plugin), or a
/// built-in strategy's provider.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum StepFailure {
    #[error(transparent)]
    Plugin(CallError),
    #[error("the `{strategy_type}` strategy could not {}: {message}", describe(*change))]
    Strategy {
        strategy_type: StrategyType,
        change: Change,
        /// The provider's own words, or what of the configuration to fix.
        message: String,
        /// Whether trying again later may succeed (a timeout, 5xx or 429).
        transient: bool,
    },
}

impl From<CallError> for StepFailure {
    fn from(error: CallError) -> StepFailure {
        StepFailure::Plugin(error)
    }
}

fn describe(change: Change) -> &'static str {
    match change {
        Change::Grant => "grant access",
        Change::Revoke => "take access back",
    }
}

impl StepFailure {
    /// The handler the failure happened in, as the run and its notices name it.
    pub fn handler(&self) -> String {
        match self {
            StepFailure::Plugin(error) => error.handler.clone(),
            StepFailure::Strategy { change, .. } => change.as_str().to_owned(),
        }
    }

    /// Whether a later try may succeed where this one failed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StepFailure::Strategy {
                transient: true,
                ..
            }
        )
    }

    /// The audit entry's data: which step and handler, the error, and the strategy.
    fn audit(&self, step: Step) -> Value {
        let mut data =
            json!({ "step": step, "handler": self.handler(), "error": self.to_string() });
        if let StepFailure::Strategy { strategy_type, .. } = self {
            data["strategy"] = json!(strategy_type);
        }
        data
    }
}

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
        let failure = StepFailure::Plugin(error.clone());
        let schedule = self.notices(&run.id, vec![failed_notice(step, &failure)], now_millis());
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
        error: &StepFailure,
    ) -> Result<(), RuntimeError> {
        tracing::warn!(run = %run.id, %step, %error, "the step failed; it will be tried again");
        let mut data = error.audit(step);
        data["retrying"] = json!(true);
        let event = NewEvent::run(&run.id, EventKind::PluginError, None, data);
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
        error: &StepFailure,
    ) -> Result<(), RuntimeError> {
        tracing::warn!(run = %run.id, %error, "taking access away failed; it will be tried again");
        let retry = NewJob {
            run_id: run.id.clone(),
            task: Task::Step(trigger),
            due_at: now_millis() + crate::timers::RETRY_STEP_MS,
            leased_to: None,
        };
        let mut data = error.audit(Step::Deescalate);
        data["retrying"] = json!(true);
        let event = NewEvent::run(&run.id, EventKind::PluginError, None, data);
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
        error: &StepFailure,
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
        error: &StepFailure,
        job: Option<&Job>,
    ) -> Result<Advance, RuntimeError> {
        tracing::warn!(run = %run.id, flow = %context.flow.name, %step, %error, "the step failed; the run is errored");
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
            handler: error.handler(),
            message: message.clone(),
            at: now,
        });
        let notice = Notice::Failed {
            step,
            handler: error.handler(),
            error: message,
        };
        let schedule = self.notices(&run.id, vec![notice], now);
        let mut data = error.audit(step);
        data["status"] = json!("errored");
        events.insert(
            0,
            NewEvent::run(&run.id, EventKind::PluginError, None, data),
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
    ) -> (Result<(), StepFailure>, NewEvent) {
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
fn failure_message(step: Step, error: &StepFailure) -> String {
    if step == Step::Deescalate {
        format!("access may still be granted: {error}; take it away by hand")
    } else {
        error.to_string()
    }
}

fn failed_notice(step: Step, error: &StepFailure) -> Notice {
    Notice::Failed {
        step,
        handler: error.handler(),
        error: error.to_string(),
    }
}
