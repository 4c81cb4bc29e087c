//! Where a run is in its life.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The state of a run between steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Waiting for an approver; notifications go out one after another.
    Requested,
    /// Approved; escalation is queued.
    Approved,
    /// Access granted; deescalation may be scheduled.
    Escalated,
    Denied,
    /// Nobody answered before the last notification (or the request) timed out.
    Expired,
    /// Access taken away again.
    Deescalated,
    /// An `on_request` hook ignored the request.
    Cancelled,
    /// A plugin failed during a step; the error is recorded with the run.
    Errored,
}

/// A status name that is not one of ours.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("`{0}` is not a run status")]
pub struct UnknownStatus(pub String);

impl RunStatus {
    pub const ALL: [RunStatus; 8] = [
        RunStatus::Requested,
        RunStatus::Approved,
        RunStatus::Escalated,
        RunStatus::Denied,
        RunStatus::Expired,
        RunStatus::Deescalated,
        RunStatus::Cancelled,
        RunStatus::Errored,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Requested => "requested",
            RunStatus::Approved => "approved",
            RunStatus::Escalated => "escalated",
            RunStatus::Denied => "denied",
            RunStatus::Expired => "expired",
            RunStatus::Deescalated => "deescalated",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Errored => "errored",
        }
    }

    /// No step can follow.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RunStatus::Denied
                | RunStatus::Expired
                | RunStatus::Deescalated
                | RunStatus::Cancelled
                | RunStatus::Errored
        )
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RunStatus {
    type Err = UnknownStatus;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        RunStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == name)
            .ok_or_else(|| UnknownStatus(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for status in RunStatus::ALL {
            assert_eq!(status.as_str().parse::<RunStatus>(), Ok(status));
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::json!(status.as_str())
            );
        }
        assert!("pending".parse::<RunStatus>().is_err());
    }
}
