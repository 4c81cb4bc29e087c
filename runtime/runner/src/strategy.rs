//! A flow's strategy at escalation and deescalation: an uploaded plugin's `escalate` and
//! `deescalate`, or one of the host's own (`assent-strategies`) acting through an integration
//! of the flow's environment. Either way the answer is the step's output, and a failure says
//! whether it may pass, so the step pipeline knows to try again later or to stop the run.

use assent_engine::StrategyCall;
use assent_plugin_host::{IntegrationErrorKind, Plugin};
use assent_store::RunRecord;
use assent_strategies::{Change, Grant};
use assent_types::{Step, StrategyType, User};
use serde_json::Value;

use crate::Runner;
use crate::context::{FlowContext, event_for};
use crate::failure::StepFailure;
use crate::reach::{EnvironmentIntegrations, Reach};

/// How a flow grants access, ready to run.
pub(crate) enum AccessStrategy {
    Plugin(Plugin),
    BuiltIn {
        strategy_type: StrategyType,
        integration: String,
    },
}

impl Runner {
    /// Grants or takes back the run's access with the flow's strategy, on `actor`'s behalf
    /// (the requester, as in Sym). Answers the step's output; none without a strategy.
    pub(crate) async fn call_strategy(
        &self,
        context: &FlowContext,
        call: StrategyCall,
        actor: &User,
        step: Step,
        run: &RunRecord,
    ) -> Result<Option<Value>, StepFailure> {
        let Some(strategy) = &context.strategy else {
            return Ok(None);
        };
        let event = event_for(step, actor, context, run);
        // A flow with one target and no field to choose it grants that one.
        let target = event
            .target()
            .cloned()
            .or_else(|| match context.flow.params.targets.as_slice() {
                [only] => Some(only.clone()),
                _ => None,
            })
            .unwrap_or_default();
        match strategy {
            AccessStrategy::Plugin(plugin) => {
                let reach = Reach::flow(&context.flow.environment, Some(&run.id));
                let mut session = self.session(&run.org_id, plugin, reach).await?;
                let output = match call {
                    StrategyCall::Escalate => session.session.escalate(&target, &event).await,
                    StrategyCall::Deescalate => session.session.deescalate(&target, &event).await,
                };
                output.map_err(StepFailure::from)
            }
            AccessStrategy::BuiltIn {
                strategy_type,
                integration,
            } => {
                let change = match call {
                    StrategyCall::Escalate => Change::Grant,
                    StrategyCall::Deescalate => Change::Revoke,
                };
                let failed = |message: String, transient: bool| StepFailure::Strategy {
                    strategy_type: *strategy_type,
                    change,
                    message,
                    transient,
                };
                let integrations = EnvironmentIntegrations::new(
                    self,
                    &run.org_id,
                    &context.flow.environment,
                    Some(&run.id),
                );
                let connection = integrations
                    .connection(integration)
                    .await
                    .map_err(|error| {
                        let transient = error.kind == IntegrationErrorKind::Unavailable;
                        failed(error.message, transient)
                    })?;
                let mut records = Vec::new();
                let grant = Grant {
                    event: &event,
                    target: &target,
                };
                let answer = assent_strategies::run(
                    &self.outbound,
                    &connection,
                    *strategy_type,
                    change,
                    grant,
                    &mut records,
                )
                .await;
                integrations.audit(records).await;
                match answer {
                    Ok(output) => Ok(Some(output)),
                    Err(error) => Err(failed(error.to_string(), error.is_transient())),
                }
            }
        }
    }

    /// The flow's strategy, with its plugin loaded if it is one.
    pub(crate) async fn access_strategy(
        &self,
        org_id: &str,
        flow: &assent_store::FlowRecord,
    ) -> Result<Option<AccessStrategy>, crate::RuntimeError> {
        Ok(match &flow.strategy {
            None => None,
            Some(assent_types::Strategy::Plugin { hash, .. }) => Some(AccessStrategy::Plugin(
                self.plugins
                    .get(&self.store, org_id, hash)
                    .await?
                    .named(format!("{} strategy", flow.name)),
            )),
            Some(assent_types::Strategy::BuiltIn {
                strategy_type,
                integration,
            }) => Some(AccessStrategy::BuiltIn {
                strategy_type: *strategy_type,
                integration: integration.clone(),
            }),
        })
    }
}
