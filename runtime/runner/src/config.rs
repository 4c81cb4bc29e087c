//! Configuration as code: an organisation's environments, flows and flows filter declared in
//! one file, compared with what is stored (`plan`) and made so (`apply`): every flow and the
//! filter checked as `PUT /flows` and `PUT /flows-filter` check them, then everything that
//! changed written in one transaction — all of it, or none. What the file leaves out is kept;
//! an apply with nothing changed writes nothing.

use std::collections::BTreeMap;

use assent_engine::FlowDefinition;
use assent_store::{ConfigWrite, EventKind, FlowRecord, NewEvent, NewFlow};
use assent_types::{Handler, User};
use serde::Serialize;
use serde_json::json;

use crate::{Runner, RuntimeError};

/// The desired state a configuration file declares.
#[derive(Debug, Clone, Default)]
pub struct ConfigSpec {
    /// Environment name → its error-logger channel (`None`: none).
    pub environments: BTreeMap<String, Option<String>>,
    pub flows: Vec<FlowDefinition>,
    /// The flows filter's plugin hash and vars; `None` leaves the filter as it is.
    pub flows_filter: Option<(String, BTreeMap<String, String>)>,
}

/// What a configuration names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigKind {
    Environment,
    Flow,
    FlowsFilter,
}

/// What an apply does to one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeAction {
    Create,
    Update,
    Unchanged,
}

/// One item of a plan: what it is, and what an apply does to it (which of its parts change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigChange {
    pub kind: ConfigKind,
    pub name: String,
    pub action: ChangeAction,
    pub changed: Vec<&'static str>,
}

/// The difference between a configuration and what is stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConfigPlan {
    pub changes: Vec<ConfigChange>,
    /// Stored flows the configuration does not name: kept as they are.
    pub kept: Vec<String>,
}

impl ConfigPlan {
    /// Whether an apply would change nothing.
    pub fn is_empty(&self) -> bool {
        self.changes
            .iter()
            .all(|change| change.action == ChangeAction::Unchanged)
    }
}

fn change(kind: ConfigKind, name: &str, changed: Option<Vec<&'static str>>) -> ConfigChange {
    let (action, changed) = match changed {
        None => (ChangeAction::Create, Vec::new()),
        Some(changed) if changed.is_empty() => (ChangeAction::Unchanged, changed),
        Some(changed) => (ChangeAction::Update, changed),
    };
    ConfigChange {
        kind,
        name: name.to_owned(),
        action,
        changed,
    }
}

/// Which parts of `stored` `wanted` changes.
fn flow_differences(wanted: &FlowDefinition, stored: &FlowRecord) -> Vec<&'static str> {
    let label = wanted.label.as_deref().unwrap_or(&wanted.name);
    let environment = wanted.environment.as_deref().unwrap_or("main");
    [
        ("label", label == stored.label),
        ("environment", environment == stored.environment),
        ("vars", wanted.vars == stored.vars),
        ("fields", wanted.fields == stored.fields),
        ("params", wanted.params == stored.params),
        ("plugin", wanted.plugin == stored.plugin_hash),
        ("strategy", wanted.strategy == stored.strategy),
    ]
    .into_iter()
    .filter(|(_, same)| !same)
    .map(|(part, _)| part)
    .collect()
}

impl Runner {
    /// What applying `spec` would change, after checking it as `apply` does.
    pub async fn plan_config(
        &self,
        org_id: &str,
        spec: &ConfigSpec,
    ) -> Result<ConfigPlan, RuntimeError> {
        self.check_config(org_id, spec).await?;
        let mut plan = ConfigPlan::default();
        for (name, channel) in &spec.environments {
            let stored = match self.store.environment_id(org_id, name).await? {
                Some(_) => Some(self.store.error_logger(org_id, name).await?),
                None => None,
            };
            let changed = stored.map(|stored| {
                if stored == *channel {
                    vec![]
                } else {
                    vec!["error_logger"]
                }
            });
            plan.changes
                .push(change(ConfigKind::Environment, name, changed));
        }
        for wanted in &spec.flows {
            let stored = self.store.flow(org_id, &wanted.name).await?;
            let changed = stored.map(|stored| flow_differences(wanted, &stored));
            plan.changes
                .push(change(ConfigKind::Flow, &wanted.name, changed));
        }
        if let Some((plugin, vars)) = &spec.flows_filter {
            let changed = self.store.flows_filter(org_id).await?.map(|stored| {
                [
                    ("plugin", *plugin == stored.plugin_hash),
                    ("vars", *vars == stored.vars),
                ]
                .into_iter()
                .filter(|(_, same)| !same)
                .map(|(part, _)| part)
                .collect()
            });
            plan.changes.push(change(
                ConfigKind::FlowsFilter,
                crate::FLOWS_FILTER,
                changed,
            ));
        }
        plan.kept = self
            .store
            .flows(org_id)
            .await?
            .into_iter()
            .map(|flow| flow.name)
            .filter(|name| !spec.flows.iter().any(|wanted| wanted.name == *name))
            .collect();
        Ok(plan)
    }

    /// Makes `spec` so, all at once; `actor` is the admin. Returns what it changed.
    pub async fn apply_config(
        &self,
        org_id: &str,
        actor: Option<&User>,
        spec: &ConfigSpec,
    ) -> Result<ConfigPlan, RuntimeError> {
        let plan = self.plan_config(org_id, spec).await?;
        let changes = |kind: ConfigKind| {
            plan.changes.iter().filter(move |change| {
                change.kind == kind && change.action != ChangeAction::Unchanged
            })
        };
        let mut write = ConfigWrite::default();
        let by = json!("config");
        for item in changes(ConfigKind::Environment) {
            let channel = spec.environments.get(&item.name).cloned().flatten();
            // An environment is only a name: making sure it exists ahead of the transaction
            // changes nothing a flow or a request sees.
            let id = self.store.ensure_environment(org_id, &item.name).await?;
            write.events.push(NewEvent::org(
                EventKind::EnvironmentUpdated,
                actor,
                json!({ "environment": item.name, "error_logger": channel, "by": by }),
            ));
            write.error_loggers.push((id, channel));
        }
        for item in changes(ConfigKind::Flow) {
            let Some(wanted) = spec.flows.iter().find(|flow| flow.name == item.name) else {
                continue;
            };
            let environment = wanted.environment.as_deref().unwrap_or("main");
            let environment_id = self.store.ensure_environment(org_id, environment).await?;
            write.events.push(NewEvent::org(
                EventKind::FlowUpdated,
                actor,
                json!({ "flow": wanted.name, "plugin": wanted.plugin, "changed": item.changed, "by": by }),
            ));
            write.flows.push(NewFlow {
                name: wanted.name.clone(),
                label: wanted.label.clone().unwrap_or_else(|| wanted.name.clone()),
                environment_id,
                vars: wanted.vars.clone(),
                fields: wanted.fields.clone(),
                params: wanted.params.clone(),
                plugin_hash: wanted.plugin.clone(),
                strategy: wanted.strategy.clone(),
            });
        }
        if changes(ConfigKind::FlowsFilter).next().is_some()
            && let Some((plugin, vars)) = &spec.flows_filter
        {
            write.events.push(NewEvent::org(
                EventKind::FlowsFilterUpdated,
                actor,
                json!({ "plugin": plugin, "vars": vars, "by": by }),
            ));
            write.flows_filter = Some((plugin.clone(), vars.clone()));
        }
        if !plan.is_empty() {
            self.store.apply_config(org_id, &write).await?;
        }
        Ok(plan)
    }

    /// Every flow and the filter checked as their own endpoints check them; the first
    /// problem is named with its item.
    async fn check_config(&self, org_id: &str, spec: &ConfigSpec) -> Result<(), RuntimeError> {
        let invalid = |item: String, error: RuntimeError| RuntimeError::InvalidConfig {
            item,
            reason: error.to_string(),
        };
        for (index, flow) in spec.flows.iter().enumerate() {
            if spec.flows[..index]
                .iter()
                .any(|other| other.name == flow.name)
            {
                return Err(RuntimeError::InvalidConfig {
                    item: format!("flow `{}`", flow.name),
                    reason: "it is declared twice".to_owned(),
                });
            }
            self.check_flow(org_id, flow)
                .await
                .map_err(|error| invalid(format!("flow `{}`", flow.name), error))?;
        }
        if let Some((plugin, _)) = &spec.flows_filter {
            let filter = || crate::FLOWS_FILTER.to_owned();
            let record = self.store.plugin(org_id, plugin).await?.ok_or_else(|| {
                invalid(
                    filter(),
                    crate::FlowError::PluginMissing(plugin.clone()).into(),
                )
            })?;
            if !record
                .handlers
                .iter()
                .any(|handler| *handler == Handler::GetFlows.to_string())
            {
                return Err(invalid(
                    filter(),
                    crate::FlowError::NotAFlowsFilter(plugin.clone()).into(),
                ));
            }
        }
        Ok(())
    }
}
