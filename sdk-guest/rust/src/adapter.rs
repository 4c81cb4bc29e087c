//! Connects a [`Plugin`] to the generated WIT exports.

use std::marker::PhantomData;

use crate::bindings::assent::flow::types::{Handler, Manifest};
use crate::bindings::exports::assent::flow::{flow, meta, strategy};
use crate::{
    Approvers, Event, FieldOption, Flow, FormField, Notification, Outcome, Plugin, PluginError,
    RequestPermission, Step, Target, User,
};

fn names(fields: &[&str]) -> Vec<String> {
    fields.iter().map(|field| (*field).to_owned()).collect()
}

/// The handlers a plugin wrote, as `#[assent_sdk::plugin]` found them in its `impl` block.
pub trait Described {
    const HANDLERS: &'static [Handler];
}

/// Exports `P` through the WIT bindings.
#[derive(Debug)]
pub struct Adapter<P>(PhantomData<P>);

impl<P: Plugin + Described> meta::Guest for Adapter<P> {
    fn describe() -> Manifest {
        Manifest {
            sdk: concat!("assent-sdk-rust ", env!("CARGO_PKG_VERSION")).into(),
            handlers: P::HANDLERS.to_vec(),
            prefetch_fields: names(P::PREFETCH_FIELDS),
            on_change_fields: names(P::ON_CHANGE_FIELDS),
        }
    }
}

impl<P: Plugin + Described> flow::Guest for Adapter<P> {
    fn get_permissions(event: Event) -> Result<RequestPermission, PluginError> {
        P::get_permissions(&event)
    }

    fn get_request_notifications(event: Event) -> Result<Vec<Notification>, PluginError> {
        P::get_request_notifications(&event)
    }

    fn get_approvers(event: Event) -> Result<Approvers, PluginError> {
        P::get_approvers(&event)
    }

    fn get_identity(event: Event) -> Result<Option<String>, PluginError> {
        P::get_identity(&event)
    }

    fn get_timeout(event: Event) -> Result<Option<u64>, PluginError> {
        P::get_timeout(&event)
    }

    fn get_flows(
        user: User,
        flows: Vec<Flow>,
        vars: Vec<(String, String)>,
    ) -> Result<Vec<String>, PluginError> {
        P::get_flows(&user, &flows, &vars)
    }

    fn prefetch(field: String, event: Event) -> Result<Vec<FieldOption>, PluginError> {
        P::prefetch(&field, &event)
    }

    fn on_change(
        field: String,
        user: User,
        form: Vec<FormField>,
    ) -> Result<Vec<FormField>, PluginError> {
        P::on_change(&field, &user, form)
    }

    fn on_step(step: Step, event: Event) -> Result<Outcome, PluginError> {
        let event = &event;
        match step {
            Step::Prompt => P::on_prompt(event),
            Step::Request => P::on_request(event),
            Step::Approve => P::on_approve(event),
            Step::Deny => P::on_deny(event),
            Step::Escalate => P::on_escalate(event),
            Step::Deescalate => P::on_deescalate(event),
            Step::RequestForward => P::on_request_forward(event),
            Step::RequestExpire => P::on_request_expire(event),
        }
    }

    fn after_step(step: Step, event: Event) -> Result<(), PluginError> {
        let event = &event;
        match step {
            Step::Prompt => P::after_prompt(event),
            Step::Request => P::after_request(event),
            Step::Approve => P::after_approve(event),
            Step::Deny => P::after_deny(event),
            Step::Escalate => P::after_escalate(event),
            Step::Deescalate => P::after_deescalate(event),
            Step::RequestForward => P::after_request_forward(event),
            Step::RequestExpire => P::after_request_expire(event),
        }
    }
}

impl<P: Plugin + Described> strategy::Guest for Adapter<P> {
    fn fetch_remote_identity(user: User) -> Result<Option<String>, PluginError> {
        P::fetch_remote_identity(&user)
    }

    fn escalate(target: Target, event: Event) -> Result<Option<String>, PluginError> {
        P::escalate(&target, &event)
    }

    fn deescalate(target: Target, event: Event) -> Result<Option<String>, PluginError> {
        P::deescalate(&target, &event)
    }
}
