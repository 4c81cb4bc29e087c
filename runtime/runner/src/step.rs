//! One step of a run, as a pipeline of phases. People, timers and queued steps all go
//! through [`Runner::advance`]:
//!
//! 1. **choose** — `engine::attempt` picks the step the trigger attempts from the run's
//!    position, refuses it ("the request is denied…"), or finds a stale timer to spend;
//! 2. **authorize** — for a person's approve, deny or revoke, `get_permissions` and
//!    `engine::permissions`; a refusal is audited and returned;
//! 3. **hooks** — the `on_<step>` hooks through an `engine::Resolver`: proceed, redirect
//!    (only forward) or ignore;
//! 4. **apply** — `engine::transition` says what the step changes and schedules, the
//!    strategy's `escalate`/`deescalate` runs, and [`crate::apply`] works out the run and
//!    everything the step writes (pure);
//! 5. **commit** — one transaction that stores the run only if it is still at the version
//!    read in 1; if another step won the race, the caller starts again from 1 with the fresh
//!    state (where the loser is usually refused). Then `after_<step>`, and a queued
//!    escalation runs straight away.
//!
//! A plugin that fails in any phase moves the run to `errored` ([`crate::failure`]).

use assent_engine::{
    DeescalateCause, Origin, Position, Rejection, Resolution, Resolver, Transition, Trigger,
    permissions, transition,
};
use assent_plugin_host::{CallError, CallFailure};
use assent_store::{
    EventKind, Job, NewEvent, RunRecord, RunWrite, StepCommit, StepWrite, now_millis,
};
use assent_types::{
    Handler, HookOutcome, Permission, PermissionLevel, RequestPermission, Step, User,
};
use serde_json::{Value, json};

use crate::apply::{StepFacts, apply};
use crate::context::{FlowContext, event_for};
use crate::failure::StepFailure;
use crate::jobs::queued_jobs;
use crate::plugins::TenantSession;
use crate::reach::Reach;
use crate::{Runner, RuntimeError};

// How often one trigger is re-evaluated after losing a race to another step on the same run
// before giving up. Each retry sees the winner's state, so more than two is already rare.
pub(crate) const MAX_RACE_RETRIES: usize = 8;

// A timed deescalation whose strategy plugin fails is fired this many times in all (the
// worker backs off one second more each time) before the run is errored and people are told
// that access may still be granted: a few seconds ride out a passing fault; a plugin that
// keeps failing needs a person.
const DEESCALATE_ATTEMPTS: i64 = 4;

// A built-in strategy whose provider is down (timeouts, 5xx, 429) is tried this many times in
// all, escalating or deescalating, before the run is errored: at the worker's backoff (one
// second more per attempt, at most a minute) that is about an hour, which outlasts most
// provider incidents; access is neither granted twice nor left behind meanwhile.
const OUTAGE_ATTEMPTS: i64 = 90;

/// What a person asks the runner to do to a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Approve,
    Deny,
    /// End granted access early (Revoke button, `POST /runs/{id}/revoke`).
    Revoke,
    /// `POST /events/deescalate`, by an admin.
    Deescalate,
}

impl Action {
    fn trigger(self) -> Trigger {
        match self {
            Action::Approve => Trigger::Approve,
            Action::Deny => Trigger::Deny,
            Action::Revoke => Trigger::Deescalate {
                cause: DeescalateCause::Revoke,
            },
            Action::Deescalate => Trigger::Deescalate {
                cause: DeescalateCause::Api,
            },
        }
    }
}

/// The outcome of a trigger.
#[derive(Debug, Clone)]
pub struct StepResult {
    pub run: RunRecord,
    /// The step taken, if one was.
    pub taken: Option<Step>,
    /// Set when a hook ignored the event: the step and the hook's message for the actor.
    pub ignored: Option<(Step, Option<String>)>,
    /// Jobs to run at once (an escalation after approval, notices), leased to this process.
    pub(crate) queued: Vec<Job>,
}

impl StepResult {
    pub(crate) fn unchanged(run: RunRecord) -> StepResult {
        StepResult {
            run,
            taken: None,
            ignored: None,
            queued: Vec::new(),
        }
    }
}

pub(crate) enum Advance {
    Done(Box<StepResult>),
    /// Another step committed first; read the run again and retry.
    Lost,
}

impl Advance {
    pub(crate) fn unchanged(run: RunRecord) -> Advance {
        Advance::Done(Box::new(StepResult::unchanged(run)))
    }
}

/// One attempt at moving a run on: the flow, what happened, on whose behalf.
pub(crate) struct Attempt<'a> {
    pub context: &'a FlowContext,
    pub trigger: Trigger,
    pub actor: &'a User,
    pub reason: Option<String>,
    /// The timer (or queued step) being fired, whose lease the commit must still hold.
    pub job: Option<&'a Job>,
}

impl Attempt<'_> {
    /// What the person wrote with their approval or denial (Sym's decision message), for
    /// the events of that step: `event.payload.message`.
    fn decision_message(&self, step: Step) -> Option<String> {
        let decided = matches!(
            (&self.trigger, step),
            (Trigger::Approve, Step::Approve) | (Trigger::Deny, Step::Deny)
        );
        if decided { self.reason.clone() } else { None }
    }
}

/// Why a phase stopped the step.
enum Stop {
    /// A plugin or a built-in strategy failed during this step: the run is errored, or the
    /// step is tried again.
    Failed(Step, StepFailure),
    Error(RuntimeError),
}

impl From<RuntimeError> for Stop {
    fn from(error: RuntimeError) -> Stop {
        Stop::Error(error)
    }
}

/// What a step does: the state machine's transition and the strategy's output.
struct Effect {
    change: Transition,
    output: Option<Value>,
}

/// A step the hooks let through, with what it needs to be applied and committed.
struct Taken {
    effect: Effect,
    /// The hook's reason, if it gave one.
    reason: Option<String>,
    /// The hooks' audit entries.
    events: Vec<NewEvent>,
    /// The session `after_<step>` runs in.
    session: TenantSession,
}

/// What the hooks decided, with the session the step goes on with.
enum Decision {
    Take {
        step: Step,
        reason: Option<String>,
        events: Vec<NewEvent>,
        // Boxed: a session is a few hundred bytes, and `Ignore` carries none.
        session: Box<TenantSession>,
    },
    Ignore {
        step: Step,
        message: Option<String>,
        events: Vec<NewEvent>,
    },
}

impl Runner {
    /// A person acts on a run.
    pub async fn act(
        &self,
        org_id: &str,
        run_id: &str,
        actor: &User,
        action: Action,
        reason: Option<String>,
    ) -> Result<StepResult, RuntimeError> {
        for _ in 0..MAX_RACE_RETRIES {
            let run = self
                .store
                .run(org_id, run_id)
                .await?
                .ok_or_else(|| RuntimeError::NotFound(format!("run `{run_id}`")))?;
            let context = self.context_of(&run).await?;
            if action == Action::Revoke && !context.flow.params.allow_revoke {
                return Err(RuntimeError::RevokeNotAllowed(context.flow.name.clone()));
            }
            let attempt = Attempt {
                context: &context,
                trigger: action.trigger(),
                actor,
                reason: reason.clone(),
                job: None,
            };
            match self.advance(&attempt, run, None).await? {
                Advance::Done(result) => return self.run_queued(*result).await,
                Advance::Lost => continue,
            }
        }
        Err(RuntimeError::Busy)
    }

    /// One attempt at moving `run` on; `session` is the plugin session a new request already
    /// opened. See the module docs for the phases.
    pub(crate) async fn advance(
        &self,
        attempt: &Attempt<'_>,
        run: RunRecord,
        session: Option<TenantSession>,
    ) -> Result<Advance, RuntimeError> {
        let Some(step) = self.choose(attempt, &run).await? else {
            return Ok(Advance::unchanged(run));
        };
        let stop = match self.decide(attempt, &run, step, session).await {
            Ok(Decision::Ignore {
                step,
                message,
                events,
            }) => {
                return self
                    .commit_ignored(attempt, run, step, message, events)
                    .await;
            }
            Ok(Decision::Take {
                step,
                reason,
                events,
                session,
            }) => match self.effect(attempt, &run, step).await {
                Ok(effect) => {
                    let taken = Taken {
                        effect,
                        reason,
                        events,
                        session: *session,
                    };
                    return self.take(attempt, run, taken).await;
                }
                Err(stop) => stop,
            },
            Err(stop) => stop,
        };
        match stop {
            Stop::Failed(step @ (Step::Escalate | Step::Deescalate), error)
                if attempt
                    .job
                    .is_some_and(|job| job.attempts < attempts_allowed(step, &error)) =>
            {
                // Access must not stay granted because a strategy failed once, nor be
                // refused because its provider is down for a while: the job stays, and the
                // worker fires it again after its backoff.
                self.record_retry(&run, step, &error).await?;
                Err(RuntimeError::Retrying(error))
            }
            Stop::Failed(Step::Deescalate, error) if attempt.job.is_none() => {
                // Someone asked to take access away now and the strategy failed once: the
                // access must still go, so the worker tries again.
                self.retry_deescalation(&run, attempt.trigger, &error)
                    .await?;
                Err(RuntimeError::DeescalationRetrying(error))
            }
            Stop::Failed(step, error) => {
                self.fail(attempt.context, run, step, &error, attempt.job)
                    .await
            }
            Stop::Error(error) => Err(error),
        }
    }

    /// Phase 1: the step `attempt` tries from the run's position. `None` for a stale timer,
    /// which is spent.
    async fn choose(
        &self,
        attempt: &Attempt<'_>,
        run: &RunRecord,
    ) -> Result<Option<Step>, RuntimeError> {
        let step = assent_engine::attempt(position_of(run), attempt.trigger)?;
        if step.is_none()
            && let Some(job) = attempt.job
        {
            self.spend(job).await?;
        }
        Ok(step)
    }

    /// Phases 2 and 3: may this person do it, and what the hooks say.
    async fn decide(
        &self,
        attempt: &Attempt<'_>,
        run: &RunRecord,
        step: Step,
        session: Option<TenantSession>,
    ) -> Result<Decision, Stop> {
        let context = attempt.context;
        let mut session = match session {
            Some(session) => session,
            None => self
                .session(
                    &run.org_id,
                    &context.plugin,
                    Reach::flow(&context.flow.environment, Some(&run.id)),
                )
                .await
                .map_err(|error| Stop::Failed(step, error.into()))?,
        };
        self.authorize(attempt, run, step, &mut session).await?;

        let origin = match position_of(run) {
            None => Origin::New,
            Some(position) => Origin::Run(position.status),
        };
        let mut resolver = Resolver::new(origin, step);
        while let Some(hook) = resolver.next_hook() {
            let outcome = if context.plugin.implements(Handler::On(hook)) {
                let mut event = event_for(hook, attempt.actor, context, run);
                event.payload.message = attempt.decision_message(hook);
                session
                    .session
                    .on(hook, &event)
                    .await
                    .map_err(|error| Stop::Failed(hook, error.into()))?
            } else {
                HookOutcome::Proceed
            };
            if let Err(bad) = resolver.feed(outcome) {
                let error = CallError {
                    plugin: context.plugin.name().to_owned(),
                    handler: Handler::On(hook).to_string(),
                    cause: CallFailure::BadReturn(bad.to_string()),
                };
                return Err(Stop::Failed(hook, error.into()));
            }
        }
        let events: Vec<NewEvent> = resolver
            .trail()
            .iter()
            .map(|decision| {
                NewEvent::run(
                    &run.id,
                    EventKind::Hook,
                    Some(attempt.actor),
                    json!({ "hook": Handler::On(decision.hook).to_string(), "outcome": decision.outcome }),
                )
            })
            .collect();
        Ok(match resolver.resolution() {
            Resolution::Ignore { step, message } => Decision::Ignore {
                step,
                message,
                events,
            },
            Resolution::Take { step, reason } => Decision::Take {
                step,
                reason,
                events,
                session: Box::new(session),
            },
        })
    }

    /// Phase 2: a person's approve, deny or revoke must be allowed by the flow's permissions.
    async fn authorize(
        &self,
        attempt: &Attempt<'_>,
        run: &RunRecord,
        step: Step,
        session: &mut TenantSession,
    ) -> Result<(), Stop> {
        let revoke = Trigger::Deescalate {
            cause: DeescalateCause::Revoke,
        };
        if !matches!(attempt.trigger, Trigger::Approve | Trigger::Deny) && attempt.trigger != revoke
        {
            return Ok(());
        }
        let actor = attempt.actor;
        let allow_guests = attempt.context.flow.params.allow_guest_interaction;
        let allowed = permissions::may_interact(actor, allow_guests);
        if let Err(forbidden) = allowed {
            return Err(self.refuse(run, step, actor, forbidden).await);
        }
        let rules = match &run.body.permissions {
            Some(rules) => rules.clone(),
            None => {
                let event = event_for(step, actor, attempt.context, run);
                permissions_of(attempt.context, session, &event)
                    .await
                    .map_err(|error| Stop::Failed(step, error.into()))?
            }
        };
        let permissions = permissions::RequestPermissions {
            rules: &rules,
            requester: &run.body.requester,
        };
        let allowed = match attempt.trigger {
            Trigger::Approve => permissions.may_approve(actor),
            Trigger::Deny => permissions.may_deny(actor),
            _ => permissions.may_revoke(actor),
        };
        let Err(forbidden) = allowed else {
            return Ok(());
        };
        Err(self.refuse(run, step, actor, forbidden).await)
    }

    /// A person tried a step they may not take: audited, and refused.
    async fn refuse(
        &self,
        run: &RunRecord,
        step: Step,
        actor: &User,
        forbidden: permissions::Forbidden,
    ) -> Stop {
        let refused = NewEvent::run(
            &run.id,
            EventKind::Refused,
            Some(actor),
            json!({ "step": step, "reason": forbidden.to_string() }),
        );
        match self.store.append(&run.org_id, &[refused]).await {
            Ok(_) => Stop::Error(forbidden.into()),
            Err(error) => Stop::Error(error.into()),
        }
    }

    /// A hook set the event aside: audit it; a new request ignored by `on_request` is kept,
    /// cancelled, for the record.
    async fn commit_ignored(
        &self,
        attempt: &Attempt<'_>,
        mut run: RunRecord,
        step: Step,
        message: Option<String>,
        mut events: Vec<NewEvent>,
    ) -> Result<Advance, RuntimeError> {
        events.push(NewEvent::run(
            &run.id,
            EventKind::Ignored,
            Some(attempt.actor),
            json!({ "step": step, "message": message }),
        ));
        let is_new = run.version == 0;
        if is_new {
            run.status = assent_engine::RunStatus::Cancelled;
            run.version = 1;
            run.body.reason = message.clone();
        }
        let write = StepWrite::new(
            run.org_id.clone(),
            if is_new {
                RunWrite::Insert(run.clone())
            } else {
                RunWrite::Unchanged
            },
        )
        .completing(self.lease_of(attempt.job))
        .recording(events);
        if !matches!(
            self.store.commit_step(write).await?,
            StepCommit::Committed { .. }
        ) {
            // Our lease ran out and another worker owns this timer now: it fires it.
            return Ok(Advance::unchanged(run));
        }
        Ok(Advance::Done(Box::new(StepResult {
            ignored: Some((step, message)),
            ..StepResult::unchanged(run)
        })))
    }

    /// Phase 4, the part that may fail: what the step changes, and the strategy's grant or
    /// revocation with its output.
    async fn effect(
        &self,
        attempt: &Attempt<'_>,
        run: &RunRecord,
        step: Step,
    ) -> Result<Effect, Stop> {
        let change = transition(position_of(run), step, &run.body.plan)
            .map_err(|_| RuntimeError::Rejected(Rejection::NotPending { status: run.status }))?;
        let output = match change.strategy {
            Some(call) => self
                .call_strategy(attempt.context, call, attempt.actor, step, run)
                .await
                .map_err(|error| Stop::Failed(step, error))?,
            None => None,
        };
        Ok(Effect { change, output })
    }

    /// Phases 4 and 5: the step applied to the run, its commit, and what follows it.
    async fn take(
        &self,
        attempt: &Attempt<'_>,
        run: RunRecord,
        taken: Taken,
    ) -> Result<Advance, RuntimeError> {
        let Taken {
            effect: Effect { change, output },
            reason,
            events,
            mut session,
        } = taken;
        let (context, step) = (attempt.context, change.step);
        let applied = apply(
            run,
            StepFacts {
                change: &change,
                trigger: attempt.trigger,
                actor: attempt.actor,
                // A hook's reason wins over the person's; a step with neither keeps the last.
                reason: reason.or_else(|| attempt.reason.clone()),
                output,
                now: now_millis(),
                owner: &self.owner,
                notify: self.notifier.is_some(),
                fired: attempt.job.is_some(),
            },
            events,
        );
        let write = StepWrite::new(applied.run.org_id.clone(), applied.write)
            .completing(self.lease_of(attempt.job))
            .cancelling_timers(change.cancel_timers)
            .scheduling(applied.schedule.clone())
            .recording(applied.events);
        let run = applied.run;
        let job_ids = match self.store.commit_step(write).await? {
            StepCommit::Committed { job_ids } => job_ids,
            StepCommit::Conflict => return Ok(Advance::Lost),
            // Our lease ran out and another worker owns this timer now: it will fire it.
            StepCommit::LeaseLost => return Ok(Advance::unchanged(run)),
        };
        if applied
            .schedule
            .iter()
            .any(|timer| timer.leased_to.is_none())
        {
            self.wake.notify_one();
        }

        let mut queued = queued_jobs(&run.org_id, &applied.schedule, job_ids);
        if context.plugin.implements(Handler::After(step)) {
            let mut event = event_for(step, attempt.actor, context, &run);
            event.payload.message = attempt.decision_message(step);
            if let Err(error) = session.session.after(step, &event).await {
                queued.extend(self.record_plugin_error(&run, step, &error).await?);
            }
        }
        Ok(Advance::Done(Box::new(StepResult {
            run,
            taken: Some(step),
            ignored: None,
            queued,
        })))
    }

    /// The lease a commit must still hold: the fired job's, held by this process.
    pub(crate) fn lease_of(&self, job: Option<&Job>) -> Option<(String, String)> {
        job.map(|job| (job.id.clone(), self.owner.to_string()))
    }
}

/// How many times in all a strategy step is fired before its failure errors the run.
fn attempts_allowed(step: Step, error: &StepFailure) -> i64 {
    match step {
        _ if error.is_transient() => OUTAGE_ATTEMPTS,
        Step::Deescalate => DEESCALATE_ATTEMPTS,
        // A plugin's escalation that failed is rolled back and the run errored at once.
        _ => 1,
    }
}

/// Where the run stands; `None` for a request not stored yet.
fn position_of(run: &RunRecord) -> Option<Position> {
    (run.version != 0).then(|| run.position())
}

/// The flow's permissions for this event; a legacy plugin without `get_permissions` lets
/// members approve, and self-approval follows its `get_approvers` answer.
pub(crate) async fn permissions_of(
    context: &FlowContext,
    session: &mut TenantSession,
    event: &assent_types::Event,
) -> Result<RequestPermission, CallError> {
    if context.plugin.implements(Handler::GetPermissions) {
        return session.session.get_permissions(event).await;
    }
    let allow_self_approval = if context.plugin.implements(Handler::GetApprovers) {
        session.session.get_approvers(event).await?.allow_self
    } else {
        false
    };
    Ok(legacy_permissions(allow_self_approval))
}

/// A legacy plugin's permissions: members approve; self-approval as `get_approvers` says.
pub(crate) fn legacy_permissions(allow_self_approval: bool) -> RequestPermission {
    RequestPermission {
        webapp_view: Permission::Level(PermissionLevel::Admin),
        approve_deny: Permission::Level(PermissionLevel::Member),
        allow_self_approval,
    }
}
