//! The one trait a plugin implements.

use crate::{
    Approvers, Event, FieldOption, Flow, FormField, Notification, Outcome, PluginError,
    RequestPermission, Result, Target, User,
};

fn not_implemented<T>(handler: &str) -> Result<T> {
    Err(PluginError {
        kind: "not-implemented".into(),
        message: format!("`{handler}` is not implemented by this plugin"),
    })
}

/// A flow's reducers and hooks and an access strategy's operations. Implement the ones your
/// flow needs inside an `impl` block marked `#[assent_sdk::plugin]`.
///
/// A flow needs [`Plugin::get_permissions`] (or the legacy [`Plugin::get_approvers`]); a
/// strategy needs [`Plugin::escalate`] and [`Plugin::deescalate`]. The defaults below are
/// never called: the attribute tells the host which handlers you wrote, and for the rest
/// the host does what a flow without that handler does.
pub trait Plugin {
    /// The prompt fields [`Plugin::prefetch`] fills, by name.
    const PREFETCH_FIELDS: &'static [&'static str] = &[];
    /// The prompt fields whose changes [`Plugin::on_change`] answers, by name.
    const ON_CHANGE_FIELDS: &'static [&'static str] = &[];

    // Reducers.

    /// Who may view the request and who may approve or deny it.
    fn get_permissions(_event: &Event) -> Result<RequestPermission> {
        not_implemented("get_permissions")
    }
    /// Where the request is announced, tried in order on timeout or failed delivery.
    fn get_request_notifications(_event: &Event) -> Result<Vec<Notification>> {
        not_implemented("get_request_notifications")
    }
    /// Legacy routing: a destination or fallback chain and whether self-approval is allowed.
    fn get_approvers(_event: &Event) -> Result<Approvers> {
        not_implemented("get_approvers")
    }
    /// The requester's identity in the target system.
    fn get_identity(_event: &Event) -> Result<Option<String>> {
        not_implemented("get_identity")
    }
    /// Seconds until an unanswered request expires.
    fn get_timeout(_event: &Event) -> Result<Option<u64>> {
        not_implemented("get_timeout")
    }

    // The request form.

    /// Which of `flows` (by name) `user` is offered; `vars` are the flows filter's own.
    fn get_flows(_user: &User, _flows: &[Flow], _vars: &[(String, String)]) -> Result<Vec<String>> {
        not_implemented("get_flows")
    }
    /// The choices of the prompt field `field` (one of [`Plugin::PREFETCH_FIELDS`]), asked
    /// before the form is shown.
    fn prefetch(_field: &str, _event: &Event) -> Result<Vec<FieldOption>> {
        not_implemented("prefetch")
    }
    /// The form after `user` changed `field` (one of [`Plugin::ON_CHANGE_FIELDS`]): change any
    /// field's visibility, whether it is required, its choices or its label.
    fn on_change(_field: &str, _user: &User, form: Vec<FormField>) -> Result<Vec<FormField>> {
        Ok(form)
    }

    // Hooks that run before a step and may redirect it.

    fn on_prompt(_event: &Event) -> Result<Outcome> {
        not_implemented("on_prompt")
    }
    fn on_request(_event: &Event) -> Result<Outcome> {
        not_implemented("on_request")
    }
    fn on_approve(_event: &Event) -> Result<Outcome> {
        not_implemented("on_approve")
    }
    fn on_deny(_event: &Event) -> Result<Outcome> {
        not_implemented("on_deny")
    }
    fn on_escalate(_event: &Event) -> Result<Outcome> {
        not_implemented("on_escalate")
    }
    fn on_deescalate(_event: &Event) -> Result<Outcome> {
        not_implemented("on_deescalate")
    }
    fn on_request_forward(_event: &Event) -> Result<Outcome> {
        not_implemented("on_request_forward")
    }
    fn on_request_expire(_event: &Event) -> Result<Outcome> {
        not_implemented("on_request_expire")
    }

    // Hooks that run after a step, for side effects.

    fn after_prompt(_event: &Event) -> Result<()> {
        not_implemented("after_prompt")
    }
    fn after_request(_event: &Event) -> Result<()> {
        not_implemented("after_request")
    }
    fn after_approve(_event: &Event) -> Result<()> {
        not_implemented("after_approve")
    }
    fn after_deny(_event: &Event) -> Result<()> {
        not_implemented("after_deny")
    }
    fn after_escalate(_event: &Event) -> Result<()> {
        not_implemented("after_escalate")
    }
    fn after_deescalate(_event: &Event) -> Result<()> {
        not_implemented("after_deescalate")
    }
    fn after_request_forward(_event: &Event) -> Result<()> {
        not_implemented("after_request_forward")
    }
    fn after_request_expire(_event: &Event) -> Result<()> {
        not_implemented("after_request_expire")
    }

    // Access strategy.

    /// The user's identity in the target system, e.g. a cloud principal id.
    fn fetch_remote_identity(_user: &User) -> Result<Option<String>> {
        not_implemented("fetch_remote_identity")
    }
    /// Grants access to `target`. Return JSON text to keep as the escalate step's output.
    fn escalate(_target: &Target, _event: &Event) -> Result<Option<String>> {
        not_implemented("escalate")
    }
    /// Takes access to `target` away again.
    fn deescalate(_target: &Target, _event: &Event) -> Result<Option<String>> {
        not_implemented("deescalate")
    }
}
