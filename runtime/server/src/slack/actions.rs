//! The Approve, Deny and Revoke buttons on request cards, and the request modal's live
//! parts: the flow picker, and fields whose changes the flow's `on_change` answers.

use assent_runner::{Action, RuntimeError};
use assent_slack::message::{APPROVE_ACTION, DENY_ACTION, REVOKE_ACTION, notice};
use assent_slack::modal::{self, DecisionContext, FLOW_ACTION, ModalContext, VALUE_ACTION};
use assent_slack::slack_morphism::prelude::{
    SlackInteractionActionContainer, SlackInteractionBlockActionsEvent, SlackView, SlackViewState,
};
use assent_store::{FlowRecord, SlackWorkspace};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::form::{Filler, loading_view, loads};
use super::state::SlackState;

/// What the request modal's form is shown after.
enum FormEvent {
    /// A flow was picked in the picker.
    Picked(String),
    /// A field the flow's `on_change` answers changed; the modal's values so far.
    Changed(Option<SlackViewState>),
}

/// Who clicked, where, in which workspace.
struct Clicker<'a> {
    state: &'a SlackState,
    workspace: SlackWorkspace,
    token: String,
    slack_user: String,
    channel: Option<String>,
    /// Opens a modal in answer to this click.
    trigger_id: String,
}

pub(super) async fn block_actions(
    state: &SlackState,
    event: SlackInteractionBlockActionsEvent,
    view_state: Option<SlackViewState>,
) -> Response {
    let ok = StatusCode::OK.into_response();
    let Some(slack_user) = event.user.as_ref().map(|user| user.id.to_string()) else {
        return ok;
    };
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
    let clicker = Clicker {
        state,
        workspace,
        token,
        slack_user,
        channel: event.channel.as_ref().map(|channel| channel.id.to_string()),
        trigger_id: event.trigger_id.to_string(),
    };
    for action in event.actions.clone().unwrap_or_default() {
        let action_id = action.action_id.to_string();
        let act = match action_id.as_str() {
            FLOW_ACTION => {
                let picked = action.selected_option.as_ref().map(|o| o.value.clone());
                if let Some(picked) = picked {
                    clicker.show_form(&event, FormEvent::Picked(picked)).await;
                }
                continue;
            }
            // A field the flow's `on_change` answers changed: the form is asked for again.
            VALUE_ACTION => {
                clicker
                    .show_form(&event, FormEvent::Changed(view_state.clone()))
                    .await;
                continue;
            }
            APPROVE_ACTION => Action::Approve,
            DENY_ACTION => Action::Deny,
            REVOKE_ACTION => Action::Revoke,
            _ => continue,
        };
        if let Some(run_id) = action.value.clone() {
            clicker.act(&run_id, act).await;
        }
    }
    ok
}

impl Clicker<'_> {
    /// The modal shows the form of the flow picked, or the open form again after a change.
    /// The work goes on after the click is answered (Slack waits three seconds; a plugin
    /// may take longer).
    async fn show_form(&self, event: &SlackInteractionBlockActionsEvent, what: FormEvent) {
        let (Some(SlackView::Modal(view)), SlackInteractionActionContainer::View(container)) =
            (event.view.as_ref(), &event.container)
        else {
            return;
        };
        let context = ModalContext::decode(view.private_metadata.as_deref());
        let (name, values, picked) = match what {
            FormEvent::Picked(name) => (name, None, true),
            FormEvent::Changed(values) => (context.flow.clone(), values, false),
        };
        let store = self.state.runner.store();
        let Ok(Some(flow)) = store.flow(&self.workspace.org_id, &name).await else {
            return;
        };
        let user = match self
            .state
            .person(&self.workspace, &self.token, &self.slack_user)
            .await
        {
            Ok(user) => user,
            Err(error) => return self.tell(error.to_string()).await,
        };
        let filler = Filler {
            state: self.state.clone(),
            workspace: self.workspace.clone(),
            token: self.token.clone(),
            user,
        };
        let view_id = container.view_id.to_string();
        if picked && loads(&flow) {
            let loading = loading_view(&flow, &context);
            if let Err(error) = self
                .state
                .slack
                .api()
                .update_view(&self.token, &view_id, None, loading)
                .await
            {
                tracing::warn!(%error, "could not show the request form");
                return;
            }
        }
        tokio::spawn(async move {
            filler
                .show_in(&view_id, &flow, values.as_ref(), &context)
                .await;
        });
    }

    /// Approve, Deny or Revoke on a card; the card itself is updated by the step's notices.
    /// A flow that asks approvers for a message (`include_decision_message`) opens the
    /// decision form first; its submission acts (see `submission`).
    async fn act(&self, run_id: &str, action: Action) {
        let state = self.state;
        if matches!(action, Action::Approve | Action::Deny)
            && let Some(flow) = self.asks_for_message(run_id).await
        {
            let context = DecisionContext {
                run_id: run_id.to_owned(),
                approve: action == Action::Approve,
            };
            let view = modal::decision_form(&flow.label, &context);
            if let Err(error) = state
                .slack
                .api()
                .open_view(&self.token, &self.trigger_id, view)
                .await
            {
                self.tell(format!(
                    "Slack would not open the form for your message ({error}). Try again."
                ))
                .await;
            }
            return;
        }
        let actor = match state
            .person(&self.workspace, &self.token, &self.slack_user)
            .await
        {
            Ok(actor) => actor,
            Err(error) => return self.tell(error.to_string()).await,
        };
        match state
            .runner
            .act(&self.workspace.org_id, run_id, &actor, action, None)
            .await
        {
            Ok(result) => {
                if let Some((_, message)) = result.ignored {
                    self.tell(message.unwrap_or_else(|| {
                        "Nothing happened: the flow's rules set this click aside.".to_owned()
                    }))
                    .await;
                }
            }
            Err(error) => self.tell(click_refusal(&error)).await,
        }
    }

    /// The run's flow version, when it asks approvers for a message with their decision.
    async fn asks_for_message(&self, run_id: &str) -> Option<FlowRecord> {
        let store = self.state.runner.store();
        let org_id = &self.workspace.org_id;
        let run = store.run(org_id, run_id).await.ok().flatten()?;
        let flow = store
            .flow_version(org_id, &run.flow_id)
            .await
            .ok()
            .flatten()?;
        flow.params.include_decision_message.then_some(flow)
    }

    /// An answer only the clicker sees, in the channel of the card.
    async fn tell(&self, text: String) {
        let Some(channel) = &self.channel else {
            return;
        };
        if let Err(error) = self
            .state
            .slack
            .api()
            .post_ephemeral(&self.token, channel, &self.slack_user, notice(text))
            .await
        {
            tracing::warn!(%error, "could not answer a click");
        }
    }
}

/// What the clicker is told when their click changed nothing.
pub(super) fn click_refusal(error: &RuntimeError) -> String {
    match error {
        RuntimeError::Forbidden(forbidden) => format!("You can't do that: {forbidden}."),
        RuntimeError::Rejected(rejection) => format!("Nothing to do: {rejection}."),
        RuntimeError::RevokeNotAllowed(_) | RuntimeError::NotFound(_) => {
            format!("Nothing to do: {error}.")
        }
        other => format!("Assent could not do that ({other}). Try again in a moment."),
    }
}
