//! The organisation's people, as the host keeps them: counts of a person's past requests,
//! their accounts in other systems, and people by email.
//!
//! Each call returns a [`HostError`] on failure, which `?` turns into the handler's
//! [`PluginError`], so a handler can write `users::event_count(...)?`.

use crate::bindings::assent::flow::users;
use crate::{HostError, HostErrorKind, Identity, PluginError, Step, User};

pub use users::EventCountQuery;

impl From<HostError> for PluginError {
    fn from(error: HostError) -> Self {
        let kind = match error.kind {
            HostErrorKind::InvalidInput => "invalid-input",
            HostErrorKind::Unavailable => "host-unavailable",
        };
        PluginError {
            kind: kind.into(),
            message: error.message,
        }
    }
}

/// A query for `user`'s runs in which `event` happened, of any flow and target, at any time,
/// errored runs left out; narrow it with its fields.
pub fn query(user: &User, event: Step) -> EventCountQuery {
    EventCountQuery {
        user_id: user.id.clone(),
        event,
        since: None,
        until: None,
        flow: None,
        target: None,
        include_errored: false,
    }
}

/// How many of the user's requests had the query's event, per the audit log.
pub fn event_count(query: &EventCountQuery) -> Result<u64, HostError> {
    users::get_event_count(query)
}

/// Keeps `external_id` as the account in `service` of the person with `email`.
pub fn persist_identity(
    email: &str,
    service: &str,
    external_id: &str,
    service_id: Option<&str>,
) -> Result<User, HostError> {
    users::persist_user_identity(
        email,
        &Identity {
            service: service.to_owned(),
            external_id: external_id.to_owned(),
            service_id: service_id.map(str::to_owned),
        },
    )
}

/// The organisation's user with this email, added as a member if there is none.
pub fn get_or_create_by_email(email: &str) -> Result<User, HostError> {
    users::get_or_create_user_by_email(email)
}
