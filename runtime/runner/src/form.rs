//! The request form, before there is a run: which flows a person is offered (each flow's
//! `on_prompt`, then the organisation's flows filter), and a flow's form as they fill it in
//! (`prefetch` fills choices, `on_change` answers what they entered). A request is held to
//! the form its own values produce (see [`Runner::request`]), so a rule the form shows holds
//! for the API, Slack and the web alike.

use std::collections::BTreeMap;

use assent_engine::{form, permissions};
use assent_plugin_host::{CallError, CallFailure, Plugin};
use assent_store::FlowRecord;
use assent_types::{
    ChannelType, Environment, Event, FormField, Handler, HookOutcome, Payload, Run, Step, User,
};
use serde_json::{Map, Value};

use crate::context::{flow_of, now_rfc3339};
use crate::plugins::TenantSession;
use crate::reach::Reach;
use crate::{Runner, RuntimeError};

/// What `on_prompt` said about showing a flow's request form to someone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptAnswer {
    Offer,
    /// The hook ignored or denied the prompt; its message, if any, is for the person.
    Withhold(Option<String>),
}

/// A flow's request form as someone fills it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// The fields in display order, with the choices offered now and the values so far.
    pub fields: Vec<FormField>,
    /// The fields whose changes the plugin's `on_change` answers: when one changes, ask for
    /// the form again with the new values.
    pub on_change: Vec<String>,
}

/// A flow's request form for one person, or why they are not shown it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormAnswer {
    Offer(Form),
    /// `on_prompt` or the flows filter withholds the flow; a message, if any, is for them.
    Withhold(Option<String>),
}

/// A plugin that failed while deciding what someone is offered. The flow is left out; its
/// author hears of it through the environment's error logger.
#[derive(Debug, Clone)]
pub struct OfferFailure {
    /// The flow whose `on_prompt` failed, or [`FLOWS_FILTER`].
    pub flow: String,
    pub environment: String,
    pub error: CallError,
}

/// What [`OfferFailure::flow`] says when the flows filter failed.
pub const FLOWS_FILTER: &str = "flows filter";

/// The flows a person is offered, in name order, and the plugins that failed deciding.
#[derive(Debug, Clone, Default)]
pub struct Offered {
    pub flows: Vec<FlowRecord>,
    pub failures: Vec<OfferFailure>,
}

impl Runner {
    /// Asks `flow`'s `on_prompt` hook whether `user` is offered its request form. A flow
    /// without the hook is offered to everyone who may request at all. `on_prompt` decides
    /// what a person is shown, not what they may ask for: a request that arrives anyway still
    /// meets `on_request` and the permissions.
    ///
    /// A flow whose `allowed_sources` leaves out `source` is withheld, saying so.
    pub async fn prompt(
        &self,
        org_id: &str,
        flow: &FlowRecord,
        user: &User,
        source: ChannelType,
    ) -> Result<PromptAnswer, RuntimeError> {
        permissions::may_request(user, flow.params.allow_guest_interaction)?;
        if !flow.params.allows_source(source) {
            let refusal = RuntimeError::SourceNotAllowed {
                flow: flow.name.clone(),
                from: source,
                allowed: flow.params.allowed_sources.clone().unwrap_or_default(),
            };
            return Ok(PromptAnswer::Withhold(Some(refusal.to_string())));
        }
        let _admitted = self.plugins.admit(org_id)?;
        // Only the flow's own plugin: the strategy has no say in what is offered.
        let plugin = self.flow_plugin(org_id, flow).await?;
        if !plugin.implements(Handler::On(Step::Prompt)) {
            return Ok(PromptAnswer::Offer);
        }
        let environment = self.environment_of(org_id, flow).await?;
        let mut session = self
            .session(org_id, &plugin, Reach::flow(&flow.environment, None))
            .await
            .map_err(RuntimeError::Plugin)?;
        let outcome = session
            .session
            .on(Step::Prompt, &prompt_event(flow, environment, user))
            .await
            .map_err(RuntimeError::Plugin)?;
        Ok(match outcome {
            HookOutcome::Ignore(message) | HookOutcome::Deny(message) => {
                PromptAnswer::Withhold(message)
            }
            // There is no run yet to approve or move on; anything else shows the form.
            _ => PromptAnswer::Offer,
        })
    }

    /// The flows `user` is offered from `source`: those whose `on_prompt` does not withhold
    /// them (guests: of the flows that allow guests), then those the organisation's flows
    /// filter keeps. A flow whose hook fails is
    /// left out; when the filter fails, nothing is offered (it may be what hides a flow).
    pub async fn offered_flows(
        &self,
        org_id: &str,
        user: &User,
        source: ChannelType,
    ) -> Result<Offered, RuntimeError> {
        let mut offered = Offered::default();
        for flow in self.store.flows(org_id).await? {
            match self.prompt(org_id, &flow, user, source).await {
                Ok(PromptAnswer::Offer) => offered.flows.push(flow),
                // Guests see only the flows that allow guests.
                Ok(PromptAnswer::Withhold(_)) | Err(RuntimeError::Forbidden(_)) => {}
                Err(RuntimeError::Plugin(error)) => offered.failures.push(OfferFailure {
                    flow: flow.name.clone(),
                    environment: flow.environment.clone(),
                    error,
                }),
                Err(error @ RuntimeError::Store(_)) => return Err(error),
                Err(error) => {
                    tracing::warn!(flow = %flow.name, %error, "the flow is not offered");
                }
            }
        }
        match self.filter_flows(org_id, user, &offered.flows).await {
            Ok(None) => {}
            Ok(Some(kept)) => offered.flows.retain(|flow| kept.contains(&flow.name)),
            Err(RuntimeError::Plugin(error)) => {
                offered.flows.clear();
                offered.failures.push(OfferFailure {
                    flow: FLOWS_FILTER.to_owned(),
                    environment: assent_store::DEFAULT_ENVIRONMENT.to_owned(),
                    error,
                });
            }
            Err(error) => return Err(error),
        }
        Ok(offered)
    }

    /// Whether `user` is offered `flow` from `source`: its `on_prompt`, then the flows
    /// filter, decide.
    pub async fn offers(
        &self,
        org_id: &str,
        flow: &FlowRecord,
        user: &User,
        source: ChannelType,
    ) -> Result<PromptAnswer, RuntimeError> {
        if let PromptAnswer::Withhold(message) = self.prompt(org_id, flow, user, source).await? {
            return Ok(PromptAnswer::Withhold(message));
        }
        let filtered = self
            .filter_flows(org_id, user, std::slice::from_ref(flow))
            .await?;
        Ok(if filtered.is_some_and(|kept| !kept.contains(&flow.name)) {
            PromptAnswer::Withhold(None)
        } else {
            PromptAnswer::Offer
        })
    }

    /// `flow`'s request form for `user`, filled in with `inputs` so far: choices from the
    /// flow and the plugin's `prefetch`, then each `on_change` of a field with a value, in
    /// form order. Withheld when `on_prompt` or the flows filter does not offer the flow.
    pub async fn form(
        &self,
        org_id: &str,
        flow: &FlowRecord,
        user: &User,
        source: ChannelType,
        inputs: &Map<String, Value>,
    ) -> Result<FormAnswer, RuntimeError> {
        if let PromptAnswer::Withhold(message) = self.offers(org_id, flow, user, source).await? {
            return Ok(FormAnswer::Withhold(message));
        }
        let _admitted = self.plugins.admit(org_id)?;
        let plugin = self.flow_plugin(org_id, flow).await?;
        let environment = self.environment_of(org_id, flow).await?;
        let mut session = None;
        let fields = self
            .fill_form(
                org_id,
                flow,
                &environment,
                &plugin,
                user,
                inputs,
                &mut session,
            )
            .await
            .map_err(RuntimeError::Plugin)?;
        let on_change = fields
            .iter()
            .filter(|field| plugin.on_change_fields().contains(&field.name))
            .map(|field| field.name.clone())
            .collect();
        Ok(FormAnswer::Offer(Form { fields, on_change }))
    }

    /// The form of `flow` as `user` filled it with `inputs`. Opens a session of `plugin` in
    /// `session` only when the form needs the plugin, so a request can go on using it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn fill_form(
        &self,
        org_id: &str,
        flow: &FlowRecord,
        environment: &Environment,
        plugin: &Plugin,
        user: &User,
        inputs: &Map<String, Value>,
        session: &mut Option<TenantSession>,
    ) -> Result<Vec<FormField>, CallError> {
        let mut filled = form::initial(&flow.fields, &flow.params.targets);
        form::fill(&mut filled, &flow.fields, inputs);
        let prefetch: Vec<String> = flow
            .fields
            .iter()
            .filter(|field| field.prefetch && plugin.prefetch_fields().contains(&field.name))
            .map(|field| field.name.clone())
            .collect();
        let changes: Vec<String> = filled
            .iter()
            .filter(|field| {
                field.value.is_some() && plugin.on_change_fields().contains(&field.name)
            })
            .map(|field| field.name.clone())
            .collect();
        if prefetch.is_empty() && changes.is_empty() {
            return Ok(filled);
        }
        let session = match session {
            Some(session) => session,
            None => session.insert(
                self.session(org_id, plugin, Reach::flow(&flow.environment, None))
                    .await?,
            ),
        };
        let event = prompt_event(flow, environment.clone(), user);
        for name in &prefetch {
            let options = session.session.prefetch(name, &event).await?;
            form::prefetched(&mut filled, name, options);
        }
        for name in &changes {
            let answer = session.session.on_change(name, &event, &filled).await?;
            filled = form::changed(&filled, answer).map_err(|error| CallError {
                plugin: plugin.name().to_owned(),
                handler: Handler::OnChange.to_string(),
                cause: CallFailure::BadReturn(format!("`on_change` of `{name}`: {error}")),
            })?;
        }
        Ok(filled)
    }

    /// The names of `flows` the organisation's flows filter keeps for `user`; `None` when it
    /// has no filter.
    async fn filter_flows(
        &self,
        org_id: &str,
        user: &User,
        flows: &[FlowRecord],
    ) -> Result<Option<Vec<String>>, RuntimeError> {
        let Some(filter) = self.store.flows_filter(org_id).await? else {
            return Ok(None);
        };
        if flows.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let plugin = self
            .plugins
            .get(&self.store, org_id, &filter.plugin_hash)
            .await?
            .named(FLOWS_FILTER.to_owned());
        // A flows filter belongs to no environment, so it reaches no integrations.
        let mut session = self
            .session(org_id, &plugin, Reach::default())
            .await
            .map_err(RuntimeError::Plugin)?;
        let definitions: Vec<_> = flows
            .iter()
            .map(|flow| {
                let environment = Environment {
                    name: flow.environment.clone(),
                    integrations: Vec::new(),
                };
                flow_of(flow, environment)
            })
            .collect();
        let kept = session
            .session
            .get_flows(user, &definitions, &filter.vars)
            .await
            .map_err(RuntimeError::Plugin)?;
        Ok(Some(kept))
    }
}

/// The event of a form's handlers: the `prompt` step, by the person filling it in, before
/// anything is entered (`on_change` is given the form itself).
fn prompt_event(flow: &FlowRecord, environment: Environment, user: &User) -> Event {
    Event {
        name: Step::Prompt,
        user: user.clone(),
        payload: Payload {
            fields: BTreeMap::default(),
            timestamp: now_rfc3339(),
            message: None,
        },
        flow: flow_of(flow, environment),
        run: Run::default(),
        outputs: serde_json::Map::default(),
    }
}
