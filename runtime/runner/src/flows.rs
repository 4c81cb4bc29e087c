//! Plugins installed and flows stored: one path for the API (`POST /plugins`, `PUT
//! /flows/{name}`), the demo organisation and configuration files alike, so a flow that one
//! of them would refuse cannot arrive through another.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use assent_engine::flow::{FlowDefinition, FlowError, validate};
use assent_store::{EventKind, FlowRecord, FlowsFilter, NewEvent, NewFlow, PluginRecord};
use assent_types::{Handler, Strategy, StrategyType, User};
use serde_json::json;

use crate::{Runner, RuntimeError};

/// A plugin after installation.
#[derive(Debug, Clone)]
pub struct InstalledPlugin {
    pub record: PluginRecord,
    /// `false` when the organisation had uploaded these bytes before.
    pub created: bool,
}

/// The handlers a stored plugin implements.
fn handlers(record: &PluginRecord) -> HashSet<Handler> {
    record
        .handlers
        .iter()
        .filter_map(|handler| handler.parse().ok())
        .collect()
}

impl Runner {
    /// Checks, compiles and describes a plugin, then stores it for the organisation (once:
    /// the same bytes again change nothing). `actor` is the admin who uploaded it; `None`
    /// for plugins the server provisions itself.
    pub async fn install_plugin(
        &self,
        org_id: &str,
        actor: Option<&User>,
        bytes: Arc<[u8]>,
    ) -> Result<InstalledPlugin, RuntimeError> {
        // One copy of the bytes, shared: the host compiles them, the store keeps them.
        let plugin = self
            .plugins
            .host()
            .load(Arc::clone(&bytes))
            .await
            .map_err(|error| RuntimeError::InvalidPlugin(error.to_string()))?;
        let existed = self.store.plugin(org_id, plugin.hash()).await?.is_some();
        let record = PluginRecord {
            hash: plugin.hash().to_owned(),
            size: i64::try_from(plugin.size()).unwrap_or(i64::MAX),
            sdk: plugin.sdk().to_owned(),
            contract_version: plugin.contract_version().to_owned(),
            handlers: plugin.handlers().iter().map(ToString::to_string).collect(),
            created_at: 0,
        };
        let stored = self.store.put_plugin(org_id, &record, &bytes).await?;
        self.plugins.remember(&plugin);
        if !existed {
            let event = NewEvent::org(
                EventKind::PluginUploaded,
                actor,
                json!({ "hash": stored.hash, "sdk": stored.sdk, "handlers": stored.handlers }),
            );
            self.store.append(org_id, &[event]).await?;
        }
        Ok(InstalledPlugin {
            record: stored,
            created: !existed,
        })
    }

    /// Validates `definition` and stores it as the flow's next version (runs already started
    /// keep theirs). `actor` is the admin; `None` for flows the server provisions itself.
    pub async fn put_flow(
        &self,
        org_id: &str,
        actor: Option<&User>,
        definition: FlowDefinition,
    ) -> Result<FlowRecord, RuntimeError> {
        self.check_flow(org_id, &definition).await?;
        let environment = definition.environment.as_deref().unwrap_or("main");
        let environment_id = self.store.ensure_environment(org_id, environment).await?;
        let flow = self
            .store
            .put_flow(
                org_id,
                &NewFlow {
                    label: definition.label.unwrap_or_else(|| definition.name.clone()),
                    name: definition.name,
                    environment_id,
                    vars: definition.vars,
                    fields: definition.fields,
                    params: definition.params,
                    plugin_hash: definition.plugin,
                    strategy: definition.strategy,
                },
            )
            .await?;
        let event = NewEvent::org(
            EventKind::FlowUpdated,
            actor,
            json!({ "flow": flow.name, "version": flow.version, "plugin": flow.plugin_hash }),
        );
        self.store.append(org_id, &[event]).await?;
        Ok(flow)
    }

    /// Checks `definition` against the organisation's plugins: `engine::flow::validate`,
    /// and that fields marked `prefetch` are ones the plugin fetches.
    pub(crate) async fn check_flow(
        &self,
        org_id: &str,
        definition: &FlowDefinition,
    ) -> Result<(), RuntimeError> {
        let mut records = Vec::with_capacity(2);
        let strategy_plugin = definition.strategy.as_ref().and_then(Strategy::plugin_hash);
        for hash in std::iter::once(definition.plugin.as_str()).chain(strategy_plugin) {
            if let Some(record) = self.store.plugin(org_id, hash).await? {
                records.push(record);
            }
        }
        if let Some(strategy_type) = definition
            .strategy
            .as_ref()
            .map(Strategy::strategy_type)
            .filter(|kind| *kind != StrategyType::Custom && !assent_strategies::provides(*kind))
        {
            return Err(FlowError::StrategyNotProvided(strategy_type).into());
        }
        let environment = definition.environment.as_deref().unwrap_or("main");
        let integrations = self.environment_integrations(org_id, environment).await?;
        validate(
            definition,
            |hash| {
                records
                    .iter()
                    .find(|record| record.hash == hash)
                    .map(handlers)
            },
            |name| {
                integrations
                    .iter()
                    .find(|record| record.name == name)
                    .map(|record| record.spec.integration_type)
            },
        )?;
        // Choices a field says its plugin fetches must be ones the plugin can fetch.
        if definition.fields.iter().any(|field| field.prefetch) {
            let plugin = self
                .plugins
                .get(&self.store, org_id, &definition.plugin)
                .await?;
            if let Some(missing) = definition
                .fields
                .iter()
                .find(|field| field.prefetch && !plugin.prefetch_fields().contains(&field.name))
            {
                return Err(FlowError::NotPrefetched {
                    field: missing.name.clone(),
                    plugin: definition.plugin.clone(),
                }
                .into());
            }
        }
        Ok(())
    }

    /// Makes plugin `hash` (with `vars`) the organisation's flows filter: its `get_flows`
    /// decides which flows each person is offered, as Sym's `sym_flows_filter` does.
    pub async fn put_flows_filter(
        &self,
        org_id: &str,
        actor: Option<&User>,
        hash: &str,
        vars: BTreeMap<String, String>,
    ) -> Result<FlowsFilter, RuntimeError> {
        let record = self
            .store
            .plugin(org_id, hash)
            .await?
            .ok_or_else(|| FlowError::PluginMissing(hash.to_owned()))?;
        if !handlers(&record).contains(&Handler::GetFlows) {
            return Err(FlowError::NotAFlowsFilter(hash.to_owned()).into());
        }
        let filter = self.store.put_flows_filter(org_id, hash, &vars).await?;
        let event = NewEvent::org(
            EventKind::FlowsFilterUpdated,
            actor,
            json!({ "plugin": hash, "vars": vars }),
        );
        self.store.append(org_id, &[event]).await?;
        Ok(filter)
    }

    /// Removes the organisation's flows filter: everyone is offered every flow their
    /// `on_prompt` allows. `false` when there was none.
    pub async fn delete_flows_filter(
        &self,
        org_id: &str,
        actor: Option<&User>,
    ) -> Result<bool, RuntimeError> {
        let deleted = self.store.delete_flows_filter(org_id).await?;
        if deleted {
            let event = NewEvent::org(
                EventKind::FlowsFilterUpdated,
                actor,
                json!({ "plugin": null }),
            );
            self.store.append(org_id, &[event]).await?;
        }
        Ok(deleted)
    }
}
