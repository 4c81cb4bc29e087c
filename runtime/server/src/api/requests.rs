//! The Events API (request, deescalate), runs (view, approve, deny, revoke) and the audit log.

use assent_runner::{Action, NewRequest, StepResult};
use assent_types::{Channel, ChannelType, User};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::idempotency::idempotent;
use super::views::{EventView, RunView, StepView};
use super::{ApiError, AppState, Body, OptionalBody, Params, Tenant};

/// Picks a user by email or id; whether the caller may request for them is the runner's
/// to say.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserSelector {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
}

/// A request for access, as in Sym's Events API.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestBody {
    /// The flow's name.
    pub flow: String,
    /// Values for the flow's prompt fields, e.g. `{"reason": "deploy", "duration": "1h"}`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub flow_inputs: serde_json::Map<String, Value>,
    /// Anything the caller wants recorded with the request.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub context: Value,
    /// Who requests; defaults to the token's user. Only admins may request for others.
    #[serde(default)]
    pub user: Option<UserSelector>,
    /// The Slack channel the request came from, if any.
    #[serde(default)]
    pub source_channel: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeescalateBody {
    pub run_id: String,
    #[serde(default)]
    pub reason: Option<String>,
}

async fn step_view(state: &AppState, result: &StepResult) -> Result<String, ApiError> {
    let jobs = state
        .runner
        .store()
        .jobs_for_run(&result.run.org_id, &result.run.id)
        .await?;
    serde_json::to_string(&StepView::new(result, &jobs)).map_err(|error| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            error.to_string(),
        )
    })
}

async fn requester(
    state: &AppState,
    tenant: &Tenant,
    selector: Option<&UserSelector>,
) -> Result<User, ApiError> {
    let me = &tenant.0.user;
    let Some(selector) = selector else {
        return Ok(me.clone());
    };
    let store = state.runner.store();
    let found = match (&selector.email, &selector.id) {
        (Some(email), _) => store.user_by_email(tenant.org_id(), email).await?,
        (None, Some(id)) => store.user(tenant.org_id(), id).await?,
        (None, None) => return Err(ApiError::bad_request("`user` needs an `email` or an `id`")),
    };
    let name = selector
        .email
        .clone()
        .or(selector.id.clone())
        .unwrap_or_default();
    found.ok_or_else(|| {
        ApiError::not_found(format!(
            "user `{name}` (create them with PUT /api/v1/users/{{email}})"
        ))
    })
}

/// Requests access through a flow. Returns the run, already moved on if a hook decided at
/// once (e.g. auto-approval).
#[utoipa::path(post, path = "/api/v1/events/request", tag = "events", request_body = RequestBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes retries safe")),
    responses((status = 201, body = StepView), (status = 422, description = "invalid inputs"),
              (status = 404, description = "no such flow or user")),
    security(("api_token" = [])))]
pub async fn request(
    tenant: Tenant,
    State(state): State<AppState>,
    headers: HeaderMap,
    Body(body): Body<RequestBody>,
) -> Response {
    idempotent(
        &state,
        &tenant,
        &headers,
        "POST /events/request",
        &body,
        || async {
            let requester = requester(&state, &tenant, body.user.as_ref()).await?;
            let source = Channel {
                identifier: body.source_channel.clone(),
                channel_type: if body.source_channel.is_some() {
                    ChannelType::Slack
                } else {
                    ChannelType::Api
                },
            };
            let result = state
                .runner
                .request(
                    tenant.org_id(),
                    NewRequest {
                        flow: body.flow.clone(),
                        requester,
                        caller: tenant.0.user.clone(),
                        inputs: body.flow_inputs.clone(),
                        context: body.context.clone(),
                        source,
                        slack_team: None,
                    },
                )
                .await?;
            Ok((StatusCode::CREATED, step_view(&state, &result).await?))
        },
    )
    .await
}

async fn act(
    state: AppState,
    tenant: Tenant,
    headers: HeaderMap,
    id: String,
    action: Action,
    body: ActionBody,
) -> Response {
    let what = format!("POST /runs/{id}/{action:?}");
    idempotent(&state, &tenant, &headers, &what, &body, || async {
        let result = state
            .runner
            .act(
                tenant.org_id(),
                &id,
                &tenant.0.user,
                action,
                body.reason.clone(),
            )
            .await?;
        Ok((StatusCode::OK, step_view(&state, &result).await?))
    })
    .await
}

/// Approves a pending request, for approvers who are not on Slack. The flow's permissions
/// and `on_approve` hook apply as to a click.
#[utoipa::path(post, path = "/api/v1/runs/{id}/approve", tag = "runs", request_body = ActionBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes retries safe")),
    responses((status = 200, body = StepView), (status = 403), (status = 404), (status = 409, description = "not pending")),
    security(("api_token" = [])))]
pub async fn approve(
    tenant: Tenant,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    OptionalBody(body): OptionalBody<ActionBody>,
) -> Response {
    act(state, tenant, headers, id, Action::Approve, body).await
}

/// Denies a pending request.
#[utoipa::path(post, path = "/api/v1/runs/{id}/deny", tag = "runs", request_body = ActionBody,
    responses((status = 200, body = StepView), (status = 403), (status = 404), (status = 409)),
    security(("api_token" = [])))]
pub async fn deny(
    tenant: Tenant,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    OptionalBody(body): OptionalBody<ActionBody>,
) -> Response {
    act(state, tenant, headers, id, Action::Deny, body).await
}

/// Ends granted access early (the flow must allow revoking).
#[utoipa::path(post, path = "/api/v1/runs/{id}/revoke", tag = "runs", request_body = ActionBody,
    responses((status = 200, body = StepView), (status = 403), (status = 404), (status = 409)),
    security(("api_token" = [])))]
pub async fn revoke(
    tenant: Tenant,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    OptionalBody(body): OptionalBody<ActionBody>,
) -> Response {
    act(state, tenant, headers, id, Action::Revoke, body).await
}

/// Takes access away now, as in Sym's Events API. Admins only.
#[utoipa::path(post, path = "/api/v1/events/deescalate", tag = "events", request_body = DeescalateBody,
    responses((status = 200, body = StepView), (status = 404), (status = 409)),
    security(("api_token" = [])))]
pub async fn deescalate(
    tenant: Tenant,
    State(state): State<AppState>,
    headers: HeaderMap,
    Body(body): Body<DeescalateBody>,
) -> Response {
    if let Err(error) = tenant.require_admin() {
        return axum::response::IntoResponse::into_response(error);
    }
    idempotent(
        &state,
        &tenant,
        &headers,
        "POST /events/deescalate",
        &body,
        || async {
            let result = state
                .runner
                .act(
                    tenant.org_id(),
                    &body.run_id,
                    &tenant.0.user,
                    Action::Deescalate,
                    body.reason.clone(),
                )
                .await?;
            Ok((StatusCode::OK, step_view(&state, &result).await?))
        },
    )
    .await
}

/// One run. Visible to admins, the requester, and whoever the flow's `get_permissions` lets
/// view or approve it.
#[utoipa::path(get, path = "/api/v1/runs/{id}", tag = "runs",
    responses((status = 200, body = RunView), (status = 404)), security(("api_token" = [])))]
pub async fn get_run(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RunView>, ApiError> {
    let store = state.runner.store();
    let run = store
        .run(tenant.org_id(), &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("run `{id}`")))?;
    if !state.runner.may_view(&run, &tenant.0.user).await? {
        // Same answer as for a run that does not exist: do not confirm it does.
        return Err(ApiError::not_found(format!("run `{id}`")));
    }
    let jobs = store.jobs_for_run(tenant.org_id(), &id).await?;
    Ok(Json(RunView::new(&run, &jobs)))
}

// A page of runs: fifty fill a screen; five hundred bound one response (a run with its
// fields and outputs is a few kilobytes) for clients that export.
const RUNS_PAGE: u32 = 50;
const MAX_RUNS_PAGE: u32 = 500;
// A page of runs also stops at 4 MiB of JSON (always holding at least one run): each run is
// bounded (its inputs by the 1 MiB body limit, plugin answers by the host's caps), but five
// hundred of them need not be.
const MAX_RUNS_PAGE_BYTES: usize = 4 << 20;
// Audit entries are smaller than runs (a few hundred bytes), so pages hold twice as many.
const AUDIT_PAGE: u32 = 100;
const MAX_AUDIT_PAGE: u32 = 1000;

#[derive(Debug, Deserialize, IntoParams)]
pub struct RunsQuery {
    /// Continue with runs older than this run id.
    pub before: Option<String>,
    /// At most this many (default 50, at most 500); fewer when they come to over 4 MiB.
    pub limit: Option<u32>,
}

/// The organisation's runs, newest first. Admins only. Page on with `before` set to the
/// last run's id; a page of large runs may hold fewer than `limit`.
#[utoipa::path(get, path = "/api/v1/runs", tag = "runs", params(RunsQuery),
    responses((status = 200, body = Vec<RunView>)), security(("api_token" = [])))]
pub async fn list_runs(
    tenant: Tenant,
    State(state): State<AppState>,
    Params(query): Params<RunsQuery>,
) -> Result<Response, ApiError> {
    tenant.require_admin()?;
    let limit = query.limit.unwrap_or(RUNS_PAGE).clamp(1, MAX_RUNS_PAGE);
    let runs = state
        .runner
        .store()
        .runs(tenant.org_id(), query.before.as_deref(), limit)
        .await?;
    // Each run is written once, straight into the page, which stops when it is full.
    let mut page = String::from("[");
    for run in &runs {
        let json = serde_json::to_string(&RunView::new(run, &[])).map_err(|error| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                error.to_string(),
            )
        })?;
        if page.len() > 1 && page.len() + json.len() > MAX_RUNS_PAGE_BYTES {
            break;
        }
        if page.len() > 1 {
            page.push(',');
        }
        page.push_str(&json);
    }
    page.push(']');
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        page,
    )
        .into_response())
}

/// One entry of the audit log. Admins only.
#[utoipa::path(get, path = "/api/v1/events/{id}", tag = "events",
    responses((status = 200, body = EventView), (status = 404)), security(("api_token" = [])))]
pub async fn get_event(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<EventView>, ApiError> {
    tenant.require_admin()?;
    let event = state
        .runner
        .store()
        .event(tenant.org_id(), &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("event `{id}`")))?;
    Ok(Json(EventView::from(&event)))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditQuery {
    /// Continue after this event id (the previous page's `next`).
    pub after: Option<String>,
    /// Only this run's events.
    pub run_id: Option<String>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPageView {
    pub events: Vec<EventView>,
    /// Pass as `after` for the next page; absent on the last.
    pub next: Option<String>,
}

/// Pages through the audit log, oldest first: who did what and when, what each hook decided,
/// notifications, strategy outputs and plugin errors. Admins only.
#[utoipa::path(get, path = "/api/v1/audit", tag = "events", params(AuditQuery),
    responses((status = 200, body = AuditPageView)), security(("api_token" = [])))]
pub async fn audit(
    tenant: Tenant,
    State(state): State<AppState>,
    Params(query): Params<AuditQuery>,
) -> Result<Json<AuditPageView>, ApiError> {
    tenant.require_admin()?;
    let limit = query.limit.unwrap_or(AUDIT_PAGE).clamp(1, MAX_AUDIT_PAGE);
    let page = state
        .runner
        .store()
        .audit(
            tenant.org_id(),
            query.run_id.as_deref(),
            query.after.as_deref(),
            limit,
        )
        .await?;
    Ok(Json(AuditPageView {
        events: page.events.iter().map(EventView::from).collect(),
        next: page.next,
    }))
}
