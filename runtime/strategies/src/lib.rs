//! The host's own access strategies (Sym's built-in `sym_strategy` types): access granted at
//! escalation and taken back at deescalation by Assent itself, through one integration of the
//! flow's environment, with no plugin to write.
//!
//! - `okta`: the requester joins the target's Okta group, and leaves it again;
//! - `github`: the requester becomes a collaborator of the target's repository, and stops;
//! - `aws_lambda`: the target's Lambda function is invoked with Sym's event;
//! - `aws_sso`: the requester is assigned the target's permission set in an AWS account;
//! - `aws_iam`: the requester's IAM user joins the target's IAM group, and leaves it;
//! - `webhook`: the run is POSTed, HMAC-signed, to the target's URL on an `http` integration;
//! - `sym_event`: the event Sym's Lambda strategy sends, and the answer it reads;
//! - `retry`: a passing failure (a timeout, 5xx, 429) is tried again a few times at once.
//!
//! Invariants: both directions are idempotent — granting what is granted and taking back
//! what is gone succeed — so a step retried after a crash or an outage changes the provider
//! once. A failure says whether it may pass ([`StrategyError::is_transient`]), so the runner
//! knows whether to try again later or to stop the run with the provider's own words.

mod aws_iam;
mod aws_lambda;
mod aws_sso;
mod github;
mod okta;
mod retry;
mod sym_event;
mod webhook;

use assent_integrations::{CallRecord, Connection, Failure, FailureKind};
use assent_outbound::Outbound;
use assent_types::{Event, StrategyType, Target};
use serde_json::Value;
use thiserror::Error;

/// Which way access moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// `escalate`: grant the access.
    Grant,
    /// `deescalate`: take it back.
    Revoke,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Grant => "escalate",
            Change::Revoke => "deescalate",
        }
    }
}

/// What a strategy acts on: the run's event (its requester is the person access is for) and
/// the target chosen.
#[derive(Debug, Clone, Copy)]
pub struct Grant<'a> {
    pub event: &'a Event,
    pub target: &'a Target,
}

/// Why a built-in strategy could not grant or take back access.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum StrategyError {
    #[error(transparent)]
    Integration(Failure),
    #[error(
        "target `{target}` has no setting `{setting}`, which the `{strategy_type}` strategy needs; set it in the flow's `params.targets`"
    )]
    MissingSetting {
        target: String,
        setting: &'static str,
        strategy_type: StrategyType,
    },
    #[error(
        "`{user}` has no `{service}` identity, so there is nobody to grant access to; add it with PUT /api/v1/users/{user} (`identities`: [{{\"service\": \"{service}\", \"external_id\": …}}])"
    )]
    NoIdentity { user: String, service: &'static str },
    #[error("{by} answered with errors: {errors}")]
    Refused { by: String, errors: String },
    #[error(
        "Assent does not run the `{0}` strategy yet; grant access with a `custom` strategy plugin meanwhile"
    )]
    NotProvided(StrategyType),
}

impl StrategyError {
    /// Whether trying again later may succeed: the provider timed out, could not be reached,
    /// or answered 5xx or 429. Anything else needs a person to change something.
    pub fn is_transient(&self) -> bool {
        match self {
            StrategyError::Integration(failure) => matches!(
                failure.kind(),
                FailureKind::Timeout | FailureKind::Unavailable
            ),
            _ => false,
        }
    }
}

impl From<Failure> for StrategyError {
    fn from(failure: Failure) -> StrategyError {
        StrategyError::Integration(failure)
    }
}

/// Whether the host runs strategies of `strategy_type`.
pub fn provides(strategy_type: StrategyType) -> bool {
    matches!(
        strategy_type,
        StrategyType::Okta
            | StrategyType::Github
            | StrategyType::AwsSso
            | StrategyType::AwsIam
            | StrategyType::AwsLambda
            | StrategyType::Http
    )
}

/// Grants or takes back access with a `strategy_type` strategy through `connection`.
/// Answers the step's output (Sym's `get_step_output`); every request made is pushed to
/// `records`, failed ones included.
pub async fn run(
    outbound: &Outbound,
    connection: &Connection,
    strategy_type: StrategyType,
    change: Change,
    grant: Grant<'_>,
    records: &mut Vec<CallRecord>,
) -> Result<Value, StrategyError> {
    let mut tried = 0;
    loop {
        tried += 1;
        let outcome = match strategy_type {
            StrategyType::Okta => okta::run(outbound, connection, change, grant, records).await,
            StrategyType::Github => github::run(outbound, connection, change, grant, records).await,
            StrategyType::AwsLambda => {
                aws_lambda::run(outbound, connection, change, grant, records).await
            }
            StrategyType::AwsSso => {
                aws_sso::run(outbound, connection, change, grant, records).await
            }
            StrategyType::AwsIam => {
                aws_iam::run(outbound, connection, change, grant, records).await
            }
            StrategyType::Http => webhook::run(outbound, connection, change, grant, records).await,
            other => Err(StrategyError::NotProvided(other)),
        };
        match outcome {
            Err(error) => match retry::again(&error, tried) {
                Some(wait) => tokio::time::sleep(wait).await,
                None => return Err(error),
            },
            done => return done,
        }
    }
}

/// The target's `setting`, which `strategy_type` needs.
fn setting<'a>(
    grant: Grant<'a>,
    setting: &'static str,
    strategy_type: StrategyType,
) -> Result<&'a str, StrategyError> {
    grant
        .target
        .settings
        .get(setting)
        .map(String::as_str)
        .filter(|value| !value.trim().is_empty())
        .ok_or_else(|| StrategyError::MissingSetting {
            target: grant.target.name.clone(),
            setting,
            strategy_type,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terraform_carries_over_the_sym_strategies_assent_runs() {
        // `http` is Assent's own; Sym has no such strategy type.
        let provided: Vec<&str> = StrategyType::ALL
            .iter()
            .filter(|kind| provides(**kind) && **kind != StrategyType::Http)
            .map(|kind| kind.as_str())
            .collect();
        assert_eq!(provided, assent_terraform::BUILT_IN_STRATEGIES);
    }
}
