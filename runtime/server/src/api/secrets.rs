//! An environment's secrets: write-only. A value goes in with `PUT`; what comes out — of
//! `PUT`, the list and the audit log — is the secret's name, version, who set it and when.

use assent_secrets::SecretValue;
use assent_store::SecretRecord;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::views::timestamp;
use super::{ApiError, AppState, Body, Tenant};

/// A secret's new value. It is sealed at once and never shown again.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretBody {
    /// The value (an API token, a key, a service account's JSON key file).
    pub value: String,
}

impl std::fmt::Debug for SecretBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBody { value: [secret] }")
    }
}

/// A secret without its value.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretView {
    pub name: String,
    pub environment: String,
    /// Increases each time the secret is set.
    pub version: i64,
    /// The email of whoever set this version; `null` for configuration as code.
    pub set_by: Option<String>,
    pub set_at: String,
}

impl SecretView {
    fn new(environment: &str, record: SecretRecord) -> SecretView {
        SecretView {
            name: record.name,
            environment: environment.to_owned(),
            version: record.version,
            set_by: record.set_by,
            set_at: timestamp(record.set_at),
        }
    }
}

/// Sets a secret of the environment (a new version if it exists). Integrations reference it
/// by name from a setting ending in `_secret`.
#[utoipa::path(put, path = "/api/v1/environments/{environment}/secrets/{name}", tag = "admin",
    request_body = SecretBody,
    params(("environment" = String, Path, description = "The environment, e.g. `main`"),
           ("name" = String, Path, description = "The secret's name, e.g. `okta-api-token`")),
    responses((status = 200, body = SecretView), (status = 422, description = "an unusable name or value")),
    security(("api_token" = [])))]
pub async fn put_secret(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((environment, name)): Path<(String, String)>,
    Body(body): Body<SecretBody>,
) -> Result<Json<SecretView>, ApiError> {
    tenant.require_admin()?;
    let value = SecretValue::new(body.value);
    let record = state
        .runner
        .put_secret(
            tenant.org_id(),
            Some(&tenant.0.user),
            &environment,
            &name,
            &value,
        )
        .await?;
    Ok(Json(SecretView::new(&environment, record)))
}

/// The environment's secrets, without values.
#[utoipa::path(get, path = "/api/v1/environments/{environment}/secrets", tag = "admin",
    params(("environment" = String, Path, description = "The environment, e.g. `main`")),
    responses((status = 200, body = [SecretView]), (status = 404, description = "no such environment")),
    security(("api_token" = [])))]
pub async fn list_secrets(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(environment): Path<String>,
) -> Result<Json<Vec<SecretView>>, ApiError> {
    tenant.require_admin()?;
    let secrets = state.runner.secrets(tenant.org_id(), &environment).await?;
    Ok(Json(
        secrets
            .into_iter()
            .map(|record| SecretView::new(&environment, record))
            .collect(),
    ))
}

/// Deletes a secret; refused (409, naming them) while integrations use it.
#[utoipa::path(delete, path = "/api/v1/environments/{environment}/secrets/{name}", tag = "admin",
    params(("environment" = String, Path, description = "The environment, e.g. `main`"),
           ("name" = String, Path, description = "The secret's name")),
    responses((status = 204), (status = 404, description = "no such secret"),
              (status = 409, description = "integrations use the secret")),
    security(("api_token" = [])))]
pub async fn delete_secret(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((environment, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    tenant.require_admin()?;
    state
        .runner
        .delete_secret(tenant.org_id(), Some(&tenant.0.user), &environment, &name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
