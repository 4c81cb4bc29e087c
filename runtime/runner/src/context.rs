//! What a step needs to know besides the run: the flow version with its plugins loaded, and
//! the event a handler sees.

use assent_plugin_host::Plugin;
use assent_store::{FlowRecord, RunRecord};
use assent_types::{Environment, Event, Flow, Payload, Role, Step, User};

use crate::strategy::AccessStrategy;
use crate::{Runner, RuntimeError};

/// The flow version a run belongs to, with its plugins loaded.
pub(crate) struct FlowContext {
    pub flow: FlowRecord,
    /// The flow's environment with its integrations, as handlers see it.
    pub environment: Environment,
    pub plugin: Plugin,
    pub strategy: Option<AccessStrategy>,
}

/// Who acts when nobody does: timers and queued steps.
pub fn system_user() -> User {
    User {
        id: "assent".into(),
        email: String::new(),
        username: "assent".into(),
        role: Role::Admin,
        ..User::default()
    }
}

impl Runner {
    /// The flow's own plugin, named after the flow version in its errors.
    pub(crate) async fn flow_plugin(
        &self,
        org_id: &str,
        flow: &FlowRecord,
    ) -> Result<Plugin, RuntimeError> {
        Ok(self
            .plugins
            .get(&self.store, org_id, &flow.plugin_hash)
            .await?
            .named(format!("{}@{}", flow.name, flow.version)))
    }

    pub(crate) async fn context(
        &self,
        org_id: &str,
        flow: FlowRecord,
    ) -> Result<FlowContext, RuntimeError> {
        let plugin = self.flow_plugin(org_id, &flow).await?;
        let strategy = self.access_strategy(org_id, &flow).await?;
        let environment = self.environment_of(org_id, &flow).await?;
        Ok(FlowContext {
            flow,
            environment,
            plugin,
            strategy,
        })
    }

    pub(crate) async fn context_of(&self, run: &RunRecord) -> Result<FlowContext, RuntimeError> {
        let flow = self
            .store
            .flow_version(&run.org_id, &run.flow_id)
            .await?
            .ok_or_else(|| RuntimeError::NotFound(format!("flow of run `{}`", run.id)))?;
        self.context(&run.org_id, flow).await
    }
}

/// The event a handler sees for `step` of `run`.
pub(crate) fn event_for(step: Step, actor: &User, context: &FlowContext, run: &RunRecord) -> Event {
    Event {
        name: step,
        user: actor.clone(),
        payload: Payload {
            fields: run.body.fields.clone(),
            timestamp: now_rfc3339(),
            message: None,
        },
        flow: flow_of(&context.flow, context.environment.clone()),
        run: run.body.run.clone(),
        outputs: run.body.outputs.clone(),
    }
}

/// The flow as handlers see it, in its `environment`.
pub(crate) fn flow_of(flow: &FlowRecord, environment: Environment) -> Flow {
    Flow {
        name: flow.name.clone(),
        label: flow.label.clone(),
        vars: flow.vars.clone(),
        fields: flow.fields.clone(),
        environment,
    }
}

pub(crate) fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}
