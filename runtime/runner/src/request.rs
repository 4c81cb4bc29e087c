//! A new request: who may make it, its inputs checked and completed, and the plan the flow's
//! reducers give it (where it goes, how long it waits) before its first step is taken.

use std::collections::BTreeMap;

use assent_engine::{FieldError, FlowPlan, RunStatus, Trigger, check_inputs, form, permissions};
use assent_plugin_host::CallError;
use assent_store::{FlowRecord, RunBody, RunRecord, new_id, now_millis};
use assent_types::{
    Channel, Destination, Event, FieldValue, Handler, Notification, RequestPermission, Run, Step,
    User,
};
use serde_json::Value;

use crate::context::{FlowContext, event_for};
use crate::plugins::TenantSession;
use crate::reach::Reach;
use crate::step::{Advance, Attempt, StepResult, legacy_permissions};
use crate::{Runner, RuntimeError};

/// A request for access.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub flow: String,
    /// Who the access is for.
    pub requester: User,
    /// Who asked: the requester, or an admin asking on their behalf.
    pub caller: User,
    pub inputs: serde_json::Map<String, Value>,
    pub context: Value,
    pub source: Channel,
    /// The Slack workspace (team id) it was made in, if it came from Slack.
    pub slack_team: Option<String>,
}

impl Runner {
    /// Starts a run: checks who asks and the inputs, asks the plugin where to send the
    /// request, and takes the `request` step (or wherever `on_request` sends it).
    pub async fn request(
        &self,
        org_id: &str,
        request: NewRequest,
    ) -> Result<StepResult, RuntimeError> {
        permissions::may_request_for(&request.caller, &request.requester)?;
        let _admitted = self.plugins.admit(org_id)?;
        let flow = self
            .store
            .flow(org_id, &request.flow)
            .await?
            .ok_or_else(|| RuntimeError::NotFound(format!("flow `{}`", request.flow)))?;
        permissions::may_request(&request.requester, flow.params.allow_guest_interaction)?;
        let source = request.source.channel_type;
        if !flow.params.allows_source(source) {
            return Err(RuntimeError::SourceNotAllowed {
                flow: flow.name,
                from: source,
                allowed: flow.params.allowed_sources.unwrap_or_default(),
            });
        }
        let context = self.context(org_id, flow).await?;
        // The request is held to the form its values produce (prefetched choices, what
        // `on_change` required or hid), as the requester would have seen it.
        let mut session = None;
        let form = self
            .fill_form(
                org_id,
                &context.flow,
                &context.environment,
                &context.plugin,
                &request.requester,
                &request.inputs,
                &mut session,
            )
            .await
            .map_err(RuntimeError::Plugin)?;
        let held_to = form::as_prompt_fields(&form, &context.flow.fields);
        let mut fields =
            check_inputs(&held_to, &request.inputs).map_err(RuntimeError::InvalidInputs)?;
        self.complete_fields(org_id, &context.flow, &mut fields)
            .await?;
        let mut draft = draft_run(org_id, &context.flow, &request, fields);
        draft.body.shown_fields = Some(
            held_to
                .iter()
                .filter(|field| field.visible)
                .map(|field| field.name.clone())
                .collect(),
        );

        let mut session = match session {
            Some(session) => session,
            None => match self
                .session(
                    org_id,
                    &context.plugin,
                    Reach::flow(&context.flow.environment, Some(&draft.id)),
                )
                .await
            {
                Ok(session) => session,
                Err(error) => {
                    return self
                        .fail_new(&context, draft, Step::Request, &error.into())
                        .await;
                }
            },
        };
        let event = event_for(Step::Request, &request.requester, &context, &draft);
        match plan_request(&context, &mut session, &event).await {
            Ok((notifications, plan, permissions)) => {
                draft.body.notifications = notifications;
                draft.body.plan = plan;
                draft.body.permissions = Some(permissions);
            }
            Err(error) => {
                return self
                    .fail_new(&context, draft, Step::Request, &error.into())
                    .await;
            }
        }
        let attempt = Attempt {
            context: &context,
            trigger: Trigger::Request,
            actor: &request.requester,
            reason: None,
            job: None,
        };
        match self.advance(&attempt, draft, Some(session)).await? {
            Advance::Done(result) => self.run_queued(*result).await,
            // A new run's id is fresh; nobody else can have written it.
            Advance::Lost => Err(RuntimeError::Busy),
        }
    }

    /// Fills in what the inputs only name: targets' settings from the flow (with the values
    /// of the prompt fields each target binds), and users by email.
    async fn complete_fields(
        &self,
        org_id: &str,
        flow: &FlowRecord,
        fields: &mut BTreeMap<String, FieldValue>,
    ) -> Result<(), RuntimeError> {
        let bound = bound_values(fields);
        for (name, value) in fields.iter_mut() {
            match value {
                FieldValue::Target(target) if !flow.params.targets.is_empty() => {
                    let known = flow.params.targets.iter().find(|t| t.name == target.name);
                    match known {
                        Some(known) => {
                            *target = known.clone();
                            for binding in &known.field_bindings {
                                if let Some(value) = bound.get(binding) {
                                    target.settings.insert(binding.clone(), value.clone());
                                }
                            }
                        }
                        None => {
                            return Err(RuntimeError::InvalidInputs(vec![
                                FieldError::NotAllowed {
                                    field: name.clone(),
                                    value: target.name.clone(),
                                    allowed: flow
                                        .params
                                        .targets
                                        .iter()
                                        .map(|t| t.name.clone())
                                        .collect::<Vec<_>>()
                                        .join(", "),
                                },
                            ]));
                        }
                    }
                }
                FieldValue::SlackUser(user) => self.complete_user(org_id, user).await?,
                FieldValue::SlackUserList(users) => {
                    for user in users {
                        self.complete_user(org_id, user).await?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    async fn complete_user(&self, org_id: &str, user: &mut User) -> Result<(), RuntimeError> {
        if !user.email.is_empty()
            && let Some(known) = self.store.user_by_email(org_id, &user.email).await?
        {
            *user = known;
        } else if !user.id.is_empty()
            && let Some(known) = self.store.user(org_id, &user.id).await?
        {
            *user = known;
        }
        Ok(())
    }
}

/// The fields' values as a bound target's settings hold them: text, numbers and booleans
/// as written, lists joined with commas, durations in seconds, people by email.
fn bound_values(fields: &BTreeMap<String, FieldValue>) -> BTreeMap<String, String> {
    fields
        .iter()
        .filter_map(|(name, value)| {
            let text = match value {
                FieldValue::String(text) => text.clone(),
                FieldValue::Int(number) => number.to_string(),
                FieldValue::Bool(flag) => flag.to_string(),
                FieldValue::Duration(seconds) => seconds.to_string(),
                FieldValue::StrList(items) => items.join(","),
                FieldValue::IntList(items) => items
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
                FieldValue::SlackUser(user) => user.email.clone(),
                FieldValue::SlackUserList(users) => users
                    .iter()
                    .map(|user| user.email.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                FieldValue::Target(_) => return None,
            };
            Some((name.clone(), text))
        })
        .collect()
}

/// The run a request becomes, before its plan and its first step.
fn draft_run(
    org_id: &str,
    flow: &FlowRecord,
    request: &NewRequest,
    fields: BTreeMap<String, FieldValue>,
) -> RunRecord {
    let now = now_millis();
    let run_id = new_id();
    RunRecord {
        id: run_id.clone(),
        org_id: org_id.to_owned(),
        flow_id: flow.id.clone(),
        flow_name: flow.name.clone(),
        requester_id: request.requester.id.clone(),
        status: RunStatus::Requested,
        notification: 0,
        version: 0,
        body: RunBody {
            requester: request.requester.clone(),
            fields,
            run: Run {
                id: run_id,
                actors: [(Step::Request, request.requester.clone())].into(),
                contexts: [(Step::Request, request.context.clone())].into(),
                source_channel: request.source.clone(),
            },
            slack_team: request.slack_team.clone(),
            ..RunBody::default()
        },
        created_at: now,
        updated_at: now,
    }
}

/// Where a new request goes, how long things last and who may act on it, from the flow's
/// reducers.
async fn plan_request(
    context: &FlowContext,
    session: &mut TenantSession,
    event: &Event,
) -> Result<(Vec<Notification>, FlowPlan, RequestPermission), CallError> {
    let plugin = &context.plugin;
    // A legacy plugin's one `get_approvers` answer gives both its destinations and its
    // self-approval rule.
    let approvers = if plugin.implements(Handler::GetApprovers)
        && !(plugin.implements(Handler::GetPermissions)
            && plugin.implements(Handler::GetRequestNotifications))
    {
        Some(session.session.get_approvers(event).await?)
    } else {
        None
    };
    let permissions = if plugin.implements(Handler::GetPermissions) {
        session.session.get_permissions(event).await?
    } else {
        legacy_permissions(approvers.as_ref().is_some_and(|a| a.allow_self))
    };
    let notifications = if plugin.implements(Handler::GetRequestNotifications) {
        session.session.get_request_notifications(event).await?
    } else if let Some(approvers) = approvers {
        legacy_notifications(approvers.destinations, approvers.fallback)
    } else {
        Vec::new()
    };
    let request_timeout = if plugin.implements(Handler::GetTimeout) {
        session.session.get_timeout(event).await?
    } else {
        None
    };
    let access_duration = event
        .payload
        .fields
        .iter()
        .find_map(|(name, value)| match value {
            FieldValue::Duration(seconds) if name == "duration" => Some(*seconds),
            _ => None,
        });
    let plan = FlowPlan {
        notification_timeouts: notifications.iter().map(|n| n.timeout).collect(),
        request_timeout,
        access_duration,
        schedule_deescalation: context.flow.params.schedule_deescalation,
        has_strategy: context.strategy.is_some(),
    };
    Ok((notifications, plan, permissions))
}

/// `get_approvers`' answer as notifications: all destinations at once, or with `fallback`
/// one after another (each moves on when it cannot be delivered).
fn legacy_notifications(destinations: Vec<Destination>, fallback: bool) -> Vec<Notification> {
    if destinations.is_empty() {
        return Vec::new();
    }
    if fallback {
        destinations
            .into_iter()
            .map(|destination| Notification {
                destinations: vec![destination],
                timeout: None,
            })
            .collect()
    } else {
        vec![Notification {
            destinations,
            timeout: None,
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(name: &str) -> Destination {
        Destination::SlackChannel(name.to_owned())
    }

    #[test]
    fn legacy_approvers_go_all_at_once_or_one_after_another() {
        assert!(legacy_notifications(Vec::new(), true).is_empty());
        let together = legacy_notifications(vec![channel("#a"), channel("#b")], false);
        assert_eq!(together.len(), 1);
        assert_eq!(together[0].destinations.len(), 2);
        let fallback = legacy_notifications(vec![channel("#a"), channel("#b")], true);
        assert_eq!(fallback.len(), 2);
        assert!(
            fallback
                .iter()
                .all(|n| n.destinations.len() == 1 && n.timeout.is_none())
        );
    }
}
