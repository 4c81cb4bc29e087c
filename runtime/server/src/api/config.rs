//! Configuration as code: a whole configuration (environments, flows, the flows filter) as
//! `assent plan` and `assent apply` send it — planned against what is stored, or applied at
//! once.

use std::collections::BTreeMap;

use assent_runner::{ConfigPlan, ConfigSpec};
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use super::admin::{EnvironmentBody, FlowBody};
use super::forms::FlowsFilterBody;
use super::{ApiError, AppState, Body, Tenant};

/// A configuration: what it names is made so; what it leaves out is kept.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigBody {
    /// Environment name → its settings (`error_logger`).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub environments: BTreeMap<String, EnvironmentBody>,
    /// Flow name → its definition, as `PUT /flows/{name}` takes it.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub flows: BTreeMap<String, FlowBody>,
    /// The flows filter; left out, the stored one (or none) stays.
    #[serde(default)]
    pub flows_filter: Option<FlowsFilterBody>,
}

impl ConfigBody {
    fn into_spec(self) -> ConfigSpec {
        ConfigSpec {
            environments: self
                .environments
                .into_iter()
                .map(|(name, environment)| {
                    let channel = environment
                        .error_logger
                        .map(|channel| channel.trim().to_owned())
                        .filter(|channel| !channel.is_empty());
                    (name, channel)
                })
                .collect(),
            flows: self
                .flows
                .into_iter()
                .map(|(name, flow)| flow.into_definition(name))
                .collect(),
            flows_filter: self.flows_filter.map(|filter| (filter.plugin, filter.vars)),
        }
    }
}

/// What applying the configuration would change: each item created, updated (naming the
/// parts) or unchanged, and the stored flows it does not name (kept). Checks everything as
/// an apply does.
#[utoipa::path(post, path = "/api/v1/config/plan", tag = "admin", request_body = ConfigBody,
    responses((status = 200, body = Object), (status = 422, description = "an item is not usable")),
    security(("api_token" = [])))]
pub async fn plan(
    tenant: Tenant,
    State(state): State<AppState>,
    Body(body): Body<ConfigBody>,
) -> Result<Json<ConfigPlan>, ApiError> {
    tenant.require_admin()?;
    let plan = state
        .runner
        .plan_config(tenant.org_id(), &body.into_spec())
        .await?;
    Ok(Json(plan))
}

/// Applies the configuration at once: every item is checked first, then everything that
/// changed is written in one transaction (flows as new versions). Nothing changed, nothing
/// written. Answers what it changed.
#[utoipa::path(put, path = "/api/v1/config", tag = "admin", request_body = ConfigBody,
    responses((status = 200, body = Object), (status = 422, description = "an item is not usable; nothing was applied")),
    security(("api_token" = [])))]
pub async fn apply(
    tenant: Tenant,
    State(state): State<AppState>,
    Body(body): Body<ConfigBody>,
) -> Result<Json<ConfigPlan>, ApiError> {
    tenant.require_admin()?;
    let plan = state
        .runner
        .apply_config(tenant.org_id(), Some(&tenant.0.user), &body.into_spec())
        .await?;
    Ok(Json(plan))
}
