//! `/assent …`: help, whoami, and `req [flow]`, which opens the request form of a flow — or
//! a picker of the flows this person is offered, as each flow's `on_prompt` decides.

use assent_engine::permissions;
use assent_runner::{PromptAnswer, RuntimeError};
use assent_slack::inbound::{self, Command};
use assent_slack::message::ErrorReport;
use assent_slack::modal::{self, FlowChoice, ModalContext};
use assent_slack::slack_morphism::prelude::SlackView;
use assent_store::{FlowRecord, SlackWorkspace};
use assent_types::{ChannelType, Step, User};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::state::{NOT_CONNECTED, SlackState, ephemeral, verified};

fn help(command: &str) -> String {
    format!(
        "*Assent* gives you access when someone approves it.\n\
         • `{command}` or `{command} req` — request access (pick a flow)\n\
         • `{command} req <flow>` — request access with that flow\n\
         • `{command} whoami` — who Assent thinks you are\n\
         • `{command} help` — this message"
    )
}

pub(super) fn choice(flow: &FlowRecord) -> FlowChoice {
    FlowChoice {
        name: flow.name.clone(),
        label: flow.label.clone(),
    }
}

pub(super) fn form_for(flow: &FlowRecord, context: &ModalContext) -> SlackView {
    let targets: Vec<String> = flow
        .params
        .targets
        .iter()
        .map(|target| target.name.clone())
        .collect();
    modal::request_form(&choice(flow), &flow.fields, &targets, context)
}

pub(super) async fn command(
    State(state): State<SlackState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
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
    let answer = state
        .runner
        .prompt(&workspace.org_id, flow, user, ChannelType::Slack)
        .await;
    if let Err(RuntimeError::Plugin(error)) = &answer {
        let report = ErrorReport {
            flow: flow.name.clone(),
            run_id: None,
            step: Step::Prompt.to_string(),
            handler: error.handler.clone(),
            error: error.to_string(),
        };
        let logger = state.runner.store();
        match logger
            .error_logger(&workspace.org_id, &flow.environment)
            .await
        {
            Ok(channel) => {
                state
                    .slack
                    .report_error(token, flow, channel, &report)
                    .await
            }
            Err(error) => {
                tracing::warn!(flow = %flow.name, %error, "an on_prompt failure could not be reported");
            }
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
