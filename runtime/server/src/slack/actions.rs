//! The Approve, Deny and Revoke buttons on request cards, and the flow picker in the
//! request modal.

use assent_runner::{Action, RuntimeError};
use assent_slack::message::{APPROVE_ACTION, DENY_ACTION, REVOKE_ACTION, notice};
use assent_slack::modal::{FLOW_ACTION, ModalContext};
use assent_slack::slack_morphism::prelude::{
    SlackInteractionActionContainer, SlackInteractionBlockActionsEvent, SlackView,
};
use assent_store::SlackWorkspace;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::command::form_for;
use super::state::SlackState;

/// Who clicked, where, in which workspace.
struct Clicker<'a> {
    state: &'a SlackState,
    workspace: SlackWorkspace,
    token: String,
    slack_user: String,
    channel: Option<String>,
}

pub(super) async fn block_actions(
    state: &SlackState,
    event: SlackInteractionBlockActionsEvent,
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
    };
    for action in event.actions.clone().unwrap_or_default() {
        let action_id = action.action_id.to_string();
        let act = match action_id.as_str() {
            FLOW_ACTION => {
                let picked = action.selected_option.as_ref().map(|o| o.value.clone());
                clicker.show_form(&event, picked).await;
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
    /// A flow picked in the modal's picker: the modal becomes that flow's form.
    async fn show_form(&self, event: &SlackInteractionBlockActionsEvent, picked: Option<String>) {
        let (Some(picked), Some(SlackView::Modal(view))) = (picked, event.view.as_ref()) else {
            return;
        };
        let SlackInteractionActionContainer::View(container) = &event.container else {
            return;
        };
        let view_id = container.view_id.to_string();
        let context = ModalContext::decode(view.private_metadata.as_deref());
        let store = self.state.runner.store();
        if let Ok(Some(flow)) = store.flow(&self.workspace.org_id, &picked).await
            && let Err(error) = self
                .state
                .slack
                .api()
                .update_view(&self.token, &view_id, None, form_for(&flow, &context))
                .await
        {
            tracing::warn!(%error, "could not show the request form");
        }
    }

    /// Approve, Deny or Revoke on a card; the card itself is updated by the step's notices.
    async fn act(&self, run_id: &str, action: Action) {
        let state = self.state;
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
