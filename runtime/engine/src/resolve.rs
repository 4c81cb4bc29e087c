//! The `on_<step>` hooks' say over the step a trigger attempts.
//!
//! Rules (the runtime consults hooks through a [`Resolver`]; these hold for any hook answers):
//! - a hook may let its step proceed, ignore the incoming event (nothing happens; its message
//!   goes to whoever caused the event), or redirect to another step;
//! - a redirect must be a step the run can take from where it is ([`reachable`]), so
//!   transitions only move forward; anything else is the plugin's mistake ([`BadRedirect`]);
//! - a redirect consults the new step's hook in turn, but every hook runs at most once per
//!   trigger: a hook that returns its own step proceeds, and a redirect back to a step whose
//!   hook already ran takes that step without asking again — so resolution always ends, after
//!   at most one hook per step;
//! - when a hook ignores a step that an `on_request` redirect led to (auto-approval refused by
//!   `on_approve`, say), the request itself still goes ahead.

use assent_types::{HookOutcome, Step};
use serde::Serialize;
use thiserror::Error;

use crate::RunStatus;

/// Where the hooks sent the trigger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "resolution", rename_all = "snake_case")]
pub enum Resolution {
    /// Take `step`; `reason` is the redirecting hook's, if one redirected.
    Take { step: Step, reason: Option<String> },
    /// Nothing happens; `message` goes to the user who caused the event.
    Ignore { step: Step, message: Option<String> },
}

/// One hook's answer, kept for the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HookDecision {
    /// The step whose `on_` hook answered.
    pub hook: Step,
    pub outcome: HookOutcome,
}

/// A hook redirected to a step the run cannot take from where it is.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error(
    "hook `on_{hook}` returned `{to}`, but a run that is {from} can only move to: {}",
    allowed(*from)
)]
pub struct BadRedirect {
    pub hook: Step,
    pub to: Step,
    /// `new` for a run that does not exist yet.
    pub from: Origin,
}

/// The state a run resolves a step from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The run is being requested.
    New,
    Run(RunStatus),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::New => f.write_str("new"),
            Origin::Run(status) => status.fmt(f),
        }
    }
}

fn allowed(from: Origin) -> String {
    let steps = reachable(from);
    if steps.is_empty() {
        return "nothing (it is finished)".to_owned();
    }
    steps
        .iter()
        .map(|step| step.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The steps a hook may redirect to from `from`.
pub fn reachable(from: Origin) -> &'static [Step] {
    match from {
        Origin::New => &[Step::Request, Step::Approve, Step::Deny],
        Origin::Run(RunStatus::Requested) => &[Step::Approve, Step::Deny, Step::RequestExpire],
        Origin::Run(RunStatus::Approved) => &[Step::Escalate],
        Origin::Run(RunStatus::Escalated) => &[Step::Deescalate],
        Origin::Run(_) => &[],
    }
}

/// Consults hooks one at a time until the step to take is known.
///
/// ```
/// # use assent_engine::{Resolver, Resolution, resolve::Origin};
/// # use assent_types::{HookOutcome, Step};
/// let mut resolver = Resolver::new(Origin::New, Step::Request);
/// while let Some(step) = resolver.next_hook() {
///     // The runtime calls the plugin's `on_<step>` here (or feeds `Proceed` if it has none).
///     let outcome = match step {
///         Step::Request => HookOutcome::Approve(Some("Auto-approved!".into())),
///         _ => HookOutcome::Proceed,
///     };
///     resolver.feed(outcome).unwrap();
/// }
/// assert_eq!(
///     resolver.resolution(),
///     Resolution::Take { step: Step::Approve, reason: Some("Auto-approved!".into()) }
/// );
/// ```
#[derive(Debug, Clone)]
pub struct Resolver {
    from: Origin,
    /// The step the trigger attempted.
    origin: Step,
    /// The step being considered.
    current: Step,
    reason: Option<String>,
    trail: Vec<HookDecision>,
    done: Option<Resolution>,
}

impl Resolver {
    pub fn new(from: Origin, step: Step) -> Resolver {
        Resolver {
            from,
            origin: step,
            current: step,
            reason: None,
            trail: Vec::new(),
            done: None,
        }
    }

    /// The step whose `on_` hook to consult next; `None` once resolved.
    pub fn next_hook(&self) -> Option<Step> {
        match self.done {
            Some(_) => None,
            None => Some(self.current),
        }
    }

    fn visited(&self, step: Step) -> bool {
        self.trail.iter().any(|decision| decision.hook == step)
    }

    fn take(&mut self, step: Step, reason: Option<String>) {
        self.done = Some(Resolution::Take { step, reason });
    }

    /// Gives the pending hook's answer. A plugin without that hook answers `Proceed`.
    pub fn feed(&mut self, outcome: HookOutcome) -> Result<(), BadRedirect> {
        if self.done.is_some() {
            return Ok(());
        }
        let hook = self.current;
        self.trail.push(HookDecision {
            hook,
            outcome: outcome.clone(),
        });
        let (to, reason) = match outcome {
            HookOutcome::Proceed => {
                let reason = self.reason.take();
                self.take(hook, reason);
                return Ok(());
            }
            HookOutcome::Ignore(message) => {
                if self.origin == Step::Request && hook != Step::Request {
                    self.take(Step::Request, None);
                } else {
                    self.done = Some(Resolution::Ignore {
                        step: hook,
                        message,
                    });
                }
                return Ok(());
            }
            HookOutcome::Approve(reason) => (Step::Approve, reason),
            HookOutcome::Deny(reason) => (Step::Deny, reason),
            HookOutcome::Request(reason) => (Step::Request, reason),
            HookOutcome::Escalate(reason) => (Step::Escalate, reason),
            HookOutcome::Deescalate(reason) => (Step::Deescalate, reason),
        };
        let reason = reason.or_else(|| self.reason.take());
        if to == hook {
            self.take(hook, reason);
        } else if !reachable(self.from).contains(&to) {
            return Err(BadRedirect {
                hook,
                to,
                from: self.from,
            });
        } else if self.visited(to) {
            self.take(to, reason);
        } else {
            self.current = to;
            self.reason = reason;
        }
        Ok(())
    }

    /// Every hook answer so far, in order.
    pub fn trail(&self) -> &[HookDecision] {
        &self.trail
    }

    /// The outcome. Called before every hook has answered, the hooks not yet asked count as
    /// `Proceed`.
    pub fn resolution(&self) -> Resolution {
        match &self.done {
            Some(resolution) => resolution.clone(),
            None => Resolution::Take {
                step: self.current,
                reason: self.reason.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_outcome() -> Vec<HookOutcome> {
        let reason = || Some("because".to_owned());
        vec![
            HookOutcome::Proceed,
            HookOutcome::Approve(reason()),
            HookOutcome::Deny(reason()),
            HookOutcome::Ignore(reason()),
            HookOutcome::Request(reason()),
            HookOutcome::Escalate(reason()),
            HookOutcome::Deescalate(reason()),
            HookOutcome::Approve(None),
            HookOutcome::Ignore(None),
        ]
    }

    fn redirect_target(outcome: &HookOutcome) -> Option<Step> {
        match outcome {
            HookOutcome::Proceed | HookOutcome::Ignore(_) => None,
            HookOutcome::Approve(_) => Some(Step::Approve),
            HookOutcome::Deny(_) => Some(Step::Deny),
            HookOutcome::Request(_) => Some(Step::Request),
            HookOutcome::Escalate(_) => Some(Step::Escalate),
            HookOutcome::Deescalate(_) => Some(Step::Deescalate),
        }
    }

    fn every_origin() -> Vec<Origin> {
        std::iter::once(Origin::New)
            .chain(RunStatus::ALL.into_iter().map(Origin::Run))
            .collect()
    }

    /// The step each origin's triggers attempt (see `trigger::attempt`).
    fn attempted(from: Origin) -> Vec<Step> {
        match from {
            Origin::New => vec![Step::Request],
            Origin::Run(RunStatus::Requested) => vec![
                Step::Approve,
                Step::Deny,
                Step::RequestForward,
                Step::RequestExpire,
            ],
            Origin::Run(RunStatus::Approved) => vec![Step::Escalate],
            Origin::Run(RunStatus::Escalated) => vec![Step::Deescalate],
            Origin::Run(_) => vec![],
        }
    }

    /// Drives a resolver with a plugin whose every hook answers from `answers` by step.
    fn drive(
        from: Origin,
        step: Step,
        answer: impl Fn(Step) -> HookOutcome,
    ) -> (Result<Resolution, BadRedirect>, Vec<HookDecision>) {
        let mut resolver = Resolver::new(from, step);
        let mut calls = 0;
        while let Some(hook) = resolver.next_hook() {
            calls += 1;
            assert!(calls <= Step::ALL.len(), "resolution did not end");
            if let Err(error) = resolver.feed(answer(hook)) {
                return (Err(error), resolver.trail().to_vec());
            }
        }
        (Ok(resolver.resolution()), resolver.trail().to_vec())
    }

    /// Every (state, attempted step, first hook outcome), with every later hook proceeding.
    #[test]
    fn every_state_step_and_outcome() {
        for from in every_origin() {
            for step in attempted(from) {
                for outcome in every_outcome() {
                    let first = outcome.clone();
                    let (result, trail) = drive(from, step, |hook| {
                        if hook == step {
                            first.clone()
                        } else {
                            HookOutcome::Proceed
                        }
                    });
                    let context = format!("{from} / {step} / {outcome:?}");
                    assert_eq!(trail[0].hook, step, "{context}");
                    match (&outcome, redirect_target(&outcome)) {
                        (HookOutcome::Proceed, _) => {
                            assert_eq!(
                                result,
                                Ok(Resolution::Take { step, reason: None }),
                                "{context}"
                            );
                            assert_eq!(trail.len(), 1);
                        }
                        (HookOutcome::Ignore(message), _) => {
                            assert_eq!(
                                result,
                                Ok(Resolution::Ignore {
                                    step,
                                    message: message.clone()
                                }),
                                "{context}"
                            );
                        }
                        (_, Some(to)) if to == step => {
                            assert!(
                                matches!(result, Ok(Resolution::Take { step: taken, .. }) if taken == step),
                                "{context}: own step proceeds: {result:?}"
                            );
                            assert_eq!(trail.len(), 1, "{context}: own step is not re-asked");
                        }
                        (_, Some(to)) if reachable(from).contains(&to) => {
                            let reason = match &outcome {
                                HookOutcome::Approve(reason) | HookOutcome::Deny(reason) => {
                                    reason.clone()
                                }
                                _ => Some("because".to_owned()),
                            };
                            assert_eq!(
                                result,
                                Ok(Resolution::Take { step: to, reason }),
                                "{context}"
                            );
                            assert_eq!(trail.len(), 2, "{context}: the new step's hook is asked");
                            assert_eq!(trail[1].hook, to);
                        }
                        (_, Some(to)) => {
                            assert_eq!(
                                result,
                                Err(BadRedirect {
                                    hook: step,
                                    to,
                                    from
                                }),
                                "{context}"
                            );
                        }
                        (_, None) => unreachable!(),
                    }
                    // Whatever the answer, a taken step is one the run can reach (or the step
                    // the trigger attempted).
                    if let Ok(Resolution::Take { step: taken, .. }) = &result {
                        assert!(
                            *taken == step || reachable(from).contains(taken),
                            "{context}: took {taken}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn hooks_that_send_each_other_back_and_forth_end() {
        let (result, trail) =
            drive(
                Origin::Run(RunStatus::Requested),
                Step::Approve,
                |hook| match hook {
                    Step::Approve => HookOutcome::Deny(Some("no".into())),
                    _ => HookOutcome::Approve(Some("yes".into())),
                },
            );
        assert_eq!(
            result,
            Ok(Resolution::Take {
                step: Step::Approve,
                reason: Some("yes".into())
            })
        );
        assert_eq!(trail.len(), 2);
    }

    #[test]
    fn auto_approve_from_on_request_runs_on_approve() {
        let (result, trail) = drive(Origin::New, Step::Request, |hook| match hook {
            Step::Request => HookOutcome::Approve(Some("Auto-approved!".into())),
            _ => HookOutcome::Proceed,
        });
        assert_eq!(
            result,
            Ok(Resolution::Take {
                step: Step::Approve,
                reason: Some("Auto-approved!".into())
            })
        );
        assert_eq!(
            trail
                .iter()
                .map(|decision| decision.hook)
                .collect::<Vec<_>>(),
            [Step::Request, Step::Approve]
        );
    }

    #[test]
    fn a_refused_auto_approval_still_makes_the_request() {
        let (result, _) = drive(Origin::New, Step::Request, |hook| match hook {
            Step::Request => HookOutcome::Approve(None),
            _ => HookOutcome::Ignore(Some("not on the safelist".into())),
        });
        assert_eq!(
            result,
            Ok(Resolution::Take {
                step: Step::Request,
                reason: None
            })
        );
    }

    #[test]
    fn ignore_on_approve_leaves_the_request_pending() {
        let (result, _) = drive(Origin::Run(RunStatus::Requested), Step::Approve, |_| {
            HookOutcome::Ignore(Some("you may not approve this".into()))
        });
        assert_eq!(
            result,
            Ok(Resolution::Ignore {
                step: Step::Approve,
                message: Some("you may not approve this".into())
            })
        );
    }

    #[test]
    fn a_backwards_redirect_names_what_is_allowed() {
        let (result, _) = drive(Origin::Run(RunStatus::Escalated), Step::Deescalate, |_| {
            HookOutcome::Request(None)
        });
        let error = result.unwrap_err();
        assert_eq!(
            error.to_string(),
            "hook `on_deescalate` returned `request`, but a run that is escalated can only move to: deescalate"
        );
    }
}
