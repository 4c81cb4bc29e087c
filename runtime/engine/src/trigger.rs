//! Something happened to a run (a click, a timer, an API call): which step does it attempt?

use assent_types::Step;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::RunStatus;

/// What set a run in motion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "trigger", rename_all = "snake_case")]
pub enum Trigger {
    /// Someone asks for access; this creates the run.
    Request,
    Approve,
    Deny,
    /// Notification `notification` (an index into the request's notifications) went
    /// unanswered for its timeout.
    NotificationTimeout {
        notification: u32,
    },
    /// Notification `notification` could not be delivered to any of its destinations.
    DeliveryFailed {
        notification: u32,
    },
    /// The request as a whole timed out (`get_timeout`).
    RequestTimeout,
    /// Queued when the run is approved.
    Escalate,
    Deescalate {
        cause: DeescalateCause,
    },
}

/// Why access is being taken away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeescalateCause {
    /// The requested duration ended.
    Expiry,
    /// Someone clicked Revoke (or called the revoke endpoint).
    Revoke,
    /// `POST /events/deescalate`.
    Api,
}

impl Trigger {
    /// Timers and queued jobs fire on their own; a stale one is dropped, not refused.
    pub fn is_scheduled(self) -> bool {
        matches!(
            self,
            Trigger::NotificationTimeout { .. }
                | Trigger::DeliveryFailed { .. }
                | Trigger::RequestTimeout
                | Trigger::Escalate
                | Trigger::Deescalate {
                    cause: DeescalateCause::Expiry
                }
        )
    }
}

/// Where a run stands, as far as choosing its next step goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub status: RunStatus,
    /// The notification currently out (an index).
    pub notification: u32,
    /// How many notifications the request has in all.
    pub notifications: u32,
}

/// A trigger that cannot happen in the run's state. Shown to the person who caused it.
#[derive(Debug, Clone, Copy, Error, PartialEq, Eq)]
pub enum Rejection {
    #[error("the run already exists")]
    AlreadyRequested,
    #[error("there is no such run")]
    NoRun,
    #[error("the request is {status}, so it can no longer be approved or denied")]
    NotPending { status: RunStatus },
    #[error("access is not granted (the run is {status}), so there is nothing to revoke")]
    NotEscalated { status: RunStatus },
}

/// The step `trigger` attempts from `position` (`None`: the run does not exist yet).
///
/// `Ok(None)` means a scheduled trigger arrived after the run moved on (a timeout for a
/// notification that was already forwarded, say): it is dropped. Triggers people cause are
/// refused with a [`Rejection`] instead, so they learn why nothing happened.
pub fn attempt(position: Option<Position>, trigger: Trigger) -> Result<Option<Step>, Rejection> {
    let Some(position) = position else {
        return match trigger {
            Trigger::Request => Ok(Some(Step::Request)),
            _ if trigger.is_scheduled() => Ok(None),
            _ => Err(Rejection::NoRun),
        };
    };
    let status = position.status;
    let step = match trigger {
        Trigger::Request => return Err(Rejection::AlreadyRequested),
        Trigger::Approve | Trigger::Deny if status != RunStatus::Requested => {
            return Err(Rejection::NotPending { status });
        }
        Trigger::Approve => Step::Approve,
        Trigger::Deny => Step::Deny,
        Trigger::NotificationTimeout { notification }
        | Trigger::DeliveryFailed { notification } => {
            if status != RunStatus::Requested || notification != position.notification {
                return Ok(None);
            }
            if notification.saturating_add(1) < position.notifications {
                Step::RequestForward
            } else {
                Step::RequestExpire
            }
        }
        Trigger::RequestTimeout if status == RunStatus::Requested => Step::RequestExpire,
        Trigger::Escalate if status == RunStatus::Approved => Step::Escalate,
        Trigger::Deescalate { .. } if status == RunStatus::Escalated => Step::Deescalate,
        Trigger::Deescalate {
            cause: DeescalateCause::Revoke | DeescalateCause::Api,
        } => return Err(Rejection::NotEscalated { status }),
        Trigger::RequestTimeout | Trigger::Escalate | Trigger::Deescalate { .. } => {
            return Ok(None);
        }
    };
    Ok(Some(step))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(status: RunStatus, notification: u32, notifications: u32) -> Option<Position> {
        Some(Position {
            status,
            notification,
            notifications,
        })
    }

    fn every_trigger() -> Vec<Trigger> {
        let mut triggers = vec![
            Trigger::Request,
            Trigger::Approve,
            Trigger::Deny,
            Trigger::RequestTimeout,
            Trigger::Escalate,
        ];
        for notification in 0..3 {
            triggers.push(Trigger::NotificationTimeout { notification });
            triggers.push(Trigger::DeliveryFailed { notification });
        }
        for cause in [
            DeescalateCause::Expiry,
            DeescalateCause::Revoke,
            DeescalateCause::Api,
        ] {
            triggers.push(Trigger::Deescalate { cause });
        }
        triggers
    }

    #[test]
    fn a_new_run_can_only_be_requested() {
        for trigger in every_trigger() {
            let result = attempt(None, trigger);
            match trigger {
                Trigger::Request => assert_eq!(result, Ok(Some(Step::Request))),
                _ if trigger.is_scheduled() => assert_eq!(result, Ok(None), "{trigger:?}"),
                _ => assert_eq!(result, Err(Rejection::NoRun), "{trigger:?}"),
            }
        }
    }

    #[test]
    fn every_state_and_trigger() {
        for status in RunStatus::ALL {
            for trigger in every_trigger() {
                let result = attempt(at(status, 1, 3), trigger);
                let expected = match (status, trigger) {
                    (_, Trigger::Request) => Err(Rejection::AlreadyRequested),
                    (RunStatus::Requested, Trigger::Approve) => Ok(Some(Step::Approve)),
                    (RunStatus::Requested, Trigger::Deny) => Ok(Some(Step::Deny)),
                    (_, Trigger::Approve | Trigger::Deny) => Err(Rejection::NotPending { status }),
                    (
                        RunStatus::Requested,
                        Trigger::NotificationTimeout { notification: 1 }
                        | Trigger::DeliveryFailed { notification: 1 },
                    ) => Ok(Some(Step::RequestForward)),
                    (RunStatus::Requested, Trigger::RequestTimeout) => {
                        Ok(Some(Step::RequestExpire))
                    }
                    (RunStatus::Approved, Trigger::Escalate) => Ok(Some(Step::Escalate)),
                    (RunStatus::Escalated, Trigger::Deescalate { .. }) => {
                        Ok(Some(Step::Deescalate))
                    }
                    (
                        _,
                        Trigger::Deescalate {
                            cause: DeescalateCause::Revoke | DeescalateCause::Api,
                        },
                    ) => Err(Rejection::NotEscalated { status }),
                    _ => Ok(None),
                };
                assert_eq!(result, expected, "{status} + {trigger:?}");
                if trigger.is_scheduled() {
                    assert!(result.is_ok(), "timers are never refused: {trigger:?}");
                }
            }
        }
    }

    #[test]
    fn the_last_notification_expires_the_request() {
        let last = at(RunStatus::Requested, 2, 3);
        for trigger in [
            Trigger::NotificationTimeout { notification: 2 },
            Trigger::DeliveryFailed { notification: 2 },
        ] {
            assert_eq!(attempt(last, trigger), Ok(Some(Step::RequestExpire)));
        }
        // A request with no notifications at all expires on its first timeout too.
        assert_eq!(
            attempt(
                at(RunStatus::Requested, 0, 0),
                Trigger::NotificationTimeout { notification: 0 }
            ),
            Ok(Some(Step::RequestExpire))
        );
    }

    #[test]
    fn a_timeout_for_an_earlier_notification_is_stale() {
        let second = at(RunStatus::Requested, 1, 3);
        assert_eq!(
            attempt(second, Trigger::NotificationTimeout { notification: 0 }),
            Ok(None)
        );
    }
}
