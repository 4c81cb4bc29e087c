//! A plugin as one built before contract 0.2.0 existed: generated straight from
//! `wit/0.1.0`, without the SDK (which follows the newest contract). Only members may
//! approve, and nobody approves their own request; `get-timeout` answers the flow var
//! `timeout`. Everything else is the host's default.

// The bindings wit-bindgen generates export raw functions; the SDK wraps them for plugins,
// but this plugin deliberately does without it.
#![allow(unsafe_code)]

wit_bindgen::generate!({
    path: "../../../wit/0.1.0",
    world: "plugin",
});

use assent::flow::log::{Level, log};
use assent::flow::types::{
    Approvers, Event, Handler, HookOutcome, Manifest, Notification, Permission, PermissionLevel,
    PluginError, RequestPermission, Step, Target, User,
};
use exports::assent::flow::{flow, meta, strategy};

struct Legacy;

fn not_implemented<T>(name: &str) -> Result<T, PluginError> {
    Err(PluginError {
        kind: "not-implemented".into(),
        message: format!("`{name}` is not implemented"),
    })
}

impl meta::Guest for Legacy {
    fn describe() -> Manifest {
        Manifest {
            sdk: "hand-written 0.1.0".into(),
            handlers: vec![
                Handler::GetPermissions,
                Handler::GetTimeout,
                Handler::OnApprove,
            ],
        }
    }
}

impl flow::Guest for Legacy {
    fn get_permissions(_event: Event) -> Result<RequestPermission, PluginError> {
        Ok(RequestPermission {
            webapp_view: Permission::Level(PermissionLevel::Admin),
            approve_deny: Permission::Level(PermissionLevel::Member),
            allow_self_approval: false,
        })
    }

    fn get_request_notifications(_event: Event) -> Result<Vec<Notification>, PluginError> {
        not_implemented("get-request-notifications")
    }

    fn get_approvers(_event: Event) -> Result<Approvers, PluginError> {
        not_implemented("get-approvers")
    }

    fn get_identity(_event: Event) -> Result<Option<String>, PluginError> {
        not_implemented("get-identity")
    }

    fn get_timeout(event: Event) -> Result<Option<u64>, PluginError> {
        let timeout = event.flow.vars.iter().find(|(key, _)| key == "timeout");
        timeout
            .map(|(_, value)| {
                value.parse().map_err(|_| PluginError {
                    kind: "ValueError".into(),
                    message: format!("`timeout` is `{value}`, not a number of seconds"),
                })
            })
            .transpose()
    }

    fn on_step(step: Step, event: Event) -> Result<HookOutcome, PluginError> {
        if step != Step::Approve {
            return not_implemented("on-step");
        }
        let requester = event
            .run
            .actors
            .iter()
            .find(|(step, _)| *step == Step::Request)
            .map(|(_, user)| user.id.clone());
        log(
            Level::Info,
            "approval checked",
            &[("approver".into(), event.user.email.clone())],
        );
        if requester.as_deref() == Some(event.user.id.as_str()) {
            return Ok(HookOutcome::Ignore(Some(
                "You cannot approve your own request.".into(),
            )));
        }
        Ok(HookOutcome::Proceed)
    }

    fn after_step(_step: Step, _event: Event) -> Result<(), PluginError> {
        not_implemented("after-step")
    }
}

impl strategy::Guest for Legacy {
    fn fetch_remote_identity(_user: User) -> Result<Option<String>, PluginError> {
        not_implemented("fetch-remote-identity")
    }

    fn escalate(_target: Target, _event: Event) -> Result<Option<String>, PluginError> {
        not_implemented("escalate")
    }

    fn deescalate(_target: Target, _event: Event) -> Result<Option<String>, PluginError> {
        not_implemented("deescalate")
    }
}

export!(Legacy);
