//! What a plugin may ask of the host beyond its sandbox: the organisation's people, and the
//! flow environment's integrations.
//!
//! The host does not know organisations, databases or providers; whoever opens a session
//! (the runner) hands it a [`Directory`] for the session's organisation and
//! [`Integrations`] for the flow's environment. A session without them (the CLI's test
//! bench) answers every such import with an error saying so. Each contract version's imports
//! convert to and from these types in its own module.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use assent_types::{Identity, Step, User};
use thiserror::Error;

/// Which events to count: those of runs `user_id` requested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventCountQuery {
    /// The requester, by Assent user id.
    pub user_id: String,
    /// The event to count, e.g. `approve` for approved requests.
    pub event: Step,
    /// Only events at or after this time (RFC 3339), as the plugin wrote it.
    pub since: Option<String>,
    /// Only events before this time (RFC 3339), as the plugin wrote it.
    pub until: Option<String>,
    /// Only runs of this flow, by name.
    pub flow: Option<String>,
    /// Only runs that asked for this target, by id.
    pub target: Option<String>,
    /// Count runs that ended in an error too.
    pub include_errored: bool,
}

/// Why a directory call failed; the message is for the plugin's author.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum ServiceError {
    /// The plugin asked for something wrong (an email that is not one, a bad time).
    #[error("{0}")]
    InvalidInput(String),
    /// The host could not answer (no directory, or its database is down).
    #[error("{0}")]
    Unavailable(String),
}

/// What a [`Directory`] call returns.
pub type ServiceFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ServiceError>> + Send + 'a>>;

/// The people of one organisation, as a plugin's `users` import reaches them.
pub trait Directory: Send + Sync {
    /// How many such events the organisation's audit log holds.
    fn event_count(&self, query: EventCountQuery) -> ServiceFuture<'_, u64>;
    /// Keeps `identity` as the account in its service of the user with `email`, replacing
    /// one of the same service and service id; answers the user as now kept.
    fn persist_identity(&self, email: String, identity: Identity) -> ServiceFuture<'_, User>;
    /// The user with `email`, added as a member if there is none.
    fn get_or_create_user(&self, email: String) -> ServiceFuture<'_, User>;
}

// A handler may make this many directory calls. Sym's own examples make one or two (a count,
// an identity); a few hundred covers a flow that looks up every approver of a large group,
// while a plugin looping on `get-or-create-user-by-email` cannot fill the organisation
// with people or keep the database busy for its whole wall-clock budget.
pub(crate) const MAX_CALLS_PER_HANDLER: u32 = 200;

/// The error a session without a directory answers with.
pub(crate) fn no_directory() -> ServiceError {
    ServiceError::Unavailable(
        "this host runs the plugin without the organisation's user directory (as `assent plugin call` does); \
         try the flow through `assent serve`"
            .into(),
    )
}

/// The error once a handler has made [`MAX_CALLS_PER_HANDLER`] calls.
pub(crate) fn too_many_calls() -> ServiceError {
    ServiceError::InvalidInput(format!(
        "a handler may make at most {MAX_CALLS_PER_HANDLER} calls to the user directory; \
         look people up once and keep the answers"
    ))
}

/// What went wrong in an integration call, so the SDKs can raise the right exception.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegrationErrorKind {
    /// No such integration, or one missing its secret.
    NotConfigured,
    /// An operation the integration does not have, or arguments that do not fit.
    InvalidRequest,
    /// The outbound rules refused the request.
    Refused,
    /// The provider did not answer in time.
    Timeout,
    /// The provider could not be reached, or answered 5xx or 429.
    Unavailable,
    /// The provider refused the request (4xx).
    Provider,
    /// The handler used up its network budget or its number of calls.
    Budget,
}

/// An integration call's failure; the message is for the plugin's author and never holds a
/// secret.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("{message}")]
pub struct IntegrationError {
    pub kind: IntegrationErrorKind,
    pub message: String,
    /// The provider's HTTP status, when it answered.
    pub status: Option<u16>,
}

impl IntegrationError {
    pub fn new(kind: IntegrationErrorKind, message: impl Into<String>) -> IntegrationError {
        IntegrationError {
            kind,
            message: message.into(),
            status: None,
        }
    }
}

/// A request a plugin sends through an `http` integration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub timeout: Option<Duration>,
    /// The `http` integration to go through, by name; by default the one allowing the host.
    pub integration: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What an [`Integrations`] call returns.
pub type IntegrationFuture<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, IntegrationError>> + Send + 'a>>;

/// The integrations of one flow's environment, as a plugin's `integrations` import reaches
/// them. The host knows no providers: whoever opens the session (the runner) supplies this.
pub trait Integrations: Send + Sync {
    /// Calls `operation` of integration `integration` with JSON `args`; answers JSON.
    fn call(
        &self,
        integration: String,
        operation: String,
        args: String,
    ) -> IntegrationFuture<'_, String>;
    /// Sends `request` through one of the environment's `http` integrations.
    fn fetch(&self, request: HttpRequest) -> IntegrationFuture<'_, HttpResponse>;
    /// The value of the secret that `setting` of `integration` names.
    fn secret(&self, integration: String, setting: String) -> IntegrationFuture<'_, String>;
}

// A handler may make this many integration calls. Sym's examples make one to three (is the
// requester on call, is the approver in a group); a hundred covers a strategy granting a
// dozen targets with a lookup each, while a plugin calling in a loop stops long before it
// could flood a provider on the organisation's behalf.
pub(crate) const MAX_INTEGRATION_CALLS_PER_HANDLER: u32 = 100;

/// The error a session without integrations answers with.
pub(crate) fn no_integrations() -> IntegrationError {
    IntegrationError::new(
        IntegrationErrorKind::NotConfigured,
        "this plugin runs without its flow's integrations (as `assent plugin call` does, or as a flows filter); try the flow through `assent serve`",
    )
}
