//! What a decided step does to a run, and everything it writes: the run's new state, the
//! jobs it schedules (timers and notices), its audit entries. Pure — no plugin, store or
//! clock (`now` is given) — so every step's effects are tested here without I/O.

use assent_engine::{DeescalateCause, RunStatus, Transition, Trigger, notice};
use assent_store::{EventKind, NewEvent, NewJob, RunRecord, RunWrite, Task};
use assent_types::User;
use serde_json::{Value, json};

use crate::jobs::{notice_jobs, timer_job};

/// The facts of one step besides the run: what the state machine decided and who did it.
#[derive(Debug, Clone)]
pub struct StepFacts<'a> {
    pub change: &'a Transition,
    pub trigger: Trigger,
    pub actor: &'a User,
    /// Why, from the hook or the person; `None` keeps the run's last reason (an escalation
    /// after an auto-approval still shows why it was approved).
    pub reason: Option<String>,
    /// The strategy's output, if it ran.
    pub output: Option<Value>,
    pub now: i64,
    /// This process, which leases the jobs it runs itself straight after the commit.
    pub owner: &'a str,
    /// Whether anyone is told about steps (a notifier is set): without one, no notices.
    pub notify: bool,
    /// The step was fired from a timer or a queued job (the audit entry names the worker).
    pub fired: bool,
}

/// Everything a step writes.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The run after the step, its version bumped.
    pub run: RunRecord,
    /// How the run row is written: a new run is inserted, a known one updated.
    pub write: RunWrite,
    /// Notices first, then timers: the requester hears of an approval before the access it
    /// grants.
    pub schedule: Vec<NewJob>,
    /// `events` given, then the step's own entry, then the notification's if one went out.
    pub events: Vec<NewEvent>,
}

/// Applies the step decided by `facts.change` to `run`.
pub fn apply(mut run: RunRecord, facts: StepFacts<'_>, mut events: Vec<NewEvent>) -> Applied {
    let is_new = run.version == 0;
    let from = run.status;
    advance_run(&mut run, &facts);
    let schedule = schedule(&mut run, &facts);
    events.extend(step_entries(&run, &facts, (!is_new).then_some(from)));
    let write = if is_new {
        RunWrite::Insert(run.clone())
    } else {
        RunWrite::Update(run.clone())
    };
    Applied {
        run,
        write,
        schedule,
        events,
    }
}

/// The run's new state, version, actors, reason and strategy output.
fn advance_run(run: &mut RunRecord, facts: &StepFacts<'_>) {
    let step = facts.change.step;
    run.status = facts.change.status;
    run.notification = facts.change.notification;
    run.version += 1;
    run.updated_at = facts.now;
    if let Some(reason) = &facts.reason {
        run.body.reason = Some(reason.clone());
    }
    run.body.run.actors.insert(step, facts.actor.clone());
    run.body.acted_at.insert(step, facts.now);
    if let Some(reason) = &run.body.reason {
        run.body
            .run
            .contexts
            .insert(step, json!({ "reason": reason }));
    }
    if let Some(output) = &facts.output {
        run.body
            .outputs
            .insert(step.as_str().to_owned(), output.clone());
    }
}

/// The step's notices, then its timers; a scheduled deescalation says when access ends.
fn schedule(run: &mut RunRecord, facts: &StepFacts<'_>) -> Vec<NewJob> {
    let change = facts.change;
    let mut schedule = if facts.notify {
        let notices = notice::after_step(change.step, change.notify);
        notice_jobs(&run.id, notices, facts.now, facts.owner)
    } else {
        Vec::new()
    };
    schedule.extend(
        change
            .schedule
            .iter()
            .map(|timer| timer_job(&run.id, *timer, facts.now, facts.owner)),
    );
    let expiry = Task::Step(Trigger::Deescalate {
        cause: DeescalateCause::Expiry,
    });
    if let Some(deescalate) = schedule.iter().find(|job| job.task == expiry) {
        run.body.access_until = Some(deescalate.due_at);
    }
    schedule
}

/// The step's audit entry (`from` is `None` for a new run), and the notification's.
fn step_entries(run: &RunRecord, facts: &StepFacts<'_>, from: Option<RunStatus>) -> Vec<NewEvent> {
    let change = facts.change;
    let mut events = vec![NewEvent::run(
        &run.id,
        EventKind::Step(change.step),
        Some(facts.actor),
        json!({
            "trigger": facts.trigger,
            "from": from,
            "status": run.status,
            "reason": run.body.reason,
            "output": facts.output,
            // Which process fired a timer, for following a run across replicas.
            "worker": facts.fired.then_some(facts.owner),
        }),
    )];
    if let Some(index) = change.notify
        && let Some(notification) = run.body.notifications.get(index as usize)
    {
        events.push(NewEvent::run(
            &run.id,
            EventKind::Notify,
            None,
            json!({ "notification": index, "destinations": notification.destinations, "timeout": notification.timeout }),
        ));
    }
    events
}

#[cfg(test)]
mod tests {
    use assent_engine::{FlowPlan, Notice, transition};
    use assent_store::RunBody;
    use assent_types::{Destination, Notification, Role, Step};

    use super::*;

    const NOW: i64 = 1_000_000;

    fn ann() -> User {
        User {
            id: "u-ann".into(),
            email: "ann@example.com".into(),
            role: Role::Member,
            ..User::default()
        }
    }

    fn run(version: i64, status: RunStatus, plan: FlowPlan) -> RunRecord {
        RunRecord {
            id: "r1".into(),
            org_id: "o1".into(),
            flow_id: "f1".into(),
            flow_name: "prod".into(),
            requester_id: "u-ann".into(),
            status,
            notification: 0,
            version,
            body: RunBody {
                requester: ann(),
                plan,
                notifications: vec![Notification {
                    destinations: vec![Destination::SlackChannel("#access".into())],
                    timeout: Some(60),
                }],
                reason: Some("deploy".into()),
                ..RunBody::default()
            },
            created_at: 0,
            updated_at: 0,
        }
    }

    fn facts<'a>(change: &'a Transition, trigger: Trigger, actor: &'a User) -> StepFacts<'a> {
        StepFacts {
            change,
            trigger,
            actor,
            reason: None,
            output: None,
            now: NOW,
            owner: "worker-1",
            notify: true,
            fired: false,
        }
    }

    fn plan() -> FlowPlan {
        FlowPlan {
            notification_timeouts: vec![Some(60)],
            request_timeout: Some(3600),
            access_duration: Some(1800),
            schedule_deescalation: true,
            has_strategy: true,
        }
    }

    fn tasks(applied: &Applied) -> Vec<(Task, i64, bool)> {
        applied
            .schedule
            .iter()
            .map(|job| (job.task.clone(), job.due_at, job.leased_to.is_some()))
            .collect()
    }

    #[test]
    fn a_new_request_is_inserted_with_its_notice_and_timers() {
        let requested = run(0, RunStatus::Requested, plan());
        let change = transition(None, Step::Request, &plan()).unwrap();
        let actor = ann();
        let applied = apply(
            requested,
            facts(&change, Trigger::Request, &actor),
            Vec::new(),
        );

        assert!(matches!(applied.write, RunWrite::Insert(ref run) if run.version == 1));
        assert_eq!(applied.run.status, RunStatus::Requested);
        assert_eq!(applied.run.body.acted_at[&Step::Request], NOW);
        assert_eq!(
            tasks(&applied),
            vec![
                // The notice is this process's to deliver straight after the commit.
                (Task::Notice(Notice::Request { notification: 0 }), NOW, true),
                // Timers are any worker's.
                (
                    Task::Step(Trigger::NotificationTimeout { notification: 0 }),
                    NOW + 60_000,
                    false
                ),
                (Task::Step(Trigger::RequestTimeout), NOW + 3_600_000, false),
            ]
        );
        let kinds: Vec<&str> = applied.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["request", "notify"]);
        assert_eq!(applied.events[0].data["from"], Value::Null);
        assert_eq!(applied.events[0].data["worker"], Value::Null);
        assert_eq!(applied.events[1].data["notification"], 0);
    }

    #[test]
    fn an_approval_updates_the_run_and_queues_the_escalation_for_this_process() {
        let requested = run(1, RunStatus::Requested, plan());
        let position = requested.position();
        let change = transition(Some(position), Step::Approve, &plan()).unwrap();
        let bob = User {
            id: "u-bob".into(),
            ..ann()
        };
        let mut facts = facts(&change, Trigger::Approve, &bob);
        facts.reason = Some("looks fine".into());
        let hook = NewEvent::run("r1", EventKind::Hook, Some(&bob), json!({}));
        let applied = apply(requested, facts, vec![hook]);

        assert!(matches!(applied.write, RunWrite::Update(ref run) if run.version == 2));
        assert_eq!(applied.run.status, RunStatus::Approved);
        assert_eq!(applied.run.body.reason.as_deref(), Some("looks fine"));
        assert_eq!(applied.run.body.run.actors[&Step::Approve].id, "u-bob");
        assert_eq!(
            applied.run.body.run.contexts[&Step::Approve],
            json!({ "reason": "looks fine" })
        );
        assert_eq!(
            tasks(&applied),
            vec![
                (
                    Task::Notice(Notice::Moved {
                        step: Step::Approve
                    }),
                    NOW,
                    true
                ),
                (Task::Step(Trigger::Escalate), NOW, true),
            ]
        );
        let kinds: Vec<&str> = applied.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["hook", "approve"]);
        assert_eq!(applied.events[1].data["from"], "requested");
        assert_eq!(applied.events[1].data["status"], "approved");
    }

    #[test]
    fn an_escalation_keeps_the_reason_records_the_output_and_sets_when_access_ends() {
        let approved = run(2, RunStatus::Approved, plan());
        let change = transition(Some(approved.position()), Step::Escalate, &plan()).unwrap();
        let actor = ann();
        let mut facts = facts(&change, Trigger::Escalate, &actor);
        facts.output = Some(json!({ "granted": "prod-admins" }));
        facts.fired = true;
        let applied = apply(approved, facts, Vec::new());

        assert_eq!(applied.run.status, RunStatus::Escalated);
        assert_eq!(applied.run.body.reason.as_deref(), Some("deploy"));
        assert_eq!(
            applied.run.body.outputs["escalate"],
            json!({ "granted": "prod-admins" })
        );
        assert_eq!(applied.run.body.access_until, Some(NOW + 1_800_000));
        let step = &applied.events[0];
        assert_eq!(step.data["output"], json!({ "granted": "prod-admins" }));
        assert_eq!(step.data["worker"], "worker-1");
    }

    #[test]
    fn without_a_notifier_a_step_schedules_no_notices() {
        let requested = run(1, RunStatus::Requested, plan());
        let change = transition(Some(requested.position()), Step::Deny, &plan()).unwrap();
        let actor = ann();
        let mut facts = facts(&change, Trigger::Deny, &actor);
        facts.notify = false;
        let applied = apply(requested, facts, Vec::new());
        assert_eq!(applied.run.status, RunStatus::Denied);
        assert!(applied.schedule.is_empty());
        assert!(change.cancel_timers, "a denial drops the request's timers");
    }
}
