//! The request form in the modal: opened from the command or the picker, "Loading…" while
//! the flow's plugin fetches its choices, and changed as the requester fills it in. What the
//! form holds is the runner's (`Runner::form`); this module only shows it.

use assent_runner::{FLOWS_FILTER, FormAnswer, OfferFailure, PromptAnswer, RuntimeError};
use assent_slack::message::ErrorReport;
use assent_slack::modal::{self, FlowChoice, ModalContext};
use assent_slack::slack_morphism::prelude::{SlackView, SlackViewState};
use assent_store::{FlowRecord, SlackWorkspace};
use assent_types::{ChannelType, Step, User};

use super::state::SlackState;

/// What the modal says while the plugin fetches the form's choices.
pub(super) const LOADING: &str = "Loading…";

pub(super) fn choice(flow: &FlowRecord) -> FlowChoice {
    FlowChoice {
        name: flow.name.clone(),
        label: flow.label.clone(),
    }
}

/// Whether showing `flow`'s form waits on its plugin's `prefetch`, so the modal opens
/// saying "Loading…" (Slack gives a modal three seconds to open, a plugin may take longer).
pub(super) fn loads(flow: &FlowRecord) -> bool {
    flow.fields.iter().any(|field| field.prefetch)
}

pub(super) fn loading_view(flow: &FlowRecord, context: &ModalContext) -> SlackView {
    modal::notice_view(&choice(flow), LOADING, context)
}

/// Who is filling in a form, in which workspace.
#[derive(Clone)]
pub(super) struct Filler {
    pub(super) state: SlackState,
    pub(super) workspace: SlackWorkspace,
    pub(super) token: String,
    pub(super) user: User,
}

/// The modal's view of `flow`'s form, or a view saying why it cannot be shown.
pub(super) enum Shown {
    Form(SlackView),
    /// Not offered, or the plugin failed: the text for the person.
    Refused(String),
}

impl Filler {
    /// `flow`'s form with the values in `values` (a view's state) so far.
    pub(super) async fn show(
        &self,
        flow: &FlowRecord,
        values: Option<&SlackViewState>,
        context: &ModalContext,
    ) -> Shown {
        let inputs = modal::read_submission(&flow.fields, values).inputs;
        let answer = self
            .state
            .runner
            .form(
                &self.workspace.org_id,
                flow,
                &self.user,
                ChannelType::Slack,
                &inputs,
            )
            .await;
        match answer {
            Ok(FormAnswer::Offer(form)) => Shown::Form(modal::request_form(
                &choice(flow),
                &form.fields,
                &form.on_change,
                flow.params.additional_header_text.as_deref(),
                context,
            )),
            Ok(FormAnswer::Withhold(message)) => Shown::Refused(withheld(flow, message)),
            Err(error) => Shown::Refused(self.failed(flow, &error).await),
        }
    }

    /// Whether the filler is offered `flow`; `Err` holds what to tell them if not (a
    /// failing plugin is reported).
    pub(super) async fn offered(&self, flow: &FlowRecord) -> Result<(), String> {
        let answer = self
            .state
            .runner
            .offers(&self.workspace.org_id, flow, &self.user, ChannelType::Slack)
            .await;
        match answer {
            Ok(PromptAnswer::Offer) => Ok(()),
            Ok(PromptAnswer::Withhold(message)) => Err(withheld(flow, message)),
            Err(error) => Err(self.failed(flow, &error).await),
        }
    }

    /// What to tell the person when `flow`'s form cannot be shown; a plugin's failure is
    /// reported to the flow's author.
    async fn failed(&self, flow: &FlowRecord, error: &RuntimeError) -> String {
        if let RuntimeError::Forbidden(forbidden) = error {
            return format!("You cannot request access: {forbidden}.");
        }
        if let RuntimeError::Plugin(failure) = error {
            self.report(&[OfferFailure {
                flow: flow.name.clone(),
                environment: flow.environment.clone(),
                error: failure.clone(),
            }])
            .await;
        }
        format!(
            "The request form for `{}` could not be opened: {error}. An Assent admin can fix the flow.",
            flow.name
        )
    }

    /// Shows `flow`'s form in the open view `view_id` (after "Loading…", or when a field
    /// the plugin answers changed).
    pub(super) async fn show_in(
        &self,
        view_id: &str,
        flow: &FlowRecord,
        values: Option<&SlackViewState>,
        context: &ModalContext,
    ) {
        let view = match self.show(flow, values, context).await {
            Shown::Form(view) => view,
            Shown::Refused(text) => modal::notice_view(&choice(flow), &text, context),
        };
        if let Err(error) = self
            .state
            .slack
            .api()
            .update_view(&self.token, view_id, None, view)
            .await
        {
            tracing::warn!(flow = %flow.name, %error, "could not show the request form");
        }
    }

    /// Tells each failed plugin's author, in its environment's error-logger channel, as for
    /// a failure during a run.
    pub(super) async fn report(&self, failures: &[OfferFailure]) {
        for failure in failures {
            let report = ErrorReport {
                flow: failure.flow.clone(),
                run_id: None,
                step: Step::Prompt.to_string(),
                handler: failure.error.handler.clone(),
                error: failure.error.to_string(),
            };
            let channel = self
                .state
                .runner
                .store()
                .error_logger(&self.workspace.org_id, &failure.environment)
                .await;
            match channel {
                Ok(Some(channel)) => {
                    if let Err(error) = self
                        .state
                        .slack
                        .api()
                        .post_message(&self.token, &channel, report.content())
                        .await
                    {
                        tracing::warn!(flow = %failure.flow, %channel, %error, "the error logger could not be told");
                    }
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(flow = %failure.flow, %error, "a failure deciding what is offered could not be reported");
                }
            }
            if failure.flow == FLOWS_FILTER {
                tracing::warn!(error = %failure.error, "the flows filter failed; no flow is offered");
            }
        }
    }
}

/// The reply to a withheld flow: the hook's own words, or a plain refusal.
pub(super) fn withheld(flow: &FlowRecord, message: Option<String>) -> String {
    match message {
        Some(message) if !message.trim().is_empty() => message,
        _ => format!("`{}` is not offered to you.", flow.name),
    }
}
