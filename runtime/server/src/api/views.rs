//! What the API returns, as JSON.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use assent_store::{AuditEvent, FlowRecord, Job, PluginRecord, RunRecord};
use assent_types::{FieldValue, Notification, User};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use assent_runner::StepResult;

/// Unix milliseconds as RFC 3339.
pub fn timestamp(millis: i64) -> String {
    let since = Duration::from_millis(u64::try_from(millis).unwrap_or(0));
    humantime::format_rfc3339_millis(UNIX_EPOCH + since).to_string()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserRef {
    pub id: String,
    pub email: String,
}

impl From<&User> for UserRef {
    fn from(user: &User) -> Self {
        UserRef {
            id: user.id.clone(),
            email: user.email.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimerView {
    /// What fires, e.g. `{"trigger": "deescalate", "cause": "expiry"}`.
    #[schema(value_type = Object)]
    pub trigger: Value,
    pub due_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorView {
    pub step: String,
    pub handler: String,
    pub message: String,
    pub at: String,
}

/// A run: one request's way through its flow.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunView {
    pub id: String,
    pub flow: String,
    /// `requested`, `approved`, `escalated`, `denied`, `expired`, `deescalated`,
    /// `cancelled` or `errored`.
    pub status: String,
    pub requester: UserRef,
    #[schema(value_type = Object)]
    pub fields: BTreeMap<String, FieldValue>,
    pub reason: Option<String>,
    /// Who acted at each step so far.
    pub actors: BTreeMap<String, UserRef>,
    /// The notifications, in order, and which is out now.
    #[schema(value_type = Vec<Object>)]
    pub notifications: Vec<Notification>,
    pub notification: u32,
    /// Outputs of steps, such as the strategy's answer to `escalate`.
    #[schema(value_type = Object)]
    pub outputs: serde_json::Map<String, Value>,
    pub access_until: Option<String>,
    pub error: Option<ErrorView>,
    /// Pending timers.
    pub timers: Vec<TimerView>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl RunView {
    pub fn new(run: &RunRecord, jobs: &[Job]) -> RunView {
        RunView {
            id: run.id.clone(),
            flow: run.flow_name.clone(),
            status: run.status.to_string(),
            requester: UserRef::from(&run.body.requester),
            fields: run.body.fields.clone(),
            reason: run.body.reason.clone(),
            actors: run
                .body
                .run
                .actors
                .iter()
                .map(|(step, user)| (step.to_string(), UserRef::from(user)))
                .collect(),
            notifications: run.body.notifications.clone(),
            notification: run.notification,
            outputs: run.body.outputs.clone(),
            access_until: run.body.access_until.map(timestamp),
            error: run.body.error.as_ref().map(|error| ErrorView {
                step: error.step.to_string(),
                handler: error.handler.clone(),
                message: error.message.clone(),
                at: timestamp(error.at),
            }),
            // Pending notices are deliveries, not timers of the run.
            timers: jobs
                .iter()
                .filter_map(|job| match &job.task {
                    assent_store::Task::Step(trigger) => Some((job, trigger)),
                    assent_store::Task::Notice(_) => None,
                })
                .map(|(job, trigger)| TimerView {
                    trigger: serde_json::to_value(trigger).unwrap_or(Value::Null),
                    due_at: timestamp(job.due_at),
                })
                .collect(),
            version: run.version,
            created_at: timestamp(run.created_at),
            updated_at: timestamp(run.updated_at),
        }
    }
}

/// The result of a request, an approval, a denial or a revocation.
#[derive(Debug, Serialize, ToSchema)]
pub struct StepView {
    /// The step taken, if any (a hook may have redirected it, e.g. `approve` for a request).
    pub step: Option<String>,
    /// Set when a hook ignored the event; the run did not change.
    pub ignored: Option<IgnoredView>,
    pub run: RunView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IgnoredView {
    pub step: String,
    /// The hook's message for whoever caused the event.
    pub message: Option<String>,
}

impl StepView {
    pub fn new(result: &StepResult, jobs: &[Job]) -> StepView {
        StepView {
            step: result.taken.map(|step| step.to_string()),
            ignored: result.ignored.as_ref().map(|(step, message)| IgnoredView {
                step: step.to_string(),
                message: message.clone(),
            }),
            run: RunView::new(&result.run, jobs),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub id: String,
    pub run_id: Option<String>,
    /// A step (`approve`), `hook`, `notify`, `plugin_error`, `refused`, `ignored`, or an admin
    /// action such as `plugin.uploaded`.
    pub kind: String,
    pub actor: Option<UserRef>,
    #[schema(value_type = Object)]
    pub data: Value,
    pub created_at: String,
}

impl From<&AuditEvent> for EventView {
    fn from(event: &AuditEvent) -> Self {
        EventView {
            id: event.id.clone(),
            run_id: event.run_id.clone(),
            kind: event.kind.clone(),
            actor: event.actor_id.as_ref().map(|id| UserRef {
                id: id.clone(),
                email: event.actor_email.clone().unwrap_or_default(),
            }),
            data: event.data.clone(),
            created_at: timestamp(event.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PluginView {
    pub hash: String,
    pub size: i64,
    pub sdk: String,
    pub contract_version: String,
    pub handlers: Vec<String>,
    pub created_at: String,
}

impl From<&PluginRecord> for PluginView {
    fn from(plugin: &PluginRecord) -> Self {
        PluginView {
            hash: plugin.hash.clone(),
            size: plugin.size,
            sdk: plugin.sdk.clone(),
            contract_version: plugin.contract_version.clone(),
            handlers: plugin.handlers.clone(),
            created_at: timestamp(plugin.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FlowView {
    pub name: String,
    pub version: i64,
    pub label: String,
    pub environment: String,
    pub vars: BTreeMap<String, String>,
    #[schema(value_type = Vec<Object>)]
    pub fields: Vec<assent_types::PromptField>,
    #[schema(value_type = Object)]
    pub params: assent_store::FlowParams,
    pub plugin: String,
    /// How the flow grants access: `{"type": "okta", "integration": "okta"}`, or `{"type":
    /// "custom", "plugin": "<hash>"}`; none for an approval-only flow.
    #[schema(value_type = Option<Object>)]
    pub strategy: Option<assent_types::Strategy>,
    pub created_at: String,
}

impl From<&FlowRecord> for FlowView {
    fn from(flow: &FlowRecord) -> Self {
        FlowView {
            name: flow.name.clone(),
            version: flow.version,
            label: flow.label.clone(),
            environment: flow.environment.clone(),
            vars: flow.vars.clone(),
            fields: flow.fields.clone(),
            params: flow.params.clone(),
            plugin: flow.plugin_hash.clone(),
            strategy: flow.strategy.clone(),
            created_at: timestamp(flow.created_at),
        }
    }
}
