//! Why an integration call failed, in words for the plugin's author.

use assent_outbound::OutboundError;
use assent_types::IntegrationType;
use thiserror::Error;

/// What kind of failure, so the SDKs can raise Sym's exceptions and a plugin can decide
/// whether to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// No such integration, or one missing a secret: the configuration's to fix.
    NotConfigured,
    /// An operation the integration does not have, or arguments that do not fit.
    InvalidRequest,
    /// The outbound rules refused the request (a host not allowed, plain http, a private address).
    Refused,
    /// The provider did not answer in time.
    Timeout,
    /// The provider could not be reached, or answered 5xx or 429: worth trying again.
    Unavailable,
    /// The provider refused the request (4xx): its message says why.
    Provider,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::NotConfigured => "not-configured",
            FailureKind::InvalidRequest => "invalid-request",
            FailureKind::Refused => "refused",
            FailureKind::Timeout => "timeout",
            FailureKind::Unavailable => "unavailable",
            FailureKind::Provider => "provider",
        }
    }
}

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum Failure {
    #[error(
        "integration `{integration}` has no operation `{operation}`; it has {}", known.join(", ")
    )]
    UnknownOperation {
        integration: String,
        operation: String,
        known: Vec<&'static str>,
    },
    #[error("`{operation}` of integration `{integration}`: {reason}")]
    BadArguments {
        integration: String,
        operation: String,
        reason: String,
    },
    #[error(
        "integration `{integration}`: setting `{setting}` names a secret that is not set; set it with PUT /api/v1/environments/{{environment}}/secrets/{{name}}"
    )]
    MissingSecret {
        integration: String,
        setting: String,
    },
    #[error(
        "integration `{integration}` is a `{kind}` integration, whose calls Assent does not make yet; use an `http` integration for its API meanwhile"
    )]
    NotProvided {
        integration: String,
        kind: IntegrationType,
    },
    #[error("integration `{integration}`: {error}")]
    Outbound {
        integration: String,
        error: OutboundError,
    },
    #[error("{provider} answered {status} to {method} {path}: {message}")]
    Provider {
        provider: &'static str,
        status: u16,
        method: &'static str,
        path: String,
        message: String,
    },
    #[error("{provider} is throttling requests ({method} {path}: {message}); try again shortly")]
    Throttled {
        provider: &'static str,
        method: &'static str,
        path: String,
        message: String,
    },
    /// The provider took the request but what it was asked to do failed (a Lambda function
    /// raised; an assignment ended `FAILED`).
    #[error("{provider}: {what} failed: {message}")]
    OperationFailed {
        provider: &'static str,
        what: String,
        message: String,
    },
}

impl Failure {
    pub fn kind(&self) -> FailureKind {
        match self {
            Failure::UnknownOperation { .. } | Failure::BadArguments { .. } => {
                FailureKind::InvalidRequest
            }
            Failure::MissingSecret { .. } | Failure::NotProvided { .. } => {
                FailureKind::NotConfigured
            }
            Failure::Outbound { error, .. } => match error {
                OutboundError::Timeout { .. } => FailureKind::Timeout,
                OutboundError::Unreachable { .. } => FailureKind::Unavailable,
                _ => FailureKind::Refused,
            },
            Failure::Provider { status, .. } if *status == 429 || *status >= 500 => {
                FailureKind::Unavailable
            }
            Failure::Throttled { .. } => FailureKind::Unavailable,
            Failure::Provider { .. } | Failure::OperationFailed { .. } => FailureKind::Provider,
        }
    }

    /// The provider's HTTP status, when it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Failure::Provider { status, .. } => Some(*status),
            _ => None,
        }
    }
}
