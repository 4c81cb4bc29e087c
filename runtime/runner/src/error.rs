use assent_engine::{FieldError, Forbidden, Rejection};
use assent_plugin_host::CallError;
use assent_store::StoreError;

use crate::failure::StepFailure;
use thiserror::Error;

/// Why the runtime could not carry out a request or a step.
#[derive(Debug, Error)]
pub enum RuntimeError {
    #[error("{0} does not exist")]
    NotFound(String),
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error("the request's inputs are not valid: {}", list(.0))]
    InvalidInputs(Vec<FieldError>),
    /// A value the caller gave is not usable (a slug, an email address).
    #[error("{0}")]
    InvalidInput(String),
    #[error(transparent)]
    InvalidFlow(#[from] crate::FlowError),
    /// An integration or a secret is not usable, or a secret is still in use.
    #[error(transparent)]
    InvalidIntegration(#[from] assent_engine::IntegrationError),
    /// A secret could not be sealed or opened with the server's keys; the message names
    /// which secret, never its value.
    #[error("{0}")]
    Sealing(String),
    /// An item of a configuration file is not usable; nothing of the file was applied.
    #[error("{item}: {reason}; nothing was applied")]
    InvalidConfig { item: String, reason: String },
    /// An uploaded plugin could not be loaded; the host's reason says why.
    #[error("{0}")]
    InvalidPlugin(String),
    #[error(
        "`{0}` is the organisation's last admin; make someone else an admin before changing their role"
    )]
    LastAdmin(String),
    #[error("flow `{0}` does not allow revoking access (its `allow_revoke` param is false)")]
    RevokeNotAllowed(String),
    #[error(
        "flow `{flow}` cannot be requested from `{from}`; its `allowed_sources` param allows {}",
        sources(allowed)
    )]
    SourceNotAllowed {
        flow: String,
        /// Where the request came from (not `source`: that names an error's cause).
        from: assent_types::ChannelType,
        allowed: Vec<assent_types::ChannelType>,
    },
    #[error(
        "plugin `{hash}` is stored but cannot be loaded: {reason}; upload it again, rebuilt with the current SDK"
    )]
    PluginUnavailable { hash: String, reason: String },
    #[error(transparent)]
    Plugin(CallError),
    /// A timed step's strategy failed; the worker fires it again after its backoff.
    #[error("{0}; the step will be tried again")]
    Retrying(StepFailure),
    /// Taking access away failed; it is tried again in the background.
    #[error(
        "{0}; the access is still granted, and taking it away will be tried again shortly (the run's audit log shows each attempt)"
    )]
    DeescalationRetrying(StepFailure),
    /// A service the step needs (Slack) could not be reached; the job is retried.
    #[error("{0}; it will be retried")]
    Unavailable(String),
    #[error("the run kept changing while this step was being taken; try again")]
    Busy,
    /// The organisation has many requests in progress already; new ones wait.
    #[error(
        "this organisation has too many requests in progress (one of its plugins may be looping until its deadline); try again in {} s",
        retry_after.as_secs()
    )]
    TenantBusy { retry_after: std::time::Duration },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn sources(allowed: &[assent_types::ChannelType]) -> String {
    if allowed.is_empty() {
        return "none".to_owned();
    }
    allowed
        .iter()
        .map(|source| format!("`{source}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn list(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
