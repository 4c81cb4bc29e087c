//! What taking a step changes about a run, and what it schedules.

use assent_types::Step;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::RunStatus;
use crate::trigger::Position;

/// The facts about a flow and a request that decide what each step schedules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowPlan {
    /// The timeout of each notification, in the order they go out (`None`: wait for ever).
    pub notification_timeouts: Vec<Option<u64>>,
    /// Expire the whole request after this many seconds (from `get_timeout`).
    pub request_timeout: Option<u64>,
    /// How long access lasts once granted, in seconds (the request's `duration` field).
    pub access_duration: Option<u64>,
    /// Take access away by itself when `access_duration` ends.
    pub schedule_deescalation: bool,
    /// The flow has an access strategy to call on escalate and deescalate.
    pub has_strategy: bool,
}

/// Something to do later, stored durably and fired at most once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "timer", rename_all = "snake_case")]
pub enum Timer {
    /// Forward (or expire) when notification `notification` is unanswered `after` seconds.
    NotificationTimeout { notification: u32, after: u64 },
    /// Expire the request `after` seconds from now.
    RequestTimeout { after: u64 },
    /// Escalate now, in its own transaction, so an approval survives a crash before access
    /// is granted.
    Escalate,
    /// Take access away `after` seconds from now.
    Deescalate { after: u64 },
}

/// Which strategy handler the step calls, before the new state is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StrategyCall {
    Escalate,
    Deescalate,
}

/// The effect of one step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transition {
    pub step: Step,
    pub status: RunStatus,
    /// The notification out after the step.
    pub notification: u32,
    /// Deliver this notification (an index) now.
    pub notify: Option<u32>,
    /// Drop the run's pending timers: the run has moved past what they were waiting for.
    pub cancel_timers: bool,
    pub schedule: Vec<Timer>,
    pub strategy: Option<StrategyCall>,
}

/// `prompt` happens in the request form, before there is a run.
#[derive(Debug, Clone, Copy, Error, PartialEq, Eq)]
#[error("`{0}` is not a step a run takes")]
pub struct NotARunStep(pub Step);

/// The transition for taking `step` from `from` (`None` for a new run).
///
/// Callers take only steps that [`crate::attempt`] and the [`crate::Resolver`] chose, so the
/// step is always one the run can reach.
pub fn transition(
    from: Option<Position>,
    step: Step,
    plan: &FlowPlan,
) -> Result<Transition, NotARunStep> {
    let current = from.map_or(0, |position| position.notification);
    let timeout_of = |notification: u32| {
        plan.notification_timeouts
            .get(notification as usize)
            .copied()
            .flatten()
            .map(|after| Timer::NotificationTimeout {
                notification,
                after,
            })
    };
    let finished = |status| Transition {
        step,
        status,
        notification: current,
        notify: None,
        cancel_timers: true,
        schedule: Vec::new(),
        strategy: None,
    };
    let transition = match step {
        Step::Prompt => return Err(NotARunStep(step)),
        Step::Request => Transition {
            step,
            status: RunStatus::Requested,
            notification: 0,
            notify: (!plan.notification_timeouts.is_empty()).then_some(0),
            cancel_timers: false,
            schedule: timeout_of(0)
                .into_iter()
                .chain(
                    plan.request_timeout
                        .map(|after| Timer::RequestTimeout { after }),
                )
                .collect(),
            strategy: None,
        },
        Step::RequestForward => {
            let next = current.saturating_add(1);
            Transition {
                step,
                status: RunStatus::Requested,
                notification: next,
                notify: Some(next),
                cancel_timers: false,
                schedule: timeout_of(next).into_iter().collect(),
                strategy: None,
            }
        }
        Step::RequestExpire => finished(RunStatus::Expired),
        Step::Deny => finished(RunStatus::Denied),
        Step::Approve => Transition {
            schedule: vec![Timer::Escalate],
            ..finished(RunStatus::Approved)
        },
        Step::Escalate => Transition {
            step,
            status: RunStatus::Escalated,
            notification: current,
            notify: None,
            cancel_timers: false,
            schedule: plan
                .access_duration
                .filter(|_| plan.schedule_deescalation)
                .map(|after| Timer::Deescalate { after })
                .into_iter()
                .collect(),
            strategy: plan.has_strategy.then_some(StrategyCall::Escalate),
        },
        Step::Deescalate => Transition {
            strategy: plan.has_strategy.then_some(StrategyCall::Deescalate),
            ..finished(RunStatus::Deescalated)
        },
    };
    Ok(transition)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> FlowPlan {
        FlowPlan {
            notification_timeouts: vec![Some(60), None, Some(30)],
            request_timeout: Some(3600),
            access_duration: Some(900),
            schedule_deescalation: true,
            has_strategy: true,
        }
    }

    fn at(status: RunStatus, notification: u32) -> Option<Position> {
        Some(Position {
            status,
            notification,
            notifications: 3,
        })
    }

    #[test]
    fn a_request_sends_the_first_notification_and_starts_its_clocks() {
        let request = transition(None, Step::Request, &plan()).unwrap();
        assert_eq!(request.status, RunStatus::Requested);
        assert_eq!(request.notify, Some(0));
        assert_eq!(
            request.schedule,
            [
                Timer::NotificationTimeout {
                    notification: 0,
                    after: 60
                },
                Timer::RequestTimeout { after: 3600 }
            ]
        );
    }

    #[test]
    fn a_request_without_notifications_sends_none() {
        let request = transition(None, Step::Request, &FlowPlan::default()).unwrap();
        assert_eq!(request.notify, None);
        assert!(request.schedule.is_empty());
    }

    #[test]
    fn forwarding_moves_to_the_next_notification() {
        let forward =
            transition(at(RunStatus::Requested, 0), Step::RequestForward, &plan()).unwrap();
        assert_eq!((forward.notification, forward.notify), (1, Some(1)));
        assert!(
            forward.schedule.is_empty(),
            "the second notification waits for ever"
        );
        let forward =
            transition(at(RunStatus::Requested, 1), Step::RequestForward, &plan()).unwrap();
        assert_eq!(
            forward.schedule,
            [Timer::NotificationTimeout {
                notification: 2,
                after: 30
            }]
        );
    }

    #[test]
    fn approval_queues_escalation_and_drops_the_request_clocks() {
        let approve = transition(at(RunStatus::Requested, 1), Step::Approve, &plan()).unwrap();
        assert_eq!(approve.status, RunStatus::Approved);
        assert!(approve.cancel_timers);
        assert_eq!(approve.schedule, [Timer::Escalate]);
        assert_eq!(approve.strategy, None);
    }

    #[test]
    fn escalation_grants_and_schedules_deescalation() {
        let escalate = transition(at(RunStatus::Approved, 0), Step::Escalate, &plan()).unwrap();
        assert_eq!(escalate.strategy, Some(StrategyCall::Escalate));
        assert_eq!(escalate.schedule, [Timer::Deescalate { after: 900 }]);

        let unscheduled = FlowPlan {
            schedule_deescalation: false,
            ..plan()
        };
        let escalate =
            transition(at(RunStatus::Approved, 0), Step::Escalate, &unscheduled).unwrap();
        assert!(escalate.schedule.is_empty());

        let without_strategy = FlowPlan {
            has_strategy: false,
            ..plan()
        };
        let escalate = transition(
            at(RunStatus::Approved, 0),
            Step::Escalate,
            &without_strategy,
        )
        .unwrap();
        assert_eq!(escalate.strategy, None);
    }

    #[test]
    fn every_step_lands_in_its_status() {
        let expected = [
            (Step::Request, RunStatus::Requested),
            (Step::RequestForward, RunStatus::Requested),
            (Step::Approve, RunStatus::Approved),
            (Step::Deny, RunStatus::Denied),
            (Step::RequestExpire, RunStatus::Expired),
            (Step::Escalate, RunStatus::Escalated),
            (Step::Deescalate, RunStatus::Deescalated),
        ];
        for (step, status) in expected {
            let result = transition(at(RunStatus::Requested, 0), step, &plan()).unwrap();
            assert_eq!(result.status, status, "{step}");
            assert_eq!(
                result.cancel_timers,
                status.is_terminal() || status == RunStatus::Approved
            );
            assert_eq!(
                result.strategy.is_some(),
                matches!(step, Step::Escalate | Step::Deescalate),
                "{step}"
            );
        }
        assert_eq!(
            transition(None, Step::Prompt, &plan()),
            Err(NotARunStep(Step::Prompt))
        );
    }
}
