//! What a plugin may ask of the host beyond its sandbox: the organisation's people.
//!
//! The host does not know organisations or databases; whoever opens a session (the runner)
//! hands it a [`Directory`] for the session's organisation. A session without one (the CLI's
//! test bench) answers every such import with an error saying so. Each contract version's
//! imports convert to and from these types in its own module.

use std::future::Future;
use std::pin::Pin;

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
