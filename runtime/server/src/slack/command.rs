//! `/assent …`: help, whoami, and `req [flow]`, which opens the request form of a flow — or
//! a picker of the flows this person is offered, as each flow's `on_prompt` and the
//! organisation's flows filter decide.

use assent_slack::inbound::{self, Command};
use assent_slack::modal::{self, FlowChoice, ModalContext};
use assent_slack::slack_morphism::prelude::SlackView;
use assent_store::{FlowRecord, SlackWorkspace};
use assent_types::ChannelType;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::form::{Filler, Shown, choice, loading_view, loads};
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
    let filler = Filler {
        state: state.clone(),
        workspace: workspace.clone(),
        token: token.to_owned(),
        user,
    };
    let context = ModalContext {
        flow: String::new(),
        channel: channel.to_owned(),
    };
    let wanted = match flow {
        Some(wanted) => wanted,
        None => {
            let offered = match offered(&filler).await {
                Ok(offered) => offered,
                Err(reply) => return reply,
            };
            if offered.is_empty() {
                return ephemeral(
                    "There are no flows you can request yet; an Assent admin adds them.",
                );
            }
            let choices: Vec<FlowChoice> = offered.iter().map(choice).collect();
            return open(
                state,
                token,
                trigger_id,
                modal::flow_picker(&choices, &context),
            )
            .await;
        }
    };
    let found = match state.runner.store().flow(&workspace.org_id, &wanted).await {
        Ok(found) => found,
        Err(error) => return ephemeral(format!("Assent could not find the flow ({error}).")),
    };
    let Some(flow) = found else {
        let offered = match offered(&filler).await {
            Ok(offered) => offered,
            Err(reply) => return reply,
        };
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
    };
    if loads(&flow) {
        if let Err(text) = filler.offered(&flow).await {
            return ephemeral(text);
        }
        // Open at once (the trigger expires in three seconds), then fill it in.
        let view_id = match state
            .slack
            .api()
            .open_view(token, trigger_id, loading_view(&flow, &context))
            .await
        {
            Ok(view_id) => view_id,
            Err(error) => return not_opened(&error),
        };
        tokio::spawn(async move { filler.show_in(&view_id, &flow, None, &context).await });
        return StatusCode::OK.into_response();
    }
    match filler.show(&flow, None, &context).await {
        Shown::Form(view) => open(state, token, trigger_id, view).await,
        Shown::Refused(text) => ephemeral(text),
    }
}

/// The flows the filler is offered; a plugin that failed deciding is reported.
async fn offered(filler: &Filler) -> Result<Vec<FlowRecord>, Response> {
    let offered = filler
        .state
        .runner
        .offered_flows(&filler.workspace.org_id, &filler.user, ChannelType::Slack)
        .await
        .map_err(|error| ephemeral(format!("Assent could not list the flows ({error}).")))?;
    filler.report(&offered.failures).await;
    Ok(offered.flows)
}

async fn open(state: &SlackState, token: &str, trigger_id: &str, view: SlackView) -> Response {
    match state.slack.api().open_view(token, trigger_id, view).await {
        Ok(_) => StatusCode::OK.into_response(),
        Err(error) => not_opened(&error),
    }
}

fn not_opened(error: &impl std::fmt::Display) -> Response {
    ephemeral(format!(
        "Slack would not open the request form ({error}). Try the command again."
    ))
}
