//! An environment's integrations (Sym's `sym_integration`). Settings ending in `_secret` name
//! a secret of the environment; nothing here ever shows a secret's value.

use std::collections::BTreeMap;

use assent_store::IntegrationRecord;
use assent_types::{IntegrationSpec, IntegrationType};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::views::timestamp;
use super::{ApiError, AppState, Body, Tenant};

/// An integration as an admin writes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationBody {
    /// `okta`, `pagerduty`, `github`, `google`, `jira`, `aws`, `knowbe4`, `onelogin`,
    /// `slack` or `http`.
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "okta")]
    pub integration_type: IntegrationType,
    /// Its id in its system: an Okta domain, a GitHub organisation, a Slack team id.
    #[serde(default)]
    pub external_id: String,
    /// Its settings; `api_url` overrides the provider's API base, and a setting ending in
    /// `_secret` names a secret of the environment (`api_token_secret = "okta-token"`).
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrationView {
    pub name: String,
    pub environment: String,
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub integration_type: IntegrationType,
    pub external_id: String,
    pub settings: BTreeMap<String, String>,
    /// Increases with every change.
    pub version: i64,
    pub updated_by: Option<String>,
    pub updated_at: String,
}

impl IntegrationView {
    fn new(environment: &str, record: IntegrationRecord) -> IntegrationView {
        IntegrationView {
            name: record.name,
            environment: environment.to_owned(),
            integration_type: record.spec.integration_type,
            external_id: record.spec.external_id,
            settings: record.spec.settings,
            version: record.version,
            updated_by: record.updated_by,
            updated_at: timestamp(record.updated_at),
        }
    }
}

/// Creates or replaces an integration of the environment.
#[utoipa::path(put, path = "/api/v1/environments/{environment}/integrations/{name}", tag = "admin",
    request_body = IntegrationBody,
    params(("environment" = String, Path, description = "The environment, e.g. `main`"),
           ("name" = String, Path, description = "The integration's name, e.g. `okta`")),
    responses((status = 200, body = IntegrationView),
              (status = 422, description = "settings its type does not take, or a secret the environment does not have")),
    security(("api_token" = [])))]
pub async fn put_integration(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((environment, name)): Path<(String, String)>,
    Body(body): Body<IntegrationBody>,
) -> Result<Json<IntegrationView>, ApiError> {
    tenant.require_admin()?;
    let spec = IntegrationSpec {
        integration_type: body.integration_type,
        external_id: body.external_id.trim().to_owned(),
        settings: body.settings,
    };
    let record = state
        .runner
        .put_integration(
            tenant.org_id(),
            Some(&tenant.0.user),
            &environment,
            &name,
            &spec,
        )
        .await?;
    Ok(Json(IntegrationView::new(&environment, record)))
}

#[utoipa::path(get, path = "/api/v1/environments/{environment}/integrations/{name}", tag = "admin",
    params(("environment" = String, Path, description = "The environment, e.g. `main`"),
           ("name" = String, Path, description = "The integration's name")),
    responses((status = 200, body = IntegrationView), (status = 404, description = "no such integration")),
    security(("api_token" = [])))]
pub async fn get_integration(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((environment, name)): Path<(String, String)>,
) -> Result<Json<IntegrationView>, ApiError> {
    tenant.require_admin()?;
    let record = state
        .runner
        .integration(tenant.org_id(), &environment, &name)
        .await?;
    Ok(Json(IntegrationView::new(&environment, record)))
}

#[utoipa::path(get, path = "/api/v1/environments/{environment}/integrations", tag = "admin",
    params(("environment" = String, Path, description = "The environment, e.g. `main`")),
    responses((status = 200, body = [IntegrationView]), (status = 404, description = "no such environment")),
    security(("api_token" = [])))]
pub async fn list_integrations(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(environment): Path<String>,
) -> Result<Json<Vec<IntegrationView>>, ApiError> {
    tenant.require_admin()?;
    let records = state
        .runner
        .integrations(tenant.org_id(), &environment)
        .await?;
    Ok(Json(
        records
            .into_iter()
            .map(|record| IntegrationView::new(&environment, record))
            .collect(),
    ))
}

#[utoipa::path(delete, path = "/api/v1/environments/{environment}/integrations/{name}", tag = "admin",
    params(("environment" = String, Path, description = "The environment, e.g. `main`"),
           ("name" = String, Path, description = "The integration's name")),
    responses((status = 204), (status = 404, description = "no such integration")),
    security(("api_token" = [])))]
pub async fn delete_integration(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((environment, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    tenant.require_admin()?;
    state
        .runner
        .delete_integration(tenant.org_id(), Some(&tenant.0.user), &environment, &name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
