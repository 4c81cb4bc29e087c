//! Runs the approval state machine against the store and the flow's plugins.
//!
//! Every step goes the same way ([`Runner::advance`]):
//!
//! 1. read the run and ask the state machine which step the trigger attempts (`attempt`);
//! 2. for a person's approve, deny or revoke, check `get_permissions`;
//! 3. consult the `on_<step>` hooks through a `Resolver` (proceed, redirect, ignore);
//! 4. work out the `transition`, call the strategy if the step grants or takes away access;
//! 5. commit the new run state, its timers and its audit entries in one transaction that
//!    only succeeds if the run is still at the version read in 1 — if another step won the
//!    race, start again from 1 with the fresh state (where the loser is usually refused);
//! 6. call `after_<step>`, and run a queued escalation straight away.
//!
//! A plugin that fails (its own error, a trap, the deadline, the memory limit) moves the run
//! to `errored` with the error recorded; nothing else about the tenant or the server changes.

use std::sync::Arc;

use std::collections::VecDeque;

use assent_engine::{
    DeescalateCause, FlowPlan, Notice, Origin, Position, Rejection, Resolution, Resolver,
    RunStatus, StrategyCall, Timer, Trigger, attempt, check_inputs, notice, permissions,
    transition,
};
use assent_plugin_host::{CallError, Plugin};
use assent_store::{
    FlowRecord, Job, NewEvent, NewJob, RunBody, RunError, RunRecord, RunWrite, StepCommit,
    StepWrite, Store, Task, new_id, now_millis,
};
use assent_types::{
    Channel, Destination, Event, FieldValue, Flow, Handler, HookOutcome, Notification, Payload,
    Permission, PermissionLevel, RequestPermission, Role, Run, Step, User,
};
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::RuntimeError;
use crate::notify::{Delivery, Notifier};
use crate::plugins::{Plugins, TenantSession};

// How often one trigger is re-evaluated after losing a race to another step on the same run
// before giving up. Each retry sees the winner's state, so more than two is already rare.
const MAX_RACE_RETRIES: usize = 8;

// How long a worker owns a timer it is firing. Longer than any step takes (plugin calls are
// bounded by their deadlines), short enough that a crashed worker's timers fire soon after.
pub(crate) const LEASE_MS: i64 = 30_000;

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

/// A request for access.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub flow: String,
    pub requester: User,
    pub inputs: serde_json::Map<String, Value>,
    pub context: Value,
    pub source: Channel,
    /// The Slack workspace (team id) it was made in, if it came from Slack.
    pub slack_team: Option<String>,
}

/// The outcome of a trigger.
#[derive(Debug, Clone)]
pub struct StepResult {
    pub run: RunRecord,
    /// The step taken, if one was.
    pub taken: Option<Step>,
    /// Set when a hook ignored the event: the step and the hook's message for the actor.
    pub ignored: Option<(Step, Option<String>)>,
    /// Steps queued to run at once (an escalation after approval), leased to this process.
    queued: Vec<Job>,
}

impl StepResult {
    fn unchanged(run: RunRecord) -> StepResult {
        StepResult {
            run,
            taken: None,
            ignored: None,
            queued: Vec::new(),
        }
    }
}

enum Advance {
    Done(Box<StepResult>),
    /// Another step committed first; read the run again and retry.
    Lost,
}

/// The flow version a run belongs to, with its plugins loaded.
struct FlowContext {
    flow: FlowRecord,
    plugin: Plugin,
    strategy: Option<Plugin>,
}

/// Who acts when nobody does: timers and queued steps.
pub fn system_user() -> User {
    User {
        id: "assent".into(),
        email: String::new(),
        username: "assent".into(),
        role: Role::Admin,
        ..User::default()
    }
}

/// Drives runs through their flows. Cheap to clone; one per process.
#[derive(Debug, Clone)]
pub struct Runner {
    store: Store,
    plugins: Plugins,
    /// This process's name on the timer leases it takes.
    owner: Arc<str>,
    /// Woken when a step schedules a timer, so the worker can look again.
    wake: Arc<Notify>,
    /// Where notices go (Slack); without one, steps schedule none.
    notifier: Option<Arc<dyn Notifier>>,
}

/// What `on_prompt` said about showing a flow's request form to someone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptAnswer {
    Offer,
    /// The hook ignored or denied the prompt; its message, if any, is for the person.
    Withhold(Option<String>),
}

impl Runner {
    pub fn new(store: Store, plugins: Plugins) -> Runner {
        Runner {
            store,
            plugins,
            owner: format!("worker-{}", new_id()).into(),
            wake: Arc::new(Notify::new()),
            notifier: None,
        }
    }

    /// Tells people about steps through `notifier`.
    pub fn with_notifier(mut self, notifier: Arc<dyn Notifier>) -> Runner {
        self.notifier = Some(notifier);
        self
    }

    /// Jobs delivering `notices` about `run`, leased to this process, which delivers them
    /// as soon as the step commits.
    fn notice_jobs(&self, run_id: &str, notices: Vec<Notice>, now: i64) -> Vec<NewJob> {
        if self.notifier.is_none() {
            return Vec::new();
        }
        notices
            .into_iter()
            .map(|notice| NewJob {
                run_id: run_id.to_owned(),
                task: Task::Notice(notice),
                due_at: now,
                leased_to: Some((self.owner.to_string(), now + LEASE_MS)),
            })
            .collect()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn plugins(&self) -> &Plugins {
        &self.plugins
    }

    pub(crate) fn owner(&self) -> &str {
        &self.owner
    }

    pub(crate) fn wake(&self) -> &Notify {
        &self.wake
    }

    /// The flow's own plugin, named after the flow version in its errors.
    async fn flow_plugin(&self, org_id: &str, flow: &FlowRecord) -> Result<Plugin, RuntimeError> {
        Ok(self
            .plugins
            .get(&self.store, org_id, &flow.plugin_hash)
            .await?
            .named(format!("{}@{}", flow.name, flow.version)))
    }

    async fn context(&self, org_id: &str, flow: FlowRecord) -> Result<FlowContext, RuntimeError> {
        let plugin = self.flow_plugin(org_id, &flow).await?;
        let strategy = match &flow.strategy_hash {
            Some(hash) => Some(
                self.plugins
                    .get(&self.store, org_id, hash)
                    .await?
                    .named(format!("{} strategy", flow.name)),
            ),
            None => None,
        };
        Ok(FlowContext {
            flow,
            plugin,
            strategy,
        })
    }

    async fn context_of(&self, run: &RunRecord) -> Result<FlowContext, RuntimeError> {
        let flow = self
            .store
            .flow_version(&run.org_id, &run.flow_id)
            .await?
            .ok_or_else(|| RuntimeError::NotFound(format!("flow of run `{}`", run.id)))?;
        self.context(&run.org_id, flow).await
    }

    /// Starts a run: checks the inputs, asks the plugin where to send the request, and takes
    /// the `request` step (or wherever `on_request` sends it).
    pub async fn request(
        &self,
        org_id: &str,
        request: NewRequest,
    ) -> Result<StepResult, RuntimeError> {
        let flow = self
            .store
            .flow(org_id, &request.flow)
            .await?
            .ok_or_else(|| RuntimeError::NotFound(format!("flow `{}`", request.flow)))?;
        permissions::may_request(&request.requester)?;
        let mut fields =
            check_inputs(&flow.fields, &request.inputs).map_err(RuntimeError::InvalidInputs)?;
        self.complete_fields(org_id, &flow, &mut fields).await?;
        let context = self.context(org_id, flow).await?;

        let now = now_millis();
        let run_id = new_id();
        let mut draft = RunRecord {
            id: run_id.clone(),
            org_id: org_id.to_owned(),
            flow_id: context.flow.id.clone(),
            flow_name: context.flow.name.clone(),
            requester_id: request.requester.id.clone(),
            status: RunStatus::Requested,
            notification: 0,
            version: 0,
            body: RunBody {
                requester: request.requester.clone(),
                fields,
                run: Run {
                    id: run_id,
                    actors: [(Step::Request, request.requester.clone())].into(),
                    contexts: [(Step::Request, request.context.clone())].into(),
                    source_channel: request.source.clone(),
                },
                slack_team: request.slack_team.clone(),
                ..RunBody::default()
            },
            created_at: now,
            updated_at: now,
        };

        let mut session = match self.plugins.session(org_id, &context.plugin).await {
            Ok(session) => session,
            Err(error) => return self.fail_new(&context, draft, Step::Request, &error).await,
        };
        let event = event_for(Step::Request, &request.requester, &context.flow, &draft);
        match plan_request(&context, &mut session, &event).await {
            Ok((notifications, plan)) => {
                draft.body.notifications = notifications;
                draft.body.plan = plan;
            }
            Err(error) => return self.fail_new(&context, draft, Step::Request, &error).await,
        }
        match self
            .advance(
                &context,
                draft,
                Trigger::Request,
                &request.requester,
                None,
                None,
                Some(session),
            )
            .await?
        {
            Advance::Done(result) => self.run_queued(*result).await,
            // A new run's id is fresh; nobody else can have written it.
            Advance::Lost => Err(RuntimeError::Busy),
        }
    }

    /// Asks `flow`'s `on_prompt` hook whether `user` is offered its request form (the Slack
    /// picker lists only offered flows). A flow without the hook is offered to everyone who
    /// may request at all. `on_prompt` decides what a person is shown, not what they may
    /// ask for: a request that arrives anyway still meets `on_request` and the permissions.
    pub async fn prompt(
        &self,
        org_id: &str,
        flow: &FlowRecord,
        user: &User,
    ) -> Result<PromptAnswer, RuntimeError> {
        permissions::may_request(user)?;
        // Only the flow's own plugin: the strategy has no say in what is offered.
        let plugin = self.flow_plugin(org_id, flow).await?;
        if !plugin.implements(Handler::On(Step::Prompt)) {
            return Ok(PromptAnswer::Offer);
        }
        let mut session = self
            .plugins
            .session(org_id, &plugin)
            .await
            .map_err(RuntimeError::Plugin)?;
        let event = Event {
            name: Step::Prompt,
            user: user.clone(),
            payload: Payload {
                fields: Default::default(),
                timestamp: now_rfc3339(),
            },
            flow: flow_of(flow),
            run: Run::default(),
            outputs: Default::default(),
        };
        let outcome = session
            .session
            .on(Step::Prompt, &event)
            .await
            .map_err(RuntimeError::Plugin)?;
        Ok(match outcome {
            HookOutcome::Ignore(message) | HookOutcome::Deny(message) => {
                PromptAnswer::Withhold(message)
            }
            // There is no run yet to approve or move on; anything else shows the form.
            _ => PromptAnswer::Offer,
        })
    }

    /// Runs the jobs `result` queued (notices, an escalation after approval) now, in this
    /// request, and returns the run as they left it. Should this process die first, the
    /// worker of any replica fires them once their lease is free.
    async fn run_queued(&self, mut result: StepResult) -> Result<StepResult, RuntimeError> {
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

    /// Fills in what the inputs only name: targets' settings from the flow, and users by email.
    async fn complete_fields(
        &self,
        org_id: &str,
        flow: &FlowRecord,
        fields: &mut std::collections::BTreeMap<String, FieldValue>,
    ) -> Result<(), RuntimeError> {
        for (name, value) in fields.iter_mut() {
            match value {
                FieldValue::Target(target) if !flow.params.targets.is_empty() => {
                    let known = flow.params.targets.iter().find(|t| t.name == target.name);
                    match known {
                        Some(known) => *target = known.clone(),
                        None => {
                            return Err(RuntimeError::InvalidInputs(vec![
                                assent_engine::FieldError::NotAllowed {
                                    field: name.clone(),
                                    value: target.name.clone(),
                                    allowed: flow
                                        .params
                                        .targets
                                        .iter()
                                        .map(|t| t.name.clone())
                                        .collect::<Vec<_>>()
                                        .join(", "),
                                },
                            ]));
                        }
                    }
                }
                FieldValue::SlackUser(user) => self.complete_user(org_id, user).await?,
                FieldValue::SlackUserList(users) => {
                    for user in users {
                        self.complete_user(org_id, user).await?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    async fn complete_user(&self, org_id: &str, user: &mut User) -> Result<(), RuntimeError> {
        if !user.email.is_empty()
            && let Some(known) = self.store.user_by_email(org_id, &user.email).await?
        {
            *user = known;
        } else if !user.id.is_empty()
            && let Some(known) = self.store.user(org_id, &user.id).await?
        {
            *user = known;
        }
        Ok(())
    }

    /// A person acts on a run.
    pub async fn act(
        &self,
        org_id: &str,
        run_id: &str,
        actor: &User,
        action: Action,
        reason: Option<String>,
    ) -> Result<StepResult, RuntimeError> {
        let trigger = match action {
            Action::Approve => Trigger::Approve,
            Action::Deny => Trigger::Deny,
            Action::Revoke => Trigger::Deescalate {
                cause: DeescalateCause::Revoke,
            },
            Action::Deescalate => Trigger::Deescalate {
                cause: DeescalateCause::Api,
            },
        };
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
            match self
                .advance(&context, run, trigger, actor, reason.clone(), None, None)
                .await?
            {
                Advance::Done(result) => return self.run_queued(*result).await,
                Advance::Lost => continue,
            }
        }
        Err(RuntimeError::Busy)
    }

    /// Fires a job this process holds the lease of, then whatever it queued.
    pub async fn fire(&self, job: &Job) -> Result<(), RuntimeError> {
        let queued = self.fire_one(job).await?;
        self.drain(queued).await;
        Ok(())
    }

    /// Fires one job; returns the jobs it queued for this process.
    async fn fire_one(&self, job: &Job) -> Result<Vec<Job>, RuntimeError> {
        match &job.task {
            Task::Step(trigger) => self.fire_step(job, *trigger).await,
            Task::Notice(notice) => self.deliver(job, notice).await,
        }
    }

    /// Delivers a notice; a request that reached nobody moves the run on.
    async fn deliver(&self, job: &Job, notice: &Notice) -> Result<Vec<Job>, RuntimeError> {
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
        let (schedule, events) = match (delivery, notice) {
            (Delivery::Undeliverable, Notice::Request { notification }) => (
                vec![NewJob {
                    run_id: job.run_id.clone(),
                    task: Task::Step(Trigger::DeliveryFailed {
                        notification: *notification,
                    }),
                    due_at: now,
                    leased_to: Some((self.owner.to_string(), now + LEASE_MS)),
                }],
                vec![NewEvent {
                    run_id: Some(job.run_id.clone()),
                    kind: "delivery_failed".into(),
                    actor: None,
                    data: json!({ "notification": notification }),
                }],
            ),
            _ => (Vec::new(), Vec::new()),
        };
        let commit = self
            .store
            .commit_step(StepWrite {
                org_id: job.org_id.clone(),
                run: RunWrite::Unchanged,
                complete_job: Some((job.id.clone(), self.owner.to_string())),
                cancel_jobs: false,
                schedule: schedule.clone(),
                events,
            })
            .await?;
        Ok(match commit {
            StepCommit::Committed { job_ids } => queued_jobs(&job.org_id, &schedule, job_ids),
            StepCommit::Conflict | StepCommit::LeaseLost => Vec::new(),
        })
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
            match self
                .advance(&context, run, trigger, &actor, None, Some(job), None)
                .await
            {
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
    async fn spend(&self, job: &Job) -> Result<(), RuntimeError> {
        self.store
            .commit_step(StepWrite {
                org_id: job.org_id.clone(),
                run: RunWrite::Unchanged,
                complete_job: Some((job.id.clone(), self.owner.to_string())),
                cancel_jobs: false,
                schedule: Vec::new(),
                events: Vec::new(),
            })
            .await?;
        Ok(())
    }

    /// One attempt at moving `run` on by `trigger`. See the module docs for the phases.
    #[allow(clippy::too_many_arguments)]
    async fn advance(
        &self,
        context: &FlowContext,
        mut run: RunRecord,
        trigger: Trigger,
        actor: &User,
        reason: Option<String>,
        job: Option<&Job>,
        session: Option<TenantSession>,
    ) -> Result<Advance, RuntimeError> {
        let is_new = run.version == 0;
        let position: Option<Position> = (!is_new).then(|| run.position());
        // 1. Which step.
        let step = match attempt(position, trigger)? {
            Some(step) => step,
            None => {
                // A stale timer: spend it.
                if let Some(job) = job {
                    self.spend(job).await?;
                }
                return Ok(Advance::Done(Box::new(StepResult::unchanged(run))));
            }
        };
        let mut session = match session {
            Some(session) => session,
            None => match self.plugins.session(&run.org_id, &context.plugin).await {
                Ok(session) => session,
                Err(error) => return self.fail(context, run, step, &error, job).await,
            },
        };

        // 2. May this person do it.
        if matches!(
            trigger,
            Trigger::Approve
                | Trigger::Deny
                | Trigger::Deescalate {
                    cause: DeescalateCause::Revoke
                }
        ) {
            let event = event_for(step, actor, &context.flow, &run);
            let rules = match permissions_of(context, &mut session, &event).await {
                Ok(rules) => rules,
                Err(error) => return self.fail(context, run, step, &error, job).await,
            };
            let permissions = permissions::RequestPermissions {
                rules: &rules,
                requester: &run.body.requester,
            };
            let allowed = match trigger {
                Trigger::Approve => permissions.may_approve(actor),
                Trigger::Deny => permissions.may_deny(actor),
                _ => permissions.may_revoke(actor),
            };
            if let Err(forbidden) = allowed {
                self.store
                    .append(
                        &run.org_id,
                        &[NewEvent {
                            run_id: Some(run.id.clone()),
                            kind: "refused".into(),
                            actor: Some(actor.clone()),
                            data: json!({ "step": step, "reason": forbidden.to_string() }),
                        }],
                    )
                    .await?;
                return Err(forbidden.into());
            }
        }

        // 3. The hooks' say.
        let origin = match position {
            None => Origin::New,
            Some(position) => Origin::Run(position.status),
        };
        let mut resolver = Resolver::new(origin, step);
        while let Some(hook) = resolver.next_hook() {
            let outcome = if context.plugin.implements(Handler::On(hook)) {
                let event = event_for(hook, actor, &context.flow, &run);
                match session.session.on(hook, &event).await {
                    Ok(outcome) => outcome,
                    Err(error) => return self.fail(context, run, hook, &error, job).await,
                }
            } else {
                HookOutcome::Proceed
            };
            if let Err(bad) = resolver.feed(outcome) {
                let error = CallError {
                    plugin: context.plugin.name().to_owned(),
                    handler: Handler::On(hook).to_string(),
                    cause: assent_plugin_host::CallFailure::BadReturn(bad.to_string()),
                };
                return self.fail(context, run, hook, &error, job).await;
            }
        }
        let mut events: Vec<NewEvent> = resolver
            .trail()
            .iter()
            .map(|decision| NewEvent {
                run_id: Some(run.id.clone()),
                kind: "hook".into(),
                actor: Some(actor.clone()),
                data: json!({ "hook": Handler::On(decision.hook).to_string(), "outcome": decision.outcome }),
            })
            .collect();

        let (step, hook_reason) = match resolver.resolution() {
            Resolution::Ignore { step, message } => {
                events.push(NewEvent {
                    run_id: Some(run.id.clone()),
                    kind: "ignored".into(),
                    actor: Some(actor.clone()),
                    data: json!({ "step": step, "message": message }),
                });
                if is_new {
                    // `on_request` ignored the request: keep it, cancelled, for the record.
                    run.status = RunStatus::Cancelled;
                    run.version = 1;
                    run.body.reason = message.clone();
                }
                let write = StepWrite {
                    org_id: run.org_id.clone(),
                    run: if is_new {
                        RunWrite::Insert(run.clone())
                    } else {
                        RunWrite::Unchanged
                    },
                    complete_job: job.map(|job| (job.id.clone(), self.owner.to_string())),
                    cancel_jobs: false,
                    schedule: Vec::new(),
                    events,
                };
                if !matches!(
                    self.store.commit_step(write).await?,
                    StepCommit::Committed { .. }
                ) {
                    // Our lease ran out and another worker owns this timer now: it fires it.
                    return Ok(Advance::Done(Box::new(StepResult::unchanged(run))));
                }
                return Ok(Advance::Done(Box::new(StepResult {
                    ignored: Some((step, message)),
                    ..StepResult::unchanged(run)
                })));
            }
            Resolution::Take { step, reason } => (step, reason),
        };

        // 4. What the step does.
        let change = transition(position, step, &run.body.plan)
            .map_err(|_| RuntimeError::Rejected(Rejection::NotPending { status: run.status }))?;
        let mut output = None;
        if let Some(call) = change.strategy {
            match self.call_strategy(context, call, actor, step, &run).await {
                Ok(value) => output = value,
                Err(error) => return self.fail(context, run, step, &error, job).await,
            }
        }

        let from = run.status;
        let now = now_millis();
        run.status = change.status;
        run.notification = change.notification;
        run.version += 1;
        run.updated_at = now;
        // A step without a reason keeps the last one (an escalation after an auto-approval
        // still shows why it was approved).
        if let Some(reason) = hook_reason.clone().or(reason.clone()) {
            run.body.reason = Some(reason);
        }
        run.body.run.actors.insert(step, actor.clone());
        run.body.acted_at.insert(step, now);
        if let Some(reason) = &run.body.reason {
            run.body
                .run
                .contexts
                .insert(step, json!({ "reason": reason }));
        }
        if let Some(output) = &output {
            run.body
                .outputs
                .insert(step.as_str().to_owned(), output.clone());
        }
        // Notices first: the requester hears of the approval before the access it grants.
        let mut timers: Vec<NewJob> =
            self.notice_jobs(&run.id, notice::after_step(step, change.notify), now);
        timers.extend(
            change
                .schedule
                .iter()
                .map(|timer| timer_job(&run.id, *timer, now, &self.owner)),
        );
        if let Some(deescalate) = timers
            .iter()
            .find(|job| matches!(job.task, Task::Step(Trigger::Deescalate { .. })))
        {
            run.body.access_until = Some(deescalate.due_at);
        }
        events.push(NewEvent {
            run_id: Some(run.id.clone()),
            kind: step.as_str().to_owned(),
            actor: Some(actor.clone()),
            data: json!({
                "trigger": trigger,
                "from": if is_new { Value::Null } else { json!(from) },
                "status": run.status,
                "reason": run.body.reason,
                "output": output,
                // Which process fired a timer, for following a run across replicas.
                "worker": job.map(|_| self.owner.as_ref()),
            }),
        });
        if let Some(index) = change.notify
            && let Some(notification) = run.body.notifications.get(index as usize)
        {
            events.push(NewEvent {
                run_id: Some(run.id.clone()),
                kind: "notify".into(),
                actor: None,
                data: json!({ "notification": index, "destinations": notification.destinations, "timeout": notification.timeout }),
            });
        }

        // 5. Commit, if nobody else moved the run meanwhile.
        let write = StepWrite {
            org_id: run.org_id.clone(),
            run: if is_new {
                RunWrite::Insert(run.clone())
            } else {
                RunWrite::Update(run.clone())
            },
            complete_job: job.map(|job| (job.id.clone(), self.owner.to_string())),
            cancel_jobs: change.cancel_timers,
            schedule: timers.clone(),
            events,
        };
        let job_ids = match self.store.commit_step(write).await? {
            StepCommit::Committed { job_ids } => job_ids,
            StepCommit::Conflict => return Ok(Advance::Lost),
            // Our lease ran out and another worker owns this timer now: it will fire it.
            StepCommit::LeaseLost => {
                return Ok(Advance::Done(Box::new(StepResult::unchanged(run))));
            }
        };
        if timers.iter().any(|timer| timer.leased_to.is_none()) {
            self.wake.notify_one();
        }

        // 6. Side effects and queued steps.
        let mut queued = queued_jobs(&run.org_id, &timers, job_ids);
        if context.plugin.implements(Handler::After(step)) {
            let event = event_for(step, actor, &context.flow, &run);
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

    async fn call_strategy(
        &self,
        context: &FlowContext,
        call: StrategyCall,
        actor: &User,
        step: Step,
        run: &RunRecord,
    ) -> Result<Option<Value>, CallError> {
        let Some(strategy) = &context.strategy else {
            return Ok(None);
        };
        let event = event_for(step, actor, &context.flow, run);
        let target = event.target().cloned().unwrap_or_default();
        let mut session = self.plugins.session(&run.org_id, strategy).await?;
        match call {
            StrategyCall::Escalate => session.session.escalate(&target, &event).await,
            StrategyCall::Deescalate => session.session.deescalate(&target, &event).await,
        }
    }

    /// Records an `after_*` hook's failure (the step stands) and queues the notice for the
    /// error logger.
    async fn record_plugin_error(
        &self,
        run: &RunRecord,
        step: Step,
        error: &CallError,
    ) -> Result<Vec<Job>, RuntimeError> {
        tracing::warn!(run = %run.id, %step, %error, "plugin failed after a step");
        let schedule = self.notice_jobs(&run.id, vec![failed_notice(step, error)], now_millis());
        let commit = self
            .store
            .commit_step(StepWrite {
                org_id: run.org_id.clone(),
                run: RunWrite::Unchanged,
                complete_job: None,
                cancel_jobs: false,
                schedule: schedule.clone(),
                events: vec![NewEvent {
                    run_id: Some(run.id.clone()),
                    kind: "plugin_error".into(),
                    actor: None,
                    data: json!({ "step": step, "handler": error.handler, "error": error.to_string() }),
                }],
            })
            .await?;
        Ok(match commit {
            StepCommit::Committed { job_ids } => queued_jobs(&run.org_id, &schedule, job_ids),
            StepCommit::Conflict | StepCommit::LeaseLost => Vec::new(),
        })
    }

    async fn fail_new(
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

    /// Moves the run to `errored` with the plugin's error.
    async fn fail(
        &self,
        context: &FlowContext,
        mut run: RunRecord,
        step: Step,
        error: &CallError,
        job: Option<&Job>,
    ) -> Result<Advance, RuntimeError> {
        tracing::warn!(run = %run.id, flow = %context.flow.name, %step, %error, "plugin failed; the run is errored");
        let is_new = run.version == 0;
        let now = now_millis();
        run.status = RunStatus::Errored;
        run.version += 1;
        run.updated_at = now;
        run.body.error = Some(RunError {
            step,
            handler: error.handler.clone(),
            message: error.to_string(),
            at: now,
        });
        let schedule = self.notice_jobs(&run.id, vec![failed_notice(step, error)], now);
        let write = StepWrite {
            org_id: run.org_id.clone(),
            run: if is_new {
                RunWrite::Insert(run.clone())
            } else {
                RunWrite::Update(run.clone())
            },
            complete_job: job.map(|job| (job.id.clone(), self.owner.to_string())),
            cancel_jobs: true,
            schedule: schedule.clone(),
            events: vec![NewEvent {
                run_id: Some(run.id.clone()),
                kind: "plugin_error".into(),
                actor: None,
                data: json!({ "step": step, "handler": error.handler, "error": error.to_string(), "status": "errored" }),
            }],
        };
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

fn failed_notice(step: Step, error: &CallError) -> Notice {
    Notice::Failed {
        step,
        handler: error.handler.clone(),
        error: error.to_string(),
    }
}

/// The jobs of `schedule` (committed as `job_ids`) that this process runs itself.
fn queued_jobs(org_id: &str, schedule: &[NewJob], job_ids: Vec<String>) -> Vec<Job> {
    schedule
        .iter()
        .zip(job_ids)
        .filter(|(job, _)| job.leased_to.is_some())
        .map(|(job, id)| Job {
            id,
            org_id: org_id.to_owned(),
            run_id: job.run_id.clone(),
            task: job.task.clone(),
            due_at: job.due_at,
            attempts: 1,
        })
        .collect()
}

/// The timer's job, due relative to `now`.
fn timer_job(run_id: &str, timer: Timer, now: i64, owner: &str) -> NewJob {
    let after = |seconds: u64| {
        now.saturating_add(i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX))
    };
    let (trigger, due_at) = match timer {
        Timer::NotificationTimeout {
            notification,
            after: seconds,
        } => (
            Trigger::NotificationTimeout { notification },
            after(seconds),
        ),
        Timer::RequestTimeout { after: seconds } => (Trigger::RequestTimeout, after(seconds)),
        Timer::Escalate => (Trigger::Escalate, now),
        Timer::Deescalate { after: seconds } => (
            Trigger::Deescalate {
                cause: DeescalateCause::Expiry,
            },
            after(seconds),
        ),
    };
    // A queued escalation is run by the process that queued it, straight after the approval
    // commits; it is leased to that process so no worker takes it meanwhile. Should the
    // process die first, the lease runs out and any worker fires it.
    let leased_to = (timer == Timer::Escalate).then(|| (owner.to_owned(), now + LEASE_MS));
    NewJob {
        run_id: run_id.to_owned(),
        task: Task::Step(trigger),
        due_at,
        leased_to,
    }
}

/// The event a handler sees for `step` of `run`.
pub(crate) fn event_for(step: Step, actor: &User, flow: &FlowRecord, run: &RunRecord) -> Event {
    Event {
        name: step,
        user: actor.clone(),
        payload: Payload {
            fields: run.body.fields.clone(),
            timestamp: now_rfc3339(),
        },
        flow: flow_of(flow),
        run: run.body.run.clone(),
        outputs: run.body.outputs.clone(),
    }
}

/// The flow as handlers see it.
fn flow_of(flow: &FlowRecord) -> Flow {
    Flow {
        name: flow.name.clone(),
        label: flow.label.clone(),
        vars: flow.vars.clone(),
        fields: flow.fields.clone(),
    }
}

fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

/// Where a new request goes and how long things last, from the flow's reducers.
async fn plan_request(
    context: &FlowContext,
    session: &mut TenantSession,
    event: &Event,
) -> Result<(Vec<Notification>, FlowPlan), CallError> {
    let plugin = &context.plugin;
    let notifications = if plugin.implements(Handler::GetRequestNotifications) {
        session.session.get_request_notifications(event).await?
    } else if plugin.implements(Handler::GetApprovers) {
        let approvers = session.session.get_approvers(event).await?;
        legacy_notifications(approvers.destinations, approvers.fallback)
    } else {
        Vec::new()
    };
    let request_timeout = if plugin.implements(Handler::GetTimeout) {
        session.session.get_timeout(event).await?
    } else {
        None
    };
    let access_duration = event
        .payload
        .fields
        .iter()
        .find_map(|(name, value)| match value {
            FieldValue::Duration(seconds) if name == "duration" => Some(*seconds),
            _ => None,
        });
    let plan = FlowPlan {
        notification_timeouts: notifications.iter().map(|n| n.timeout).collect(),
        request_timeout,
        access_duration,
        schedule_deescalation: context.flow.params.schedule_deescalation,
        has_strategy: context.strategy.is_some(),
    };
    Ok((notifications, plan))
}

/// `get_approvers`' answer as notifications: all destinations at once, or with `fallback`
/// one after another (each moves on when it cannot be delivered).
fn legacy_notifications(destinations: Vec<Destination>, fallback: bool) -> Vec<Notification> {
    if destinations.is_empty() {
        return Vec::new();
    }
    if fallback {
        destinations
            .into_iter()
            .map(|destination| Notification {
                destinations: vec![destination],
                timeout: None,
            })
            .collect()
    } else {
        vec![Notification {
            destinations,
            timeout: None,
        }]
    }
}

/// The flow's permissions for this event; a legacy plugin without `get_permissions` lets
/// members approve, and self-approval follows its `get_approvers` answer.
async fn permissions_of(
    context: &FlowContext,
    session: &mut TenantSession,
    event: &Event,
) -> Result<RequestPermission, CallError> {
    if context.plugin.implements(Handler::GetPermissions) {
        return session.session.get_permissions(event).await;
    }
    let allow_self_approval = if context.plugin.implements(Handler::GetApprovers) {
        session.session.get_approvers(event).await?.allow_self
    } else {
        false
    };
    Ok(RequestPermission {
        webapp_view: Permission::Level(PermissionLevel::Admin),
        approve_deny: Permission::Level(PermissionLevel::Member),
        allow_self_approval,
    })
}

/// Asks the plugin whether `viewer` may see the run (admins and the requester always may).
pub(crate) async fn may_view(
    runner: &Runner,
    run: &RunRecord,
    viewer: &User,
) -> Result<bool, RuntimeError> {
    if viewer.role == Role::Admin || viewer.id == run.requester_id {
        return Ok(true);
    }
    let context = runner.context_of(run).await?;
    let mut session = runner
        .plugins
        .session(&run.org_id, &context.plugin)
        .await
        .map_err(RuntimeError::Plugin)?;
    let event = event_for(Step::Request, viewer, &context.flow, run);
    let rules = permissions_of(&context, &mut session, &event)
        .await
        .map_err(RuntimeError::Plugin)?;
    Ok(permissions::RequestPermissions {
        rules: &rules,
        requester: &run.body.requester,
    }
    .may_view(viewer))
}
