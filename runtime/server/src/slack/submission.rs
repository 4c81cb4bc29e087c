//! The request modal's submissions: a flow picked, or the form filled in, which becomes a
//! request; field errors go back into the modal beside their fields.

use std::collections::BTreeMap;

use assent_engine::RunStatus;
use assent_runner::{Action, NewRequest, RuntimeError, StepResult};
use assent_slack::modal::{
    self, DECIDE_CALLBACK, DecisionContext, ModalContext, PICK_CALLBACK, REQUEST_CALLBACK,
};
use assent_slack::slack_morphism::prelude::{
    SlackInteractionViewSubmissionEvent, SlackView, SlackViewState,
};
use assent_store::SlackWorkspace;
use assent_types::{Channel, ChannelType, FieldType, PromptField};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::actions::click_refusal;
use super::form::{Filler, Shown};
use super::state::{NOT_CONNECTED, SlackState};

pub(super) async fn view_submission(
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
    let form = Form {
        state,
        workspace,
        token,
        context,
    };
    let slack_user = event.user.id.to_string();
    if callback == PICK_CALLBACK {
        form.picked(&slack_user, modal::picked_flow(values).unwrap_or_default())
            .await
    } else if callback == REQUEST_CALLBACK {
        form.submit(&slack_user, &modal::shown_fields(view), values)
            .await
    } else if callback == DECIDE_CALLBACK {
        let decision = DecisionContext::decode(view.private_metadata.as_deref());
        form.decide(&slack_user, decision, modal::decision_message(values))
            .await
    } else {
        StatusCode::OK.into_response()
    }
}

/// A modal submitted in a connected workspace.
struct Form<'a> {
    state: &'a SlackState,
    workspace: SlackWorkspace,
    token: String,
    context: ModalContext,
}

impl Form<'_> {
    /// The picker's choice: the modal becomes that flow's form. Answered in place, so the
    /// form is made before the answer (picking in the select itself shows "Loading…" first).
    async fn picked(&self, slack_user: &str, picked: String) -> Response {
        let store = self.state.runner.store();
        let Ok(Some(flow)) = store.flow(&self.workspace.org_id, &picked).await else {
            return modal_error(&BTreeMap::from([(
                "flow".into(),
                "Choose one of the flows.".into(),
            )]));
        };
        let user = match self
            .state
            .person(&self.workspace, &self.token, slack_user)
            .await
        {
            Ok(user) => user,
            Err(error) => {
                return modal_error(&BTreeMap::from([("flow".into(), error.to_string())]));
            }
        };
        let filler = Filler {
            state: self.state.clone(),
            workspace: self.workspace.clone(),
            token: self.token.clone(),
            user,
        };
        match filler.show(&flow, None, &self.context).await {
            Shown::Form(view) => {
                axum::Json(json!({ "response_action": "update", "view": view })).into_response()
            }
            Shown::Refused(text) => modal_error(&BTreeMap::from([("flow".into(), text)])),
        }
    }

    /// An approval or denial with the approver's message (`include_decision_message`): the
    /// same step as the card's button, with the message as its reason.
    async fn decide(
        &self,
        slack_user: &str,
        decision: DecisionContext,
        message: Option<String>,
    ) -> Response {
        let refused = |text: String| modal_error(&BTreeMap::from([("message".into(), text)]));
        let actor = match self
            .state
            .person(&self.workspace, &self.token, slack_user)
            .await
        {
            Ok(actor) => actor,
            Err(error) => return refused(error.to_string()),
        };
        let action = if decision.approve {
            Action::Approve
        } else {
            Action::Deny
        };
        let outcome = self
            .state
            .runner
            .act(
                &self.workspace.org_id,
                &decision.run_id,
                &actor,
                action,
                message,
            )
            .await;
        match outcome {
            Ok(result) => match result.ignored {
                Some((_, message)) => refused(message.unwrap_or_else(|| {
                    "Nothing happened: the flow's rules set this aside.".to_owned()
                })),
                None => axum::Json(json!({ "response_action": "clear" })).into_response(),
            },
            Err(error) => refused(strip_ticks(&click_refusal(&error))),
        }
    }

    /// The filled-in form becomes a request.
    async fn submit(
        &self,
        slack_user: &str,
        shown: &[String],
        values: Option<&SlackViewState>,
    ) -> Response {
        let store = self.state.runner.store();
        let flow = match store.flow(&self.workspace.org_id, &self.context.flow).await {
            Ok(Some(flow)) => flow,
            _ => {
                return first_field_error(
                    &[],
                    format!("The flow `{}` no longer exists.", self.context.flow),
                );
            }
        };
        // Errors go beside the fields the modal shows (`on_change` may have shown or hidden
        // some); Slack refuses an error for a block it does not have.
        let visible = shown;
        let fields: Vec<PromptField> = flow
            .fields
            .iter()
            .filter(|field| shown.contains(&field.name))
            .cloned()
            .collect();
        let mut submission = modal::read_submission(&fields, values);
        if !submission.errors.is_empty() {
            return modal_error(&submission.errors);
        }
        let requester = match self
            .state
            .person(&self.workspace, &self.token, slack_user)
            .await
        {
            Ok(user) => user,
            Err(error) => return first_field_error(visible, error.to_string()),
        };
        self.emails_for_slack_ids(&flow.fields, &mut submission.inputs)
            .await;
        let request = NewRequest {
            flow: flow.name.clone(),
            caller: requester.clone(),
            requester,
            inputs: submission.inputs,
            context: json!({ "source": "slack" }),
            source: Channel {
                identifier: (!self.context.channel.is_empty())
                    .then(|| self.context.channel.clone()),
                channel_type: ChannelType::Slack,
            },
            slack_team: Some(self.workspace.team_id.clone()),
        };
        let outcome = self
            .state
            .runner
            .request(&self.workspace.org_id, request)
            .await;
        answer(outcome, visible)
    }

    /// Slack user fields hold Slack ids; the runner takes emails.
    async fn emails_for_slack_ids(
        &self,
        fields: &[PromptField],
        inputs: &mut serde_json::Map<String, Value>,
    ) {
        let (state, workspace, token) = (self.state, &self.workspace, self.token.as_str());
        for field in fields {
            let Some(value) = inputs.get_mut(&field.name) else {
                continue;
            };
            match field.field_type {
                FieldType::SlackUser => {
                    if let Some(id) = value.as_str().map(str::to_owned) {
                        *value = Value::from(state.email_of(workspace, token, &id).await);
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
                        emails.push(Value::from(state.email_of(workspace, token, &id).await));
                    }
                    *value = Value::Array(emails);
                }
                _ => {}
            }
        }
    }
}

/// The modal's answer to a submitted request: closed, or the problem shown on a field.
fn answer(outcome: Result<StepResult, RuntimeError>, visible: &[String]) -> Response {
    match outcome {
        Ok(result) if result.run.status == RunStatus::Errored => first_field_error(
            visible,
            "The flow's plugin failed, so the request could not be sent. Your Assent admins have the details.".into(),
        ),
        Ok(result) => match result.ignored {
            Some((_, message)) if result.run.status == RunStatus::Cancelled => first_field_error(
                visible,
                message.unwrap_or_else(|| "The flow's rules set this request aside.".into()),
            ),
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
        Err(error) => first_field_error(visible, format!("The request could not be made: {error}.")),
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
