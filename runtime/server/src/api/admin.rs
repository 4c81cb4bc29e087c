//! A tenant admin's endpoints: plugins, flows, users and tokens.

use std::collections::{BTreeMap, HashSet};

use assent_engine::check_inputs;
use assent_store::{FlowParams, NewEvent, NewFlow, NewUser, PluginRecord};
use assent_types::{Handler, HandlerKind, Identity, PromptField, Role};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::views::{FlowView, PluginView, UserRef};
use super::{ApiError, AppState, Body, Tenant};

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
    let plugins = state.runner.plugins();
    let plugin = plugins.host().load(bytes.to_vec()).await.map_err(|error| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_plugin",
            error.to_string(),
        )
    })?;
    let store = state.runner.store();
    let existed = store
        .plugin(tenant.org_id(), plugin.hash())
        .await?
        .is_some();
    let record = PluginRecord {
        hash: plugin.hash().to_owned(),
        size: i64::try_from(plugin.size()).unwrap_or(i64::MAX),
        sdk: plugin.sdk().to_owned(),
        contract_version: plugin.contract_version().to_owned(),
        handlers: plugin.handlers().iter().map(ToString::to_string).collect(),
        created_at: 0,
    };
    let stored = store.put_plugin(tenant.org_id(), &record, &bytes).await?;
    plugins.remember(&plugin).await;
    if !existed {
        store
            .append(
                tenant.org_id(),
                &[NewEvent {
                    run_id: None,
                    kind: "plugin.uploaded".into(),
                    actor: Some(tenant.0.user.clone()),
                    data: json!({ "hash": stored.hash, "sdk": stored.sdk, "handlers": stored.handlers }),
                }],
            )
            .await?;
    }
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(PluginView::from(&stored))))
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
    /// The hash of an uploaded strategy plugin, if the flow grants access through one.
    #[serde(default)]
    pub strategy: Option<String>,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
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
    let invalid =
        |message: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_flow", message);
    if !valid_name(&name) {
        return Err(invalid(format!(
            "`{name}` is not a usable flow name; use letters, digits, `-` and `_`"
        )));
    }
    let store = state.runner.store();
    let org = tenant.org_id();
    let plugin = store.plugin(org, &body.plugin).await?.ok_or_else(|| {
        invalid(format!(
            "plugin `{}` is not uploaded; upload it first with POST /api/v1/plugins",
            body.plugin
        ))
    })?;
    let handlers: HashSet<Handler> = plugin
        .handlers
        .iter()
        .filter_map(|h| h.parse().ok())
        .collect();
    if !handlers.contains(&Handler::GetPermissions) && !handlers.contains(&Handler::GetApprovers) {
        return Err(invalid(format!(
            "plugin `{}` has no `get_permissions` (or `get_approvers`), so it cannot run a flow",
            body.plugin
        )));
    }
    if let Some(strategy) = &body.strategy {
        let record = store.plugin(org, strategy).await?.ok_or_else(|| {
            invalid(format!(
                "strategy plugin `{strategy}` is not uploaded; upload it first"
            ))
        })?;
        let is_strategy = record
            .handlers
            .iter()
            .filter_map(|h| h.parse::<Handler>().ok())
            .any(|h| h.kind() == HandlerKind::Strategy);
        if !is_strategy {
            return Err(invalid(format!(
                "plugin `{strategy}` implements no `escalate` or `deescalate`, so it is not a strategy"
            )));
        }
    }
    let mut seen = HashSet::new();
    for field in &body.fields {
        if !seen.insert(field.name.as_str()) {
            return Err(invalid(format!("field `{}` appears twice", field.name)));
        }
    }
    // The defaults must be values the form accepts.
    let defaults: serde_json::Map<String, serde_json::Value> = body
        .fields
        .iter()
        .filter_map(|field| {
            field
                .default
                .clone()
                .map(|value| (field.name.clone(), value))
        })
        .collect();
    let mut optional = body.fields.clone();
    optional.iter_mut().for_each(|field| field.required = false);
    if let Err(errors) = check_inputs(&optional, &defaults) {
        let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
        return Err(invalid(format!(
            "a default does not fit its field: {}",
            list.join("; ")
        )));
    }
    let environment = body
        .environment
        .clone()
        .unwrap_or_else(|| "main".to_owned());
    let environment_id = store.ensure_environment(org, &environment).await?;
    let flow = store
        .put_flow(
            org,
            &NewFlow {
                name: name.clone(),
                label: body.label.clone().unwrap_or_else(|| name.clone()),
                environment_id,
                vars: body.vars.clone(),
                fields: body.fields.clone(),
                params: body.params.clone().unwrap_or_default(),
                plugin_hash: body.plugin.clone(),
                strategy_hash: body.strategy.clone(),
            },
        )
        .await?;
    store
        .append(
            org,
            &[NewEvent {
                run_id: None,
                kind: "flow.updated".into(),
                actor: Some(tenant.0.user.clone()),
                data: json!({ "flow": flow.name, "version": flow.version, "plugin": flow.plugin_hash }),
            }],
        )
        .await?;
    Ok((StatusCode::CREATED, Json(FlowView::from(&flow))))
}

#[utoipa::path(get, path = "/api/v1/flows", tag = "flows",
    responses((status = 200, body = Vec<FlowView>)), security(("api_token" = [])))]
pub async fn list_flows(
    tenant: Tenant,
    State(state): State<AppState>,
) -> Result<Json<Vec<FlowView>>, ApiError> {
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
    /// `admin`, `member` (the default) or `guest`.
    #[serde(default)]
    #[schema(value_type = String)]
    pub role: Role,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    /// Accounts elsewhere, e.g. `{"service": "slack", "external_id": "U123"}`.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub identities: Vec<Identity>,
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

/// Creates the user with this email, or updates them.
#[utoipa::path(put, path = "/api/v1/users/{email}", tag = "admin", request_body = UserBody,
    responses((status = 200, body = UserView)), security(("api_token" = [])))]
pub async fn put_user(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(email): Path<String>,
    Body(body): Body<UserBody>,
) -> Result<Json<UserView>, ApiError> {
    tenant.require_admin()?;
    if !email.contains('@') {
        return Err(ApiError::bad_request(format!(
            "`{email}` is not an email address"
        )));
    }
    let user = state
        .runner
        .store()
        .upsert_user(
            tenant.org_id(),
            &NewUser {
                email,
                username: body.username,
                first_name: body.first_name,
                last_name: body.last_name,
                role: body.role,
                identities: body.identities,
            },
        )
        .await?;
    state
        .runner
        .store()
        .append(
            tenant.org_id(),
            &[NewEvent {
                run_id: None,
                kind: "user.updated".into(),
                actor: Some(tenant.0.user.clone()),
                data: json!({ "user": user.email, "role": user.role }),
            }],
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
    responses((status = 201, body = TokenView)), security(("api_token" = [])))]
pub async fn create_token(
    tenant: Tenant,
    State(state): State<AppState>,
    Body(body): Body<TokenBody>,
) -> Result<(StatusCode, Json<TokenView>), ApiError> {
    tenant.require_admin()?;
    let store = state.runner.store();
    let user = store
        .user_by_email(tenant.org_id(), &body.email)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user `{}`", body.email)))?;
    let token = store
        .create_token(tenant.org_id(), &user.id, &body.name)
        .await?;
    store
        .append(
            tenant.org_id(),
            &[NewEvent {
                run_id: None,
                kind: "token.created".into(),
                actor: Some(tenant.0.user.clone()),
                data: json!({ "user": user.email, "name": body.name }),
            }],
        )
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
#[utoipa::path(put, path = "/api/v1/environments/{name}", tag = "admin", request_body = EnvironmentBody,
    params(("name" = String, Path, description = "The environment, e.g. `main`")),
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
    let store = state.runner.store();
    store
        .set_error_logger(tenant.org_id(), &name, channel)
        .await?;
    store
        .append(
            tenant.org_id(),
            &[NewEvent {
                run_id: None,
                kind: "environment.updated".into(),
                actor: Some(tenant.0.user.clone()),
                data: json!({ "environment": name, "error_logger": channel }),
            }],
        )
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
