//! What a person can request and the forms they fill in: the flows they are offered, and a
//! flow's form with its prefetched choices and what `on_change` made of the values so far.
//! Also the organisation's flows filter, which admins set.

use std::collections::BTreeMap;

use assent_runner::FormAnswer;
use assent_store::FlowsFilter;
use assent_types::{ChannelType, FormField};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::views::{FlowView, timestamp};
use super::{ApiError, AppState, Body, Tenant};

/// A flow's request form for the caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct FormView {
    pub flow: String,
    pub label: String,
    /// The fields in display order, with the choices offered now (`allowed_values`) and the
    /// values entered so far.
    #[schema(value_type = Vec<Object>)]
    pub fields: Vec<FormField>,
    /// The fields whose changes the flow's plugin answers: when one changes, `POST` the
    /// values to this form again to see what changed.
    pub on_change: Vec<String>,
}

/// The values entered so far.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormBody {
    /// Field name to value, in the forms `POST /events/request` takes.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub values: Map<String, Value>,
}

/// What a missing filter is called in "… does not exist".
const NO_FILTER: &str = "a flows filter (set one with PUT /api/v1/flows-filter)";

async fn form_of(
    state: &AppState,
    tenant: &Tenant,
    name: &str,
    values: &Map<String, Value>,
) -> Result<Json<FormView>, ApiError> {
    let flow = state
        .runner
        .store()
        .flow(tenant.org_id(), name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("flow `{name}`")))?;
    let answer = state
        .runner
        .form(
            tenant.org_id(),
            &flow,
            &tenant.0.user,
            ChannelType::Api,
            values,
        )
        .await?;
    match answer {
        FormAnswer::Offer(form) => Ok(Json(FormView {
            flow: flow.name,
            label: flow.label,
            fields: form.fields,
            on_change: form.on_change,
        })),
        FormAnswer::Withhold(message) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_offered",
            message
                .filter(|message| !message.trim().is_empty())
                .unwrap_or_else(|| format!("flow `{name}` is not offered to you")),
        )),
    }
}

/// The flow's request form as the caller would see it: choices the flow's plugin prefetches
/// are filled in. Refused (`not_offered`) when its `on_prompt` or the flows filter does not
/// offer it to the caller.
#[utoipa::path(get, path = "/api/v1/flows/{name}/form", tag = "flows",
    params(("name" = String, Path, description = "The flow")),
    responses((status = 200, body = FormView), (status = 403, description = "not offered to you"),
              (status = 404)),
    security(("api_token" = [])))]
pub async fn get_form(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<FormView>, ApiError> {
    form_of(&state, &tenant, &name, &Map::new()).await
}

/// The form after the caller entered `values`: the flow's `on_change` handlers may have
/// shown or hidden fields, made them required, or changed their choices. A request with
/// these values is held to this form.
#[utoipa::path(post, path = "/api/v1/flows/{name}/form", tag = "flows", request_body = FormBody,
    params(("name" = String, Path, description = "The flow")),
    responses((status = 200, body = FormView), (status = 403, description = "not offered to you"),
              (status = 404)),
    security(("api_token" = [])))]
pub async fn fill_form(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(name): Path<String>,
    Body(body): Body<FormBody>,
) -> Result<Json<FormView>, ApiError> {
    form_of(&state, &tenant, &name, &body.values).await
}

/// The flows the caller is offered: each flow's `on_prompt`, then the flows filter, decide.
/// A flow whose plugin failed deciding is left out.
pub(super) async fn offered_flows(
    state: &AppState,
    tenant: &Tenant,
) -> Result<Vec<FlowView>, ApiError> {
    let offered = state
        .runner
        .offered_flows(tenant.org_id(), &tenant.0.user, ChannelType::Api)
        .await?;
    for failure in &offered.failures {
        tracing::warn!(flow = %failure.flow, error = %failure.error, "a plugin failed deciding what is offered");
    }
    Ok(offered.flows.iter().map(FlowView::from).collect())
}

/// The organisation's flows filter, as `sym_flows_filter` describes one.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowsFilterBody {
    /// The hash of an uploaded plugin with a `get_flows`.
    pub plugin: String,
    /// Given to `get_flows` as its `flows_filter_vars`.
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FlowsFilterView {
    pub plugin: String,
    pub vars: BTreeMap<String, String>,
    pub updated_at: String,
}

impl From<FlowsFilter> for FlowsFilterView {
    fn from(filter: FlowsFilter) -> Self {
        FlowsFilterView {
            plugin: filter.plugin_hash,
            vars: filter.vars,
            updated_at: timestamp(filter.updated_at),
        }
    }
}

/// Sets the organisation's flows filter: a plugin whose `get_flows` decides, per person,
/// which flows they are offered (in Slack's picker and `GET /flows?offered=true`).
#[utoipa::path(put, path = "/api/v1/flows-filter", tag = "admin", request_body = FlowsFilterBody,
    responses((status = 200, body = FlowsFilterView), (status = 422, description = "not a flows filter")),
    security(("api_token" = [])))]
pub async fn put_flows_filter(
    tenant: Tenant,
    State(state): State<AppState>,
    Body(body): Body<FlowsFilterBody>,
) -> Result<Json<FlowsFilterView>, ApiError> {
    tenant.require_admin()?;
    let filter = state
        .runner
        .put_flows_filter(
            tenant.org_id(),
            Some(&tenant.0.user),
            &body.plugin,
            body.vars,
        )
        .await?;
    Ok(Json(filter.into()))
}

#[utoipa::path(get, path = "/api/v1/flows-filter", tag = "admin",
    responses((status = 200, body = FlowsFilterView), (status = 404, description = "none set")),
    security(("api_token" = [])))]
pub async fn get_flows_filter(
    tenant: Tenant,
    State(state): State<AppState>,
) -> Result<Json<FlowsFilterView>, ApiError> {
    tenant.require_admin()?;
    let filter = state.runner.store().flows_filter(tenant.org_id()).await?;
    filter
        .map(|filter| Json(filter.into()))
        .ok_or_else(|| ApiError::not_found(NO_FILTER))
}

/// Removes the flows filter: everyone is offered what each flow's `on_prompt` allows.
#[utoipa::path(delete, path = "/api/v1/flows-filter", tag = "admin",
    responses((status = 204), (status = 404, description = "none set")),
    security(("api_token" = [])))]
pub async fn delete_flows_filter(
    tenant: Tenant,
    State(state): State<AppState>,
) -> Result<StatusCode, ApiError> {
    tenant.require_admin()?;
    if state
        .runner
        .delete_flows_filter(tenant.org_id(), Some(&tenant.0.user))
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(NO_FILTER))
    }
}
