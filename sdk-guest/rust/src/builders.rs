//! Constructors and accessors that read like Sym's SDK.

use crate::{
    Approvers, Destination, Event, FieldValue, HookOutcome, Notification, Permission,
    PermissionLevel, PluginError, RequestPermission, Step, Target, User,
};

/// Slack destinations, as in `slack.channel("#sym-requests")`.
pub mod slack {
    use crate::{Approvers, Destination};

    /// A channel by name (`#sym-requests`) or id.
    pub fn channel(name: impl Into<String>) -> Destination {
        Destination::SlackChannel(name.into())
    }

    /// A user by Slack id, `@username` or email.
    pub fn user(user: impl Into<String>) -> Destination {
        Destination::SlackUser(user.into())
    }

    /// A group DM with these users.
    pub fn group<S: Into<String>>(users: impl IntoIterator<Item = S>) -> Destination {
        Destination::SlackGroup(users.into_iter().map(Into::into).collect())
    }

    /// Legacy routing: try each destination in turn until one is delivered.
    pub fn fallback(destinations: impl IntoIterator<Item = Destination>) -> Approvers {
        Approvers {
            destinations: destinations.into_iter().collect(),
            fallback: true,
            allow_self: false,
        }
    }
}

impl Destination {
    /// Legacy routing to this destination, letting requesters approve themselves or not.
    pub fn allow_self(self, allow: bool) -> Approvers {
        Approvers::from(self).allow_self(allow)
    }
}

impl From<Destination> for Approvers {
    fn from(destination: Destination) -> Self {
        Approvers {
            destinations: vec![destination],
            fallback: false,
            allow_self: false,
        }
    }
}

impl Approvers {
    pub fn allow_self(mut self, allow: bool) -> Approvers {
        self.allow_self = allow;
        self
    }
}

impl From<PermissionLevel> for Permission {
    fn from(level: PermissionLevel) -> Self {
        Permission::Level(level)
    }
}

impl<S: Into<String>> From<Vec<S>> for Permission {
    fn from(users: Vec<S>) -> Self {
        Permission::Users(users.into_iter().map(Into::into).collect())
    }
}

impl RequestPermission {
    /// Who may view the request and who may approve or deny it; self-approval off.
    pub fn new(webapp_view: impl Into<Permission>, approve_deny: impl Into<Permission>) -> Self {
        RequestPermission {
            webapp_view: webapp_view.into(),
            approve_deny: approve_deny.into(),
            allow_self_approval: false,
        }
    }

    pub fn allow_self_approval(mut self, allow: bool) -> Self {
        self.allow_self_approval = allow;
        self
    }
}

impl Notification {
    /// Notify these destinations; wait for an answer until the request's expiry.
    pub fn new(destinations: impl IntoIterator<Item = Destination>) -> Self {
        Notification {
            destinations: destinations.into_iter().collect(),
            timeout: None,
        }
    }

    /// Forward to the next notification after `seconds` without an answer.
    pub fn timeout(mut self, seconds: u64) -> Self {
        self.timeout = Some(seconds);
        self
    }
}

impl HookOutcome {
    /// Cancel the incoming event and tell the user who caused it why.
    pub fn ignore(message: impl Into<String>) -> Self {
        HookOutcome::Ignore(Some(message.into()))
    }

    pub fn approve(reason: impl Into<String>) -> Self {
        HookOutcome::Approve(Some(reason.into()))
    }

    pub fn deny(reason: impl Into<String>) -> Self {
        HookOutcome::Deny(Some(reason.into()))
    }
}

impl PluginError {
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> Self {
        PluginError {
            kind: kind.into(),
            message: message.into(),
        }
    }
}

impl From<String> for PluginError {
    fn from(message: String) -> Self {
        PluginError::new("error", message)
    }
}

impl From<&str> for PluginError {
    fn from(message: &str) -> Self {
        PluginError::new("error", message)
    }
}

impl Event {
    /// A flow var, as in `event.flow.vars["request_channel"]`.
    pub fn var(&self, name: &str) -> Option<&str> {
        lookup(&self.flow.vars, name).map(String::as_str)
    }

    /// A field of the request, as in `event.payload.fields.get("reason")`.
    pub fn field(&self, name: &str) -> Option<&FieldValue> {
        lookup(&self.payload.fields, name)
    }

    /// A text field's value; `None` when absent or not text.
    pub fn field_str(&self, name: &str) -> Option<&str> {
        self.field(name).and_then(FieldValue::as_str)
    }

    /// The user who acted at `step`, as in `event.get_actor("request")`.
    pub fn get_actor(&self, step: Step) -> Option<&User> {
        lookup(&self.run.actors, &step)
    }

    /// The Slack channel the request was made in, if it came from Slack.
    pub fn source_channel(&self) -> Option<&str> {
        self.run.source_channel.identifier.as_deref()
    }

    /// The first `target` field of the request.
    pub fn target(&self) -> Option<&Target> {
        self.payload
            .fields
            .iter()
            .find_map(|(_, value)| match value {
                FieldValue::Target(target) => Some(target),
                _ => None,
            })
    }
}

impl FieldValue {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            FieldValue::String(text) => Some(text),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            FieldValue::Bool(flag) => Some(*flag),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            FieldValue::Int(number) => Some(*number),
            _ => None,
        }
    }

    /// A duration field in seconds.
    pub fn as_duration(&self) -> Option<u64> {
        match self {
            FieldValue::Duration(seconds) => Some(*seconds),
            _ => None,
        }
    }
}

impl PartialEq for User {
    /// Users are the same person when their Assent ids match.
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

fn lookup<'a, Q: PartialEq<K>, K: ?Sized, V>(pairs: &'a [(Q, V)], key: &K) -> Option<&'a V> {
    pairs
        .iter()
        .find(|(candidate, _)| candidate == key)
        .map(|(_, value)| value)
}
