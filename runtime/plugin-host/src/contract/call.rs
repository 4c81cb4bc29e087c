//! A handler call and its answer in the host's own types, the same for every contract version.
//!
//! A session builds a [`Call`], the plugin's contract version turns it into its typed export
//! call, and the answer comes back as a [`Reply`]; [`FromReply`] unpacks that into what the
//! session's typed method returns.

use std::collections::BTreeMap;

use assent_types::{
    Approvers, Event, FieldOption, Flow, FormField, Handler, HookOutcome, Notification,
    RequestPermission, Step, Target, User,
};

use crate::error::CallFailure;

/// One handler call, with its arguments.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Call<'a> {
    GetPermissions(&'a Event),
    GetRequestNotifications(&'a Event),
    GetApprovers(&'a Event),
    GetIdentity(&'a Event),
    GetTimeout(&'a Event),
    On(Step, &'a Event),
    After(Step, &'a Event),
    FetchRemoteIdentity(&'a User),
    Escalate(&'a Target, &'a Event),
    Deescalate(&'a Target, &'a Event),
    /// Which of these flows the user is offered, with the flows filter's vars.
    GetFlows(&'a User, &'a [Flow], &'a BTreeMap<String, String>),
    /// The choices of the named field.
    Prefetch(&'a str, &'a Event),
    /// The form after the named field changed, as the user (the event's) has filled it in.
    OnChange(&'a str, &'a Event, &'a [FormField]),
}

impl<'a> Call<'a> {
    /// The call `handler` makes with nothing but `event`, as the CLI's test bench does:
    /// `fetch_remote_identity` asks about the event's user, and strategy handlers act on the
    /// event's first `target` field.
    pub(crate) fn from_event(handler: Handler, event: &'a Event) -> Result<Call<'a>, CallFailure> {
        Ok(match handler {
            Handler::GetPermissions => Call::GetPermissions(event),
            Handler::GetRequestNotifications => Call::GetRequestNotifications(event),
            Handler::GetApprovers => Call::GetApprovers(event),
            Handler::GetIdentity => Call::GetIdentity(event),
            Handler::GetTimeout => Call::GetTimeout(event),
            Handler::On(step) => Call::On(step, event),
            Handler::After(step) => Call::After(step, event),
            Handler::FetchRemoteIdentity => Call::FetchRemoteIdentity(&event.user),
            Handler::Escalate | Handler::Deescalate => {
                let Some(target) = event.target() else {
                    return Err(CallFailure::BadInput(
                        "the event has no field of type `target` to act on; add one to `payload.fields`".into(),
                    ));
                };
                if handler == Handler::Escalate {
                    Call::Escalate(target, event)
                } else {
                    Call::Deescalate(target, event)
                }
            }
            Handler::GetFlows => Call::GetFlows(
                &event.user,
                std::slice::from_ref(&event.flow),
                &event.flow.vars,
            ),
            Handler::Prefetch => {
                let Some(field) = event.flow.fields.iter().find(|field| field.prefetch) else {
                    return Err(CallFailure::BadInput(
                        "the event's flow has no field with `prefetch: true` to fill; add one to `flow.fields`".into(),
                    ));
                };
                Call::Prefetch(&field.name, event)
            }
            Handler::OnChange => {
                return Err(CallFailure::BadInput(
                    "`on_change` answers a form being filled in, not an event; try it by changing a field of the request form".into(),
                ));
            }
        })
    }

    /// The handler this call runs: what the plugin must implement, and the name errors carry.
    pub(crate) fn handler(&self) -> Handler {
        match self {
            Call::GetPermissions(_) => Handler::GetPermissions,
            Call::GetRequestNotifications(_) => Handler::GetRequestNotifications,
            Call::GetApprovers(_) => Handler::GetApprovers,
            Call::GetIdentity(_) => Handler::GetIdentity,
            Call::GetTimeout(_) => Handler::GetTimeout,
            Call::On(step, _) => Handler::On(*step),
            Call::After(step, _) => Handler::After(*step),
            Call::FetchRemoteIdentity(_) => Handler::FetchRemoteIdentity,
            Call::Escalate(..) => Handler::Escalate,
            Call::Deescalate(..) => Handler::Deescalate,
            Call::GetFlows(..) => Handler::GetFlows,
            Call::Prefetch(..) => Handler::Prefetch,
            Call::OnChange(..) => Handler::OnChange,
        }
    }
}

/// A handler's answer (the plugin's own error aside).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reply {
    Permissions(RequestPermission),
    Notifications(Vec<Notification>),
    Approvers(Approvers),
    /// From `get_identity` and `fetch_remote_identity`.
    Identity(Option<String>),
    Timeout(Option<u64>),
    Hook(HookOutcome),
    /// From an `after` hook, which answers nothing.
    Done,
    /// From `escalate` and `deescalate`: JSON text, not yet parsed.
    Output(Option<String>),
    /// From `get_flows`: the names of the flows offered.
    Flows(Vec<String>),
    /// From `prefetch`.
    Options(Vec<FieldOption>),
    /// From `on_change`.
    Form(Vec<FormField>),
}

impl Reply {
    /// The answer as JSON: the CLI's test bench prints it.
    pub(crate) fn into_json(self) -> Result<serde_json::Value, CallFailure> {
        use serde_json::to_value;
        let value = match self {
            Reply::Permissions(permission) => to_value(permission),
            Reply::Notifications(notifications) => to_value(notifications),
            Reply::Approvers(approvers) => to_value(approvers),
            Reply::Identity(identity) => to_value(identity),
            Reply::Timeout(timeout) => to_value(timeout),
            Reply::Hook(outcome) => to_value(outcome),
            Reply::Done => to_value(()),
            Reply::Output(output) => to_value(parse_output(output)?),
            Reply::Flows(flows) => to_value(flows),
            Reply::Options(options) => to_value(options),
            Reply::Form(form) => to_value(form),
        };
        value.map_err(|error| CallFailure::BadReturn(error.to_string()))
    }

    fn kind(&self) -> &'static str {
        match self {
            Reply::Permissions(_) => "permissions",
            Reply::Notifications(_) => "notifications",
            Reply::Approvers(_) => "approvers",
            Reply::Identity(_) => "an identity",
            Reply::Timeout(_) => "a timeout",
            Reply::Hook(_) => "a hook outcome",
            Reply::Done => "nothing",
            Reply::Output(_) => "a strategy output",
            Reply::Flows(_) => "flow names",
            Reply::Options(_) => "field options",
            Reply::Form(_) => "a form",
        }
    }
}

/// A strategy's output is JSON text; the host keeps it as a JSON value.
fn parse_output(output: Option<String>) -> Result<Option<serde_json::Value>, CallFailure> {
    output
        .map(|json| {
            serde_json::from_str(&json).map_err(|error| {
                CallFailure::BadReturn(format!("its output is not valid JSON ({error})"))
            })
        })
        .transpose()
}

/// What a session's typed methods return, unpacked from the [`Reply`] of their [`Call`].
pub(crate) trait FromReply: Sized {
    fn from_reply(reply: Reply) -> Result<Self, CallFailure>;
}

/// A reply of another kind than the call's means the contract module mapped a call wrongly:
/// a host bug, reported as a bad return rather than a panic.
fn mismatch(expected: &str, reply: &Reply) -> CallFailure {
    CallFailure::BadReturn(format!(
        "the host expected {expected} but the contract binding answered {}",
        reply.kind()
    ))
}

macro_rules! from_reply {
    ($($variant:ident($value:ty) is $expected:literal;)*) => {$(
        impl FromReply for $value {
            fn from_reply(reply: Reply) -> Result<Self, CallFailure> {
                match reply {
                    Reply::$variant(value) => Ok(value),
                    other => Err(mismatch($expected, &other)),
                }
            }
        }
    )*};
}

from_reply! {
    Permissions(RequestPermission) is "permissions";
    Notifications(Vec<Notification>) is "notifications";
    Approvers(Approvers) is "approvers";
    Identity(Option<String>) is "an identity";
    Timeout(Option<u64>) is "a timeout";
    Hook(HookOutcome) is "a hook outcome";
    Flows(Vec<String>) is "flow names";
    Options(Vec<FieldOption>) is "field options";
    Form(Vec<FormField>) is "a form";
}

impl FromReply for () {
    fn from_reply(reply: Reply) -> Result<Self, CallFailure> {
        match reply {
            Reply::Done => Ok(()),
            other => Err(mismatch("nothing", &other)),
        }
    }
}

impl FromReply for Option<serde_json::Value> {
    fn from_reply(reply: Reply) -> Result<Self, CallFailure> {
        match reply {
            Reply::Output(output) => parse_output(output),
            other => Err(mismatch("a strategy output", &other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategy_calls_from_an_event_need_a_target() {
        let event = Event::default();
        assert!(matches!(
            Call::from_event(Handler::Escalate, &event),
            Err(CallFailure::BadInput(_))
        ));
        let call = Call::from_event(Handler::On(Step::Approve), &event);
        assert!(matches!(call, Ok(Call::On(Step::Approve, _))));
        assert_eq!(
            Call::from_event(Handler::FetchRemoteIdentity, &event).map(|call| call.handler()),
            Ok(Handler::FetchRemoteIdentity)
        );
    }

    #[test]
    fn replies_unpack_into_their_own_type_only() {
        assert_eq!(
            Option::<u64>::from_reply(Reply::Timeout(Some(60))),
            Ok(Some(60))
        );
        assert!(matches!(
            Option::<u64>::from_reply(Reply::Done),
            Err(CallFailure::BadReturn(_))
        ));
        assert_eq!(
            Option::<serde_json::Value>::from_reply(Reply::Output(Some("{\"a\":1}".into()))),
            Ok(Some(serde_json::json!({ "a": 1 })))
        );
        assert!(matches!(
            Option::<serde_json::Value>::from_reply(Reply::Output(Some("{".into()))),
            Err(CallFailure::BadReturn(_))
        ));
        assert_eq!(Reply::Done.into_json(), Ok(serde_json::Value::Null));
    }
}
