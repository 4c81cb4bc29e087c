//! A tenant admin's endpoints: plugins, flows, users and tokens.

use std::collections::BTreeMap;

use assent_runner::FlowDefinition;
use assent_store::{FlowParams, NewUser};
use assent_types::{Identity, PromptField, Role, Strategy};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::views::{FlowView, PluginView, UserRef};
use super::{ApiError, AppState, Body, Params, Tenant};

/// Uploads a compiled plugin (`Content-Type: application/wasm`). It is checked, compiled and
/// asked what it implements before it is stored; a bad plugin is refused with the reason.
#[utoipa::path(post, path = "/api/v1/plugins", tag = "admin",
    request_body(content = Vec<u8>, content_type = "application/wasm"),
    responses((status = 201, body = PluginView), (status = 200, body = PluginView, description = "already uploaded"),
              (status = 422, description = "not a usable plugin")),
    security(("api_token" = [])))]
pub async fn upload_plugin(
    tenant: Tenant,
    State(state): State<AppState>,
    headers: HeaderMap,
    bytes: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<PluginView>), ApiError> {
    tenant.require_admin()?;
    let bytes = super::error::raw_body(bytes)?;
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if content_type != "application/wasm" {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the plugin's `.wasm` file as the body with `Content-Type: application/wasm`",
        ));
    }
    let installed = state
        .runner
        .install_plugin(tenant.org_id(), Some(&tenant.0.user), bytes.as_ref().into())
        .await?;
    let status = if installed.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(PluginView::from(&installed.record))))
}

#[utoipa::path(get, path = "/api/v1/plugins", tag = "admin",
    responses((status = 200, body = Vec<PluginView>)), security(("api_token" = [])))]
pub async fn list_plugins(
    tenant: Tenant,
    State(state): State<AppState>,
) -> Result<Json<Vec<PluginView>>, ApiError> {
    tenant.require_admin()?;
    let plugins = state.runner.store().plugins(tenant.org_id()).await?;
    Ok(Json(plugins.iter().map(PluginView::from).collect()))
}

#[utoipa::path(get, path = "/api/v1/plugins/{hash}", tag = "admin",
    responses((status = 200, body = PluginView), (status = 404)), security(("api_token" = [])))]
pub async fn get_plugin(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(hash): Path<String>,
) -> Result<Json<PluginView>, ApiError> {
    tenant.require_admin()?;
    let plugin = state
        .runner
        .store()
        .plugin(tenant.org_id(), &hash)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("plugin `{hash}`")))?;
    Ok(Json(PluginView::from(&plugin)))
}

/// A flow version to store.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowBody {
    #[serde(default)]
    pub label: Option<String>,
    /// Defaults to `main`.
    #[serde(default)]
    pub environment: Option<String>,
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// The request form: `name`, `type` (`string`, `str_list`, `int`, `int_list`, `bool`,
    /// `duration`, `slack_user`, `slack_user_list`, `target`), `label`, `required`,
    /// `default`, `allowed_values`, `visible`.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub fields: Vec<PromptField>,
    /// `schedule_deescalation`, `allow_revoke` (both default true) and `targets`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: Option<FlowParams>,
    /// The hash of the flow's uploaded plugin.
    pub plugin: String,
    /// How the flow grants access, if it does: the hash of an uploaded strategy plugin, or
    /// a strategy such as `{"type": "okta", "integration": "okta"}` (types `custom` with a
    /// `plugin`, `okta`, `http`).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub strategy: Option<StrategyBody>,
}

/// A flow's `strategy` as it may be written: a strategy plugin's hash alone, or whole.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum StrategyBody {
    Plugin(String),
    Whole(Strategy),
}

// By hand rather than `untagged`, so a strategy object that does not fit says why ("an
// `okta` strategy needs `integration`") instead of "did not match any variant".
impl<'de> Deserialize<'de> for StrategyBody {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(hash) => Ok(StrategyBody::Plugin(hash)),
            whole => Strategy::deserialize(whole)
                .map(StrategyBody::Whole)
                .map_err(serde::de::Error::custom),
        }
    }
}

impl From<StrategyBody> for Strategy {
    fn from(body: StrategyBody) -> Strategy {
        match body {
            StrategyBody::Plugin(hash) => Strategy::plugin(hash),
            StrategyBody::Whole(strategy) => strategy,
        }
    }
}

impl FlowBody {
    pub(super) fn into_definition(self, name: String) -> FlowDefinition {
        FlowDefinition {
            name,
            label: self.label,
            environment: self.environment,
            vars: self.vars,
            fields: self.fields,
            params: self.params.unwrap_or_default(),
            plugin: self.plugin,
            strategy: self.strategy.map(Strategy::from),
        }
    }
}

/// Creates a flow or stores a new version of it. Runs already started keep their version.
#[utoipa::path(put, path = "/api/v1/flows/{name}", tag = "admin", request_body = FlowBody,
    responses((status = 201, body = FlowView), (status = 422, description = "invalid flow")),
    security(("api_token" = [])))]
pub async fn put_flow(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(name): Path<String>,
    Body(body): Body<FlowBody>,
) -> Result<(StatusCode, Json<FlowView>), ApiError> {
    tenant.require_admin()?;
    let flow = state
        .runner
        .put_flow(
            tenant.org_id(),
            Some(&tenant.0.user),
            body.into_definition(name),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(FlowView::from(&flow))))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct FlowsQuery {
    /// Only the flows the caller is offered (each flow's `on_prompt`, then the
    /// organisation's flows filter, decide), as Slack's picker lists them.
    #[serde(default)]
    pub offered: bool,
}

/// The organisation's flows, or with `offered=true` those the caller is offered.
#[utoipa::path(get, path = "/api/v1/flows", tag = "flows", params(FlowsQuery),
    responses((status = 200, body = Vec<FlowView>)), security(("api_token" = [])))]
pub async fn list_flows(
    tenant: Tenant,
    State(state): State<AppState>,
    Params(query): Params<FlowsQuery>,
) -> Result<Json<Vec<FlowView>>, ApiError> {
    if query.offered {
        return Ok(Json(super::forms::offered_flows(&state, &tenant).await?));
    }
    let flows = state.runner.store().flows(tenant.org_id()).await?;
    Ok(Json(flows.iter().map(FlowView::from).collect()))
}

#[utoipa::path(get, path = "/api/v1/flows/{name}", tag = "flows",
    responses((status = 200, body = FlowView), (status = 404)), security(("api_token" = [])))]
pub async fn get_flow(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<FlowView>, ApiError> {
    let flow = state
        .runner
        .store()
        .flow(tenant.org_id(), &name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("flow `{name}`")))?;
    Ok(Json(FlowView::from(&flow)))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserBody {
    /// `admin`, `member` or `guest`. Left out: unchanged (a new user is a member).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub role: Option<Role>,
    /// Only for bots: a name without `@`. A person's username is their email (as in Sym),
    /// so leave it out for people.
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    /// Accounts elsewhere, e.g. `{"service": "slack", "external_id": "U123"}`. Left out:
    /// unchanged.
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub identities: Option<Vec<Identity>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub username: String,
    pub role: String,
    #[schema(value_type = Vec<Object>)]
    pub identities: Vec<Identity>,
}

impl From<&assent_types::User> for UserView {
    fn from(user: &assent_types::User) -> Self {
        UserView {
            id: user.id.clone(),
            email: user.email.clone(),
            username: user.username.clone(),
            role: serde_json::to_value(user.role)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            identities: user.identities.clone(),
        }
    }
}

/// Creates the user with this email, or updates what the body gives. The organisation's last
/// admin cannot be demoted.
#[utoipa::path(put, path = "/api/v1/users/{email}", tag = "admin", request_body = UserBody,
    responses((status = 200, body = UserView), (status = 409, description = "the last admin")),
    security(("api_token" = [])))]
pub async fn put_user(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(email): Path<String>,
    Body(body): Body<UserBody>,
) -> Result<Json<UserView>, ApiError> {
    tenant.require_admin()?;
    let user = state
        .runner
        .put_user(
            tenant.org_id(),
            Some(&tenant.0.user),
            NewUser {
                email,
                username: body.username,
                first_name: body.first_name,
                last_name: body.last_name,
                role: body.role,
                identities: body.identities,
            },
        )
        .await?;
    Ok(Json(UserView::from(&user)))
}

#[utoipa::path(get, path = "/api/v1/users", tag = "admin",
    responses((status = 200, body = Vec<UserView>)), security(("api_token" = [])))]
pub async fn list_users(
    tenant: Tenant,
    State(state): State<AppState>,
) -> Result<Json<Vec<UserView>>, ApiError> {
    tenant.require_admin()?;
    let users = state.runner.store().users(tenant.org_id()).await?;
    Ok(Json(users.iter().map(UserView::from).collect()))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    /// The user the token acts as.
    pub email: String,
    /// What the token is for, e.g. `ci`.
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub user: UserRef,
    /// Shown only now; the server keeps a hash.
    pub token: String,
}

/// Makes an API token for a user of the organisation.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "admin", request_body = TokenBody,
    responses((status = 201, body = TokenView), (status = 404, description = "no such user in the organisation")),
    security(("api_token" = [])))]
pub async fn create_token(
    tenant: Tenant,
    State(state): State<AppState>,
    Body(body): Body<TokenBody>,
) -> Result<(StatusCode, Json<TokenView>), ApiError> {
    tenant.require_admin()?;
    let user = state
        .runner
        .store()
        .user_by_email(tenant.org_id(), &body.email)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user `{}`", body.email)))?;
    let token = state
        .runner
        .create_token(tenant.org_id(), Some(&tenant.0.user), &user, &body.name)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenView {
            user: UserRef::from(&user),
            token,
        }),
    ))
}

#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentBody {
    /// The Slack channel plugin and strategy errors of this environment's flows go to
    /// (`#assent-errors`); `null` stops reporting them.
    #[serde(default)]
    pub error_logger: Option<String>,
}

/// Sets an environment's error logger.
#[utoipa::path(put, path = "/api/v1/environments/{environment}", tag = "admin", request_body = EnvironmentBody,
    params(("environment" = String, Path, description = "The environment, e.g. `main`")),
    responses((status = 200, body = EnvironmentBody)), security(("api_token" = [])))]
pub async fn put_environment(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(name): Path<String>,
    Body(body): Body<EnvironmentBody>,
) -> Result<Json<EnvironmentBody>, ApiError> {
    tenant.require_admin()?;
    let channel = body
        .error_logger
        .as_deref()
        .map(str::trim)
        .filter(|channel| !channel.is_empty());
    state
        .runner
        .set_error_logger(tenant.org_id(), Some(&tenant.0.user), &name, channel)
        .await?;
    Ok(Json(EnvironmentBody {
        error_logger: channel.map(str::to_owned),
    }))
}

/// A link that connects a Slack workspace to the organisation. Open it in a browser as a
/// Slack admin; Slack sends you back to this server, which stores the workspace's bot token.
#[utoipa::path(post, path = "/api/v1/slack/install", tag = "admin",
    request_body = crate::slack::InstallRequest,
    responses((status = 200, body = crate::slack::InstallStart),
              (status = 404, description = "this server runs no Slack app")),
    security(("api_token" = [])))]
pub async fn start_slack_install(
    tenant: Tenant,
    State(state): State<AppState>,
    super::OptionalBody(body): super::OptionalBody<crate::slack::InstallRequest>,
) -> Result<Json<crate::slack::InstallStart>, ApiError> {
    tenant.require_admin()?;
    let Some(slack) = &state.slack else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "slack_not_configured",
            "this server runs no Slack app; start it with a Slack signing secret, client id, client secret and secrets key (see `assent serve --help`)",
        ));
    };
    let start = crate::slack::install_url(slack, tenant.org_id(), &body).map_err(|error| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            error.to_string(),
        )
    })?;
    Ok(Json(start))
}
