//! The HTTP API under `/api/v1`: JSON in and out, errors with a stable code, the OpenAPI
//! description at `/api/v1/openapi.json`.

mod admin;
mod auth;
mod config;
mod error;
mod forms;
mod idempotency;
mod integrations;
mod operator;
mod requests;
mod secrets;
mod spec;
mod throttle;
mod views;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use spec::Completeness;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

pub use auth::{Operator, Tenant};
pub use error::{ApiError, Body, OptionalBody, Params};
pub use throttle::AuthThrottle;

use assent_runner::Runner;

/// What every handler gets.
#[derive(Debug, Clone)]
pub struct AppState {
    pub runner: Runner,
    /// The operator's token; `None` turns the operator endpoints off.
    pub operator_token: Option<Arc<str>>,
    /// The Slack app, when the server runs one (for install links).
    pub slack: Option<crate::Slack>,
    /// Failed authentications by address and token prefix.
    pub throttle: Arc<AuthThrottle>,
}

// JSON bodies are small: a flow with a hundred fields is tens of kilobytes, so 1 MiB leaves
// room for any real request and none for a memory-filling one. Plugins are the one large
// upload (their limit is the host's).
const JSON_BODY_LIMIT: usize = 1 << 20;

#[derive(OpenApi)]
#[openapi(
    info(title = "Assent API", description = "Just-in-time access approval: flows, runs, the Events API and the audit log."),
    paths(
        operator::create_organization, operator::restore_admin,
        admin::upload_plugin, admin::list_plugins, admin::get_plugin,
        admin::put_flow, admin::list_flows, admin::get_flow,
        forms::get_form, forms::fill_form,
        forms::put_flows_filter, forms::get_flows_filter, forms::delete_flows_filter,
        config::plan, config::apply,
        admin::put_user, admin::list_users, admin::create_token,
        admin::put_environment, admin::start_slack_install,
        secrets::put_secret, secrets::list_secrets, secrets::delete_secret,
        integrations::put_integration, integrations::get_integration,
        integrations::list_integrations, integrations::delete_integration,
        requests::request, requests::deescalate, requests::get_event,
        requests::get_run, requests::list_runs, requests::approve, requests::deny, requests::revoke,
        requests::audit,
    ),
    modifiers(&Security, &Completeness),
    tags(
        (name = "operator", description = "Organisations, with the operator's token."),
        (name = "admin", description = "A tenant admin's plugins, flows, users and tokens."),
        (name = "flows", description = "The flows a user can request."),
        (name = "events", description = "Sym-style Events API and the audit log."),
        (name = "runs", description = "Requests and what happened to them."),
    )
)]
struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer =
            || SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build());
        components.add_security_scheme("api_token", bearer());
        components.add_security_scheme("operator_token", bearer());
    }
}

/// The OpenAPI description of every route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi())
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint; the API is described at /api/v1/openapi.json",
    )
}

async fn health() -> &'static str {
    "ok"
}

pub fn router(state: AppState) -> Router {
    let plugin_limit = state.runner.host().config().max_component_bytes;
    let api = Router::new()
        .route("/orgs", post(operator::create_organization))
        .route("/orgs/{slug}/admins/{email}", put(operator::restore_admin))
        .route(
            "/plugins",
            post(admin::upload_plugin)
                .layer(DefaultBodyLimit::max(plugin_limit))
                .get(admin::list_plugins),
        )
        .route("/plugins/{hash}", get(admin::get_plugin))
        .route("/flows", get(admin::list_flows))
        .route("/flows/{name}", put(admin::put_flow).get(admin::get_flow))
        .route(
            "/flows/{name}/form",
            get(forms::get_form).post(forms::fill_form),
        )
        .route(
            "/flows-filter",
            put(forms::put_flows_filter)
                .get(forms::get_flows_filter)
                .delete(forms::delete_flows_filter),
        )
        .route("/config", put(config::apply))
        .route("/config/plan", post(config::plan))
        .route("/users", get(admin::list_users))
        .route("/users/{email}", put(admin::put_user))
        .route("/tokens", post(admin::create_token))
        .route("/environments/{environment}", put(admin::put_environment))
        .route(
            "/environments/{environment}/secrets",
            get(secrets::list_secrets),
        )
        .route(
            "/environments/{environment}/secrets/{name}",
            put(secrets::put_secret).delete(secrets::delete_secret),
        )
        .route(
            "/environments/{environment}/integrations",
            get(integrations::list_integrations),
        )
        .route(
            "/environments/{environment}/integrations/{name}",
            put(integrations::put_integration)
                .get(integrations::get_integration)
                .delete(integrations::delete_integration),
        )
        .route("/slack/install", post(admin::start_slack_install))
        .route("/events/request", post(requests::request))
        .route("/events/deescalate", post(requests::deescalate))
        .route("/events/{id}", get(requests::get_event))
        .route("/runs", get(requests::list_runs))
        .route("/runs/{id}", get(requests::get_run))
        .route("/runs/{id}/approve", post(requests::approve))
        .route("/runs/{id}/deny", post(requests::deny))
        .route("/runs/{id}/revoke", post(requests::revoke))
        .route("/audit", get(requests::audit))
        .route("/openapi.json", get(openapi_json))
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .fallback(not_found)
        .with_state(state);
    Router::new()
        .route("/health", get(health))
        .nest("/api/v1", api)
        .fallback(not_found)
}
