//! The names of the handlers a plugin may implement.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::Step;

/// Every handler a plugin may export, named as flow authors write them (`on_approve`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Handler {
    GetPermissions,
    GetRequestNotifications,
    GetApprovers,
    GetIdentity,
    GetTimeout,
    On(Step),
    After(Step),
    FetchRemoteIdentity,
    Escalate,
    Deescalate,
    /// Which flows a person is offered (Sym's flows filter).
    GetFlows,
    /// The choices of a prompt field, before the form is shown.
    Prefetch,
    /// The form after a field changed.
    OnChange,
}

/// What part of a plugin a handler belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HandlerKind {
    Reducer,
    Hook,
    Strategy,
}

/// A handler name that is not one of ours.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("`{name}` is not a handler; expected one of: {}", Handler::names().join(", "))]
pub struct UnknownHandler {
    pub name: String,
}

impl Handler {
    /// Every handler, in a stable order.
    pub fn all() -> impl Iterator<Item = Handler> {
        const SIMPLE: [Handler; 5] = [
            Handler::GetPermissions,
            Handler::GetRequestNotifications,
            Handler::GetApprovers,
            Handler::GetIdentity,
            Handler::GetTimeout,
        ];
        const STRATEGY: [Handler; 3] = [
            Handler::FetchRemoteIdentity,
            Handler::Escalate,
            Handler::Deescalate,
        ];
        const FORM: [Handler; 3] = [Handler::GetFlows, Handler::Prefetch, Handler::OnChange];
        SIMPLE
            .into_iter()
            .chain(Step::ALL.into_iter().map(Handler::On))
            .chain(Step::ALL.into_iter().map(Handler::After))
            .chain(STRATEGY)
            .chain(FORM)
    }

    /// Every handler name, e.g. for an error message.
    pub fn names() -> Vec<String> {
        Handler::all().map(|handler| handler.to_string()).collect()
    }

    pub fn kind(self) -> HandlerKind {
        match self {
            Handler::GetPermissions
            | Handler::GetRequestNotifications
            | Handler::GetApprovers
            | Handler::GetIdentity
            | Handler::GetTimeout
            | Handler::GetFlows
            | Handler::Prefetch
            | Handler::OnChange => HandlerKind::Reducer,
            Handler::On(_) | Handler::After(_) => HandlerKind::Hook,
            Handler::FetchRemoteIdentity | Handler::Escalate | Handler::Deescalate => {
                HandlerKind::Strategy
            }
        }
    }
}

impl std::fmt::Display for Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Handler::GetPermissions => f.write_str("get_permissions"),
            Handler::GetRequestNotifications => f.write_str("get_request_notifications"),
            Handler::GetApprovers => f.write_str("get_approvers"),
            Handler::GetIdentity => f.write_str("get_identity"),
            Handler::GetTimeout => f.write_str("get_timeout"),
            Handler::On(step) => write!(f, "on_{step}"),
            Handler::After(step) => write!(f, "after_{step}"),
            Handler::FetchRemoteIdentity => f.write_str("fetch_remote_identity"),
            Handler::Escalate => f.write_str("escalate"),
            Handler::Deescalate => f.write_str("deescalate"),
            Handler::GetFlows => f.write_str("get_flows"),
            Handler::Prefetch => f.write_str("prefetch"),
            Handler::OnChange => f.write_str("on_change"),
        }
    }
}

impl std::str::FromStr for Handler {
    type Err = UnknownHandler;

    /// Accepts `on_approve` as well as the WIT spelling `on-approve`.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let normalised = name.trim().replace('-', "_");
        Handler::all()
            .find(|handler| handler.to_string() == normalised)
            .ok_or_else(|| UnknownHandler {
                name: name.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_handler_name_parses_back() {
        for handler in Handler::all() {
            assert_eq!(handler.to_string().parse::<Handler>(), Ok(handler));
        }
        assert_eq!(Handler::all().count(), 27);
    }

    #[test]
    fn wit_spelling_is_accepted() {
        assert_eq!(
            "on-request-forward".parse::<Handler>(),
            Ok(Handler::On(Step::RequestForward))
        );
    }

    #[test]
    fn unknown_name_lists_the_real_ones() {
        let error = "on_aprove".parse::<Handler>().unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with("`on_aprove` is not a handler"),
            "{message}"
        );
        assert!(message.contains("on_approve"), "{message}");
    }
}
