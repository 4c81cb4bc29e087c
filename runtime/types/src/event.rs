//! The event a handler receives: who did what, on which request, of which flow.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a user may do in an organisation. Guests may not make requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    #[default]
    Member,
    Guest,
}

/// An account of the user in another system, e.g. their Slack user id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The service, e.g. `slack`.
    pub service: String,
    /// The user's id in that service.
    pub external_id: String,
    /// Which instance of the service, when an organisation has several (an AWS SSO instance
    /// ARN, an Okta domain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
}

impl Identity {
    /// The user's account `external_id` in `service`.
    pub fn new(service: impl Into<String>, external_id: impl Into<String>) -> Identity {
        Identity {
            service: service.into(),
            external_id: external_id.into(),
            service_id: None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct User {
    pub id: String,
    pub email: String,
    pub username: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub role: Role,
    pub identities: Vec<Identity>,
}

impl User {
    /// Who the user is in `service` (`slack`, `okta`, `github`): their identity's id there.
    pub fn identity(&self, service: &str) -> Option<&str> {
        self.identities
            .iter()
            .find(|identity| identity.service == service && !identity.external_id.is_empty())
            .map(|identity| identity.external_id.as_str())
    }
}

/// Something a strategy grants access to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Target {
    pub id: String,
    pub name: String,
    pub label: String,
    pub settings: BTreeMap<String, String>,
    /// Prompt fields whose values become settings of the same names when the target is
    /// requested (Sym's `field_bindings`: one target serves many buckets, accounts, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub field_bindings: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    String,
    StrList,
    Int,
    IntList,
    Bool,
    Duration,
    SlackUser,
    SlackUserList,
    Target,
}

/// The typed value of one prompt field.
///
/// In JSON: `{"type": "duration", "value": 3600}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum FieldValue {
    String(String),
    StrList(Vec<String>),
    Int(i64),
    IntList(Vec<i64>),
    Bool(bool),
    /// A length of time in seconds.
    Duration(u64),
    SlackUser(User),
    SlackUserList(Vec<User>),
    Target(Target),
}

impl FieldValue {
    /// The type this value has.
    pub fn field_type(&self) -> FieldType {
        match self {
            FieldValue::String(_) => FieldType::String,
            FieldValue::StrList(_) => FieldType::StrList,
            FieldValue::Int(_) => FieldType::Int,
            FieldValue::IntList(_) => FieldType::IntList,
            FieldValue::Bool(_) => FieldType::Bool,
            FieldValue::Duration(_) => FieldType::Duration,
            FieldValue::SlackUser(_) => FieldType::SlackUser,
            FieldValue::SlackUserList(_) => FieldType::SlackUserList,
            FieldValue::Target(_) => FieldType::Target,
        }
    }
}

/// One field of the request form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptField {
    pub name: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub allowed_values: Vec<String>,
    #[serde(default = "visible_by_default")]
    pub visible: bool,
    /// The value used when the request leaves the field out, in the field's input form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    /// The plugin's `prefetch` fills the field's choices before the form is shown.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prefetch: bool,
}

/// One choice of a prompt field: the value kept, and the text people see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldOption {
    pub value: String,
    pub label: String,
}

/// A field of the request form as someone fills it in, for a plugin's `on_change`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormField {
    pub name: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    #[serde(default)]
    pub required: bool,
    #[serde(default = "visible_by_default")]
    pub visible: bool,
    /// What has been entered so far.
    #[serde(default)]
    pub value: Option<FieldValue>,
    /// The choices offered now.
    #[serde(default)]
    pub allowed_values: Vec<FieldOption>,
    /// The choices offered first (by the flow, or its plugin's `prefetch`).
    #[serde(default)]
    pub original_allowed_values: Vec<FieldOption>,
}

/// A configured connection to another system (Sym's `sym_integration`), as plugins see it:
/// its settings, never its secrets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Integration {
    pub name: String,
    /// `okta`, `pagerduty`, `github`, `aws`, `slack`, `http`, …
    #[serde(rename = "type")]
    pub integration_type: String,
    pub external_id: String,
    pub settings: BTreeMap<String, String>,
}

/// The environment a flow belongs to, and its integrations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Environment {
    pub name: String,
    pub integrations: Vec<Integration>,
}

fn visible_by_default() -> bool {
    true
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Flow {
    pub name: String,
    pub label: String,
    pub vars: BTreeMap<String, String>,
    pub fields: Vec<PromptField>,
    pub environment: Environment,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Payload {
    pub fields: BTreeMap<String, FieldValue>,
    /// When the event was created, RFC 3339.
    pub timestamp: String,
    /// The text the person added to their decision, when the flow asks for one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelType {
    Slack,
    #[default]
    Api,
}

impl std::fmt::Display for ChannelType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ChannelType::Slack => "slack",
            ChannelType::Api => "api",
        })
    }
}

/// Where a run was started from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Channel {
    /// The Slack channel id, when the request came from Slack.
    pub identifier: Option<String>,
    #[serde(rename = "type")]
    pub channel_type: ChannelType,
}

/// A step of the approval template.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Prompt,
    #[default]
    Request,
    Approve,
    Deny,
    Escalate,
    Deescalate,
    RequestForward,
    RequestExpire,
}

impl Step {
    pub const ALL: [Step; 8] = [
        Step::Prompt,
        Step::Request,
        Step::Approve,
        Step::Deny,
        Step::Escalate,
        Step::Deescalate,
        Step::RequestForward,
        Step::RequestExpire,
    ];

    /// The step's name as flows and the audit log spell it, e.g. `request_forward`.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Prompt => "prompt",
            Step::Request => "request",
            Step::Approve => "approve",
            Step::Deny => "deny",
            Step::Escalate => "escalate",
            Step::Deescalate => "deescalate",
            Step::RequestForward => "request_forward",
            Step::RequestExpire => "request_expire",
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Run {
    pub id: String,
    /// The user who acted at each step so far.
    pub actors: BTreeMap<Step, User>,
    /// Context recorded at each step, as JSON.
    pub contexts: BTreeMap<Step, serde_json::Value>,
    pub source_channel: Channel,
}

/// What a handler receives.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Event {
    /// The step this event fires for.
    pub name: Step,
    /// The user who caused the event.
    pub user: User,
    pub payload: Payload,
    pub flow: Flow,
    pub run: Run,
    /// Outputs of earlier steps, keyed by step name.
    pub outputs: serde_json::Map<String, serde_json::Value>,
}

impl Event {
    /// The first `target` field of the request: what a strategy grants access to.
    pub fn target(&self) -> Option<&Target> {
        self.payload.fields.values().find_map(|value| match value {
            FieldValue::Target(target) => Some(target),
            _ => None,
        })
    }
}
