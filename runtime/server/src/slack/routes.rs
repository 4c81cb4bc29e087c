//! `/slack/*`: what Slack calls. Each handler verifies the request, finds the organisation
//! from the team id, finds the person from their Slack id, and only then acts.
//!
//! Slack wants an answer within three seconds and shows people nothing useful on an HTTP
//! error, so once a request is verified every problem is answered in words the person can
//! act on (an ephemeral reply, errors in the modal), never with a failure status.

use std::collections::BTreeMap;

use assent_engine::permissions;
use assent_slack::inbound::{self, Command, EventEnvelope};
use assent_slack::message::{APPROVE_ACTION, DENY_ACTION, ErrorReport, REVOKE_ACTION, notice};
use assent_slack::modal::{
    self, FLOW_ACTION, FlowChoice, ModalContext, PICK_CALLBACK, REQUEST_CALLBACK,
};
use assent_slack::slack_morphism::prelude::{
    SlackInteractionBlockActionsEvent, SlackInteractionEvent, SlackInteractionViewSubmissionEvent,
    SlackView,
};
use assent_store::{FlowRecord, SlackWorkspace};
use assent_types::{Channel, ChannelType, FieldType, Step, User};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::delivery::report_error;
use super::people::{PersonError, person};
use super::{Slack, install};
use crate::runner::{Action, NewRequest, PromptAnswer};
use crate::{Runner, RuntimeError};

// Slack's payloads are a few kilobytes; a modal with many fields stays well under this.
const SLACK_BODY_LIMIT: usize = 256 * 1024;

#[derive(Debug, Clone)]
pub(super) struct SlackState {
    pub slack: Slack,
    pub runner: Runner,
}

pub(super) fn router(state: SlackState) -> Router {
    Router::new()
        .route("/slack/commands", post(command))
        .route("/slack/interactions", post(interaction))
        .route("/slack/events", post(events))
        .route("/slack/oauth/callback", get(oauth_callback))
        .layer(DefaultBodyLimit::max(SLACK_BODY_LIMIT))
        .with_state(state)
}

const NOT_CONNECTED: &str = "This Slack workspace is not connected to Assent yet, so there is nothing to request here. An Assent admin can connect it with `POST /api/v1/slack/install`.";

/// A verified body, or the 401 that refuses it.
#[allow(clippy::result_large_err)] // The refusal is the handler's whole response.
fn verified<'b>(
    state: &SlackState,
    headers: &HeaderMap,
    body: &'b Bytes,
) -> Result<&'b str, Response> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    state
        .slack
        .inner
        .verifier
        .verify(
            header("x-slack-signature"),
            header("x-slack-request-timestamp"),
            body,
        )
        .map_err(|error| {
            tracing::warn!(%error, "refused an unverified Slack request");
            (StatusCode::UNAUTHORIZED, error.to_string()).into_response()
        })
}

/// An answer only the person who typed the command sees.
fn ephemeral(text: impl Into<String>) -> Response {
    axum::Json(json!({ "response_type": "ephemeral", "text": text.into() })).into_response()
}

fn help(command: &str) -> String {
    format!(
        "*Assent* gives you access when someone approves it.\n\
         • `{command}` or `{command} req` — request access (pick a flow)\n\
         • `{command} req <flow>` — request access with that flow\n\
         • `{command} whoami` — who Assent thinks you are\n\
         • `{command} help` — this message"
    )
}

impl SlackState {
    /// The organisation's workspace for `team_id` and its bot token.
    async fn workspace(&self, team_id: &str) -> Result<Option<(SlackWorkspace, String)>, String> {
        let workspace = self
            .runner
            .store()
            .slack_workspace(team_id)
            .await
            .map_err(|error| format!("Assent could not look up this workspace ({error})."))?;
        Ok(workspace.and_then(|workspace| {
            let token = self.slack.bot_token(&workspace)?;
            Some((workspace, token))
        }))
    }

    async fn person(
        &self,
        workspace: &SlackWorkspace,
        token: &str,
        slack_user: &str,
    ) -> Result<User, PersonError> {
        person(
            &self.slack,
            self.runner.store(),
            workspace,
            token,
            slack_user,
        )
        .await
    }
}

fn choice(flow: &FlowRecord) -> FlowChoice {
    FlowChoice {
        name: flow.name.clone(),
        label: flow.label.clone(),
    }
}

fn form_for(flow: &FlowRecord, context: &ModalContext) -> SlackView {
    let targets: Vec<String> = flow
        .params
        .targets
        .iter()
        .map(|target| target.name.clone())
        .collect();
    modal::request_form(&choice(flow), &flow.fields, &targets, context)
}

async fn command(State(state): State<SlackState>, headers: HeaderMap, body: Bytes) -> Response {
    let text = match verified(&state, &headers, &body) {
        Ok(text) => text,
        Err(refused) => return refused,
    };
    let command = match inbound::command(text) {
        Ok(command) => command,
        Err(error) => return (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    };
    let (workspace, token) = match state.workspace(command.team_id.as_ref()).await {
        Ok(Some(found)) => found,
        Ok(None) => return ephemeral(NOT_CONNECTED),
        Err(message) => return ephemeral(message),
    };
    let name = &state.slack.config().command;
    let slack_user = command.user_id.to_string();
    match Command::parse(command.text.as_deref().unwrap_or_default()) {
        Command::Help => ephemeral(help(name)),
        Command::Unknown(word) => ephemeral(format!("I don't know `{word}`.\n{}", help(name))),
        Command::WhoAmI => match state.person(&workspace, &token, &slack_user).await {
            Ok(user) => ephemeral(format!(
                "You are *{}* ({}) in Assent.",
                user.email,
                serde_json::to_value(user.role)
                    .ok()
                    .and_then(|role| role.as_str().map(str::to_owned))
                    .unwrap_or_default()
            )),
            Err(error) => ephemeral(error.to_string()),
        },
        Command::Request { flow } => {
            let trigger = command.trigger_id.to_string();
            let channel = command.channel_id.to_string();
            request_form(
                &state,
                &workspace,
                &token,
                &slack_user,
                flow,
                &channel,
                &trigger,
            )
            .await
        }
    }
}

/// `req [flow]`: the flow's form, or the picker of the flows this person is offered.
async fn request_form(
    state: &SlackState,
    workspace: &SlackWorkspace,
    token: &str,
    slack_user: &str,
    flow: Option<String>,
    channel: &str,
    trigger_id: &str,
) -> Response {
    let user = match state.person(workspace, token, slack_user).await {
        Ok(user) => user,
        Err(error) => return ephemeral(error.to_string()),
    };
    if let Err(forbidden) = permissions::may_request(&user) {
        return ephemeral(format!("You cannot request access: {forbidden}."));
    }
    let flows = match state.runner.store().flows(&workspace.org_id).await {
        Ok(flows) => flows,
        Err(error) => {
            return ephemeral(format!("Assent could not list the flows ({error})."));
        }
    };
    let context = ModalContext {
        flow: String::new(),
        channel: channel.to_owned(),
    };
    let view = match flow {
        Some(wanted) => match flows.iter().find(|flow| flow.name == wanted) {
            Some(flow) => match prompt(state, workspace, token, flow, &user).await {
                Ok(PromptAnswer::Offer) => form_for(flow, &context),
                Ok(PromptAnswer::Withhold(message)) => {
                    return ephemeral(withheld(flow, message));
                }
                Err(error) => {
                    return ephemeral(format!(
                        "The request form for `{wanted}` could not be opened: {error}. \
                         An Assent admin can fix the flow."
                    ));
                }
            },
            None => {
                let offered = offered(state, workspace, token, &flows, &user).await;
                let names: Vec<String> = offered
                    .iter()
                    .map(|flow| format!("`{}`", flow.name))
                    .collect();
                return ephemeral(if names.is_empty() {
                    format!("There is no flow `{wanted}`, and none you can request yet.")
                } else {
                    format!(
                        "There is no flow `{wanted}`. You can request: {}.",
                        names.join(", ")
                    )
                });
            }
        },
        None => {
            let offered = offered(state, workspace, token, &flows, &user).await;
            if offered.is_empty() {
                return ephemeral(
                    "There are no flows you can request yet; an Assent admin adds them.",
                );
            }
            let choices: Vec<FlowChoice> = offered.iter().map(|flow| choice(flow)).collect();
            modal::flow_picker(&choices, &context)
        }
    };
    match state.slack.api().open_view(token, trigger_id, view).await {
        Ok(_) => StatusCode::OK.into_response(),
        Err(error) => ephemeral(format!(
            "Slack would not open the request form ({error}). Try the command again."
        )),
    }
}

/// The flows `user` is offered, in order: those whose `on_prompt` does not withhold them.
/// A flow whose hook fails is left out (and the failure reported, see [`prompt`]).
async fn offered<'a>(
    state: &SlackState,
    workspace: &SlackWorkspace,
    token: &str,
    flows: &'a [FlowRecord],
    user: &User,
) -> Vec<&'a FlowRecord> {
    let mut offered = Vec::with_capacity(flows.len());
    for flow in flows {
        match prompt(state, workspace, token, flow, user).await {
            Ok(PromptAnswer::Offer) => offered.push(flow),
            Ok(PromptAnswer::Withhold(_)) => {}
            Err(error) => {
                tracing::warn!(flow = %flow.name, %error, "on_prompt failed; the flow is not offered");
            }
        }
    }
    offered
}

/// Asks `flow`'s `on_prompt` about `user`. When the plugin fails, the flow's author hears of
/// it in the environment's error-logger channel, as for a failure during a run.
async fn prompt(
    state: &SlackState,
    workspace: &SlackWorkspace,
    token: &str,
    flow: &FlowRecord,
    user: &User,
) -> Result<PromptAnswer, RuntimeError> {
    let answer = state.runner.prompt(&workspace.org_id, flow, user).await;
    if let Err(RuntimeError::Plugin(error)) = &answer {
        let report = ErrorReport {
            flow: flow.name.clone(),
            run_id: None,
            step: Step::Prompt.to_string(),
            handler: error.handler.clone(),
            error: error.to_string(),
        };
        let store = state.runner.store();
        let reported = report_error(&state.slack, store, token, flow, &workspace.org_id, &report);
        if let Err(error) = reported.await {
            tracing::warn!(flow = %flow.name, %error, "an on_prompt failure could not be reported");
        }
    }
    answer
}

/// The reply to `req <flow>` when the flow's `on_prompt` withholds it.
fn withheld(flow: &FlowRecord, message: Option<String>) -> String {
    match message {
        Some(message) if !message.trim().is_empty() => message,
        _ => format!("`{}` is not offered to you.", flow.name),
    }
}

async fn interaction(State(state): State<SlackState>, headers: HeaderMap, body: Bytes) -> Response {
    let text = match verified(&state, &headers, &body) {
        Ok(text) => text,
        Err(refused) => return refused,
    };
    match inbound::interaction(text) {
        Ok(SlackInteractionEvent::BlockActions(event)) => block_actions(&state, event).await,
        Ok(SlackInteractionEvent::ViewSubmission(event)) => view_submission(&state, event).await,
        Ok(_) => StatusCode::OK.into_response(),
        Err(error) => (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    }
}

async fn block_actions(state: &SlackState, event: SlackInteractionBlockActionsEvent) -> Response {
    let ok = StatusCode::OK.into_response();
    let Some(slack_user) = event.user.as_ref().map(|user| user.id.to_string()) else {
        return ok;
    };
    let channel = event.channel.as_ref().map(|channel| channel.id.to_string());
    let (workspace, token) = match state.workspace(event.team.id.as_ref()).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            tracing::info!(team = %event.team.id, "a button was clicked in a workspace that is not connected");
            return ok;
        }
        Err(message) => {
            tracing::warn!(%message, "workspace lookup failed");
            return ok;
        }
    };
    let tell = |text: String| {
        let channel = channel.clone();
        let token = token.clone();
        let slack_user = slack_user.clone();
        async move {
            if let Some(channel) = channel
                && let Err(error) = state
                    .slack
                    .api()
                    .post_ephemeral(&token, &channel, &slack_user, notice(text))
                    .await
            {
                tracing::warn!(%error, "could not answer a click");
            }
        }
    };
    for action in event.actions.clone().unwrap_or_default() {
        let action_id = action.action_id.to_string();
        if action_id == FLOW_ACTION {
            let (Some(picked), Some(SlackView::Modal(view))) = (
                action.selected_option.as_ref().map(|o| o.value.clone()),
                event.view.as_ref(),
            ) else {
                continue;
            };
            let view_id = match &event.container {
                assent_slack::slack_morphism::prelude::SlackInteractionActionContainer::View(
                    view,
                ) => view.view_id.to_string(),
                _ => continue,
            };
            let context = ModalContext::decode(view.private_metadata.as_deref());
            if let Ok(Some(flow)) = state.runner.store().flow(&workspace.org_id, &picked).await
                && let Err(error) = state
                    .slack
                    .api()
                    .update_view(&token, &view_id, None, form_for(&flow, &context))
                    .await
            {
                tracing::warn!(%error, "could not show the request form");
            }
            continue;
        }
        let act = match action_id.as_str() {
            APPROVE_ACTION => Action::Approve,
            DENY_ACTION => Action::Deny,
            REVOKE_ACTION => Action::Revoke,
            _ => continue,
        };
        let Some(run_id) = action.value.clone() else {
            continue;
        };
        let actor = match state.person(&workspace, &token, &slack_user).await {
            Ok(actor) => actor,
            Err(error) => {
                tell(error.to_string()).await;
                continue;
            }
        };
        match state
            .runner
            .act(&workspace.org_id, &run_id, &actor, act, None)
            .await
        {
            Ok(result) => {
                if let Some((_, message)) = result.ignored {
                    tell(message.unwrap_or_else(|| {
                        "Nothing happened: the flow's rules set this click aside.".to_owned()
                    }))
                    .await;
                }
            }
            Err(error) => tell(click_refusal(&error)).await,
        }
    }
    ok
}

/// What the clicker is told when their click changed nothing.
fn click_refusal(error: &RuntimeError) -> String {
    match error {
        RuntimeError::Forbidden(forbidden) => format!("You can't do that: {forbidden}."),
        RuntimeError::Rejected(rejection) => format!("Nothing to do: {rejection}."),
        RuntimeError::RevokeNotAllowed(_) | RuntimeError::NotFound(_) => {
            format!("Nothing to do: {error}.")
        }
        other => format!("Assent could not do that ({other}). Try again in a moment."),
    }
}

async fn view_submission(
    state: &SlackState,
    event: SlackInteractionViewSubmissionEvent,
) -> Response {
    let SlackView::Modal(view) = &event.view.view else {
        return StatusCode::OK.into_response();
    };
    let callback = view
        .callback_id
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let context = ModalContext::decode(view.private_metadata.as_deref());
    let values = event.view.state_params.state.as_ref();
    let (workspace, token) = match state.workspace(event.team.id.as_ref()).await {
        Ok(Some(found)) => found,
        Ok(None) => return modal_error(&BTreeMap::from([("flow".into(), NOT_CONNECTED.into())])),
        Err(message) => return modal_error(&BTreeMap::from([("flow".into(), message)])),
    };
    let store = state.runner.store();
    if callback == PICK_CALLBACK {
        let picked = modal::picked_flow(values).unwrap_or_default();
        return match store.flow(&workspace.org_id, &picked).await {
            Ok(Some(flow)) => axum::Json(json!({
                "response_action": "update",
                "view": form_for(&flow, &context),
            }))
            .into_response(),
            _ => modal_error(&BTreeMap::from([(
                "flow".into(),
                "Choose one of the flows.".into(),
            )])),
        };
    }
    if callback != REQUEST_CALLBACK {
        return StatusCode::OK.into_response();
    }
    let flow = match store.flow(&workspace.org_id, &context.flow).await {
        Ok(Some(flow)) => flow,
        _ => {
            return first_field_error(
                &[],
                format!("The flow `{}` no longer exists.", context.flow),
            );
        }
    };
    let visible: Vec<String> = flow
        .fields
        .iter()
        .filter(|field| field.visible)
        .map(|field| field.name.clone())
        .collect();
    let mut submission = modal::read_submission(&flow.fields, values);
    if !submission.errors.is_empty() {
        return modal_error(&submission.errors);
    }
    let requester = match state
        .person(&workspace, &token, event.user.id.as_ref())
        .await
    {
        Ok(user) => user,
        Err(error) => return first_field_error(&visible, error.to_string()),
    };
    // Slack user fields hold Slack ids; the engine takes emails.
    for field in &flow.fields {
        let Some(value) = submission.inputs.get_mut(&field.name) else {
            continue;
        };
        match field.field_type {
            FieldType::SlackUser => {
                if let Some(id) = value.as_str().map(str::to_owned) {
                    *value = Value::from(email_of(state, &workspace, &token, &id).await);
                }
            }
            FieldType::SlackUserList => {
                let ids: Vec<String> = value
                    .as_array()
                    .map(|ids| {
                        ids.iter()
                            .filter_map(|id| id.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                let mut emails = Vec::with_capacity(ids.len());
                for id in ids {
                    emails.push(Value::from(email_of(state, &workspace, &token, &id).await));
                }
                *value = Value::Array(emails);
            }
            _ => {}
        }
    }
    let request = NewRequest {
        flow: flow.name.clone(),
        requester,
        inputs: submission.inputs,
        context: json!({ "source": "slack" }),
        source: Channel {
            identifier: (!context.channel.is_empty()).then(|| context.channel.clone()),
            channel_type: ChannelType::Slack,
        },
        slack_team: Some(workspace.team_id.clone()),
    };
    match state.runner.request(&workspace.org_id, request).await {
        Ok(result) if result.run.status == assent_engine::RunStatus::Errored => first_field_error(
            &visible,
            "The flow's plugin failed, so the request could not be sent. Your Assent admins have the details.".into(),
        ),
        Ok(result) => match result.ignored {
            Some((_, message)) if result.run.status == assent_engine::RunStatus::Cancelled => {
                first_field_error(
                    &visible,
                    message.unwrap_or_else(|| "The flow's rules set this request aside.".into()),
                )
            }
            _ => axum::Json(json!({ "response_action": "clear" })).into_response(),
        },
        Err(RuntimeError::InvalidInputs(errors)) => {
            let mut by_field = BTreeMap::new();
            for error in errors {
                let field = if visible.iter().any(|name| name == error.field()) {
                    error.field().to_owned()
                } else {
                    visible.first().cloned().unwrap_or_default()
                };
                by_field
                    .entry(field)
                    .or_insert_with(|| strip_ticks(&error.to_string()));
            }
            modal_error(&by_field)
        }
        Err(error) => first_field_error(&visible, format!("The request could not be made: {error}.")),
    }
}

/// The email of the Slack user picked in a field (known to Slack even if not to Assent), or
/// their id if Slack cannot tell.
async fn email_of(state: &SlackState, workspace: &SlackWorkspace, token: &str, id: &str) -> String {
    match state.person(workspace, token, id).await {
        Ok(user) => user.email,
        Err(PersonError::NotMember { email }) => email,
        Err(_) => id.to_owned(),
    }
}

/// Slack shows modal errors as plain text.
fn strip_ticks(message: &str) -> String {
    let mut text = message.replace('`', "");
    if let Some(first) = text.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    text
}

fn modal_error(errors: &BTreeMap<String, String>) -> Response {
    axum::Json(json!({ "response_action": "errors", "errors": errors })).into_response()
}

fn first_field_error(visible: &[String], message: String) -> Response {
    let field = visible.first().cloned().unwrap_or_else(|| "flow".into());
    modal_error(&BTreeMap::from([(field, message)]))
}

async fn events(State(state): State<SlackState>, headers: HeaderMap, body: Bytes) -> Response {
    let text = match verified(&state, &headers, &body) {
        Ok(text) => text,
        Err(refused) => return refused,
    };
    match inbound::event(text) {
        Ok(EventEnvelope::UrlVerification { challenge }) => {
            axum::Json(json!({ "challenge": challenge })).into_response()
        }
        // Slack retries a callback it got no 200 for, so every event is acknowledged; the
        // only ones Assent acts on say the workspace is gone.
        Ok(EventEnvelope::EventCallback { team_id, event }) => {
            if let Some(why) = inbound::disconnects(&event)
                && let Err(error) = state
                    .runner
                    .store()
                    .remove_slack_workspace(&team_id, why)
                    .await
            {
                tracing::warn!(%team_id, %error, "could not disconnect a workspace");
                // Not acknowledged, so Slack sends it again.
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
            StatusCode::OK.into_response()
        }
        Ok(EventEnvelope::Other) => StatusCode::OK.into_response(),
        Err(error) => (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct OauthCallback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    (
        status,
        Html(format!(
            "<!doctype html><meta charset=utf-8><title>{0}</title><h1>{0}</h1><p>{1}</p>",
            escape(title),
            escape(text)
        )),
    )
        .into_response()
}

async fn oauth_callback(
    State(state): State<SlackState>,
    Query(callback): Query<OauthCallback>,
) -> Response {
    if let Some(error) = callback.error {
        return page(
            StatusCode::BAD_REQUEST,
            "Assent was not installed",
            &format!(
                "Slack said: {error}. Ask your Assent admin for a new install link to try again."
            ),
        );
    }
    let (Some(code), Some(sealed)) = (callback.code, callback.state) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Assent was not installed",
            "This link is missing its code or state; start the install again from the install link.",
        );
    };
    match install::finish(&state.slack, state.runner.store(), &code, &sealed).await {
        Ok(workspace) => page(
            StatusCode::OK,
            "Assent is installed",
            &format!(
                "Assent is connected to the Slack workspace {}. Type {} in Slack to request access.",
                if workspace.team_name.is_empty() {
                    &workspace.team_id
                } else {
                    &workspace.team_name
                },
                state.slack.config().command
            ),
        ),
        Err(error) => page(
            StatusCode::BAD_REQUEST,
            "Assent was not installed",
            &error.to_string(),
        ),
    }
}
