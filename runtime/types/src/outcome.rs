//! What handlers return: permissions, notifications, hook outcomes and plugin errors.

use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PermissionLevel {
    Admin,
    Member,
    AllUsers,
}

/// Who may do something with a request: everyone at a level, or a list of users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Permission {
    Level(PermissionLevel),
    /// Assent user ids or emails.
    Users(Vec<String>),
}

/// The answer of `get_permissions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestPermission {
    pub webapp_view: Permission,
    pub approve_deny: Permission,
    #[serde(default)]
    pub allow_self_approval: bool,
}

/// Somewhere a request notification can be delivered.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Destination {
    /// A channel name (`#sym-requests`) or id.
    SlackChannel(String),
    /// A Slack user id, `@username` or email.
    SlackUser(String),
    /// A group DM.
    SlackGroup(Vec<String>),
    UserEmail(String),
    UserId(String),
}

/// Destinations tried together; after `timeout` seconds unanswered the next notification is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub destinations: Vec<Destination>,
    #[serde(default)]
    pub timeout: Option<u64>,
}

/// The answer of the legacy `get_approvers` reducer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approvers {
    pub destinations: Vec<Destination>,
    /// Try each destination in turn until one is delivered.
    #[serde(default)]
    pub fallback: bool,
    #[serde(default)]
    pub allow_self: bool,
}

/// What an `on_*` hook decides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "reason", rename_all = "snake_case")]
pub enum HookOutcome {
    /// Let the step happen.
    Proceed,
    Approve(Option<String>),
    Deny(Option<String>),
    /// Cancel the incoming event; the message goes to the user who caused it.
    Ignore(Option<String>),
    Request(Option<String>),
    Escalate(Option<String>),
    Deescalate(Option<String>),
}

/// A plugin's own failure, in its author's terms.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[error("{kind}: {message}")]
pub struct PluginError {
    /// The kind of failure, e.g. `ValueError`.
    pub kind: String,
    pub message: String,
}
