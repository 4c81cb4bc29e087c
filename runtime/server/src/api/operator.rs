//! The operator's endpoints: organisations, their first admin, and restoring an admin.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::admin::UserView;
use super::views::{UserRef, timestamp};
use super::{ApiError, AppState, Body, Operator};

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrganization {
    /// Short unique name, lowercase letters, digits and `-`.
    pub slug: String,
    pub name: String,
    /// The first admin; their API token is in the response, once.
    pub admin_email: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationView {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedOrganization {
    pub organization: OrganizationView,
    pub admin: UserRef,
    /// Shown only now; the server keeps a hash.
    pub token: String,
}

/// Creates an organisation with its first admin and their API token.
#[utoipa::path(post, path = "/api/v1/orgs", tag = "operator", request_body = CreateOrganization,
    responses((status = 201, body = CreatedOrganization), (status = 409, description = "slug taken")),
    security(("operator_token" = [])))]
pub async fn create_organization(
    _: Operator,
    State(state): State<AppState>,
    Body(body): Body<CreateOrganization>,
) -> Result<(StatusCode, Json<CreatedOrganization>), ApiError> {
    let created = state
        .runner
        .create_organization(&body.slug, &body.name, &body.admin_email)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedOrganization {
            organization: OrganizationView {
                id: created.organization.id.clone(),
                slug: created.organization.slug.clone(),
                name: created.organization.name.clone(),
                created_at: timestamp(created.organization.created_at),
            },
            admin: UserRef::from(&created.admin),
            token: created.token,
        }),
    ))
}

/// Makes `email` an admin of the organisation `slug` (creating the user if needed): the way
/// back in for an organisation whose admins are gone.
#[utoipa::path(put, path = "/api/v1/orgs/{slug}/admins/{email}", tag = "operator",
    params(("slug" = String, Path, description = "The organisation"),
           ("email" = String, Path, description = "Who becomes an admin")),
    responses((status = 200, body = UserView), (status = 404, description = "no such organisation")),
    security(("operator_token" = [])))]
pub async fn restore_admin(
    _: Operator,
    State(state): State<AppState>,
    Path((slug, email)): Path<(String, String)>,
) -> Result<Json<UserView>, ApiError> {
    let admin = state.runner.restore_admin(&slug, &email).await?;
    Ok(Json(UserView::from(&admin)))
}
