//! The approval-only flow of "Implement Your First Flow", in Rust.
//!
//! Flow vars:
//! - `request_channel`: where requests go, e.g. `#access-requests`;
//! - `approvers`: comma-separated emails of the people allowed to approve.

use assent_sdk::Approvers;
use assent_sdk::prelude::*;

struct ApprovalOnly;

#[assent_sdk::plugin]
impl Plugin for ApprovalOnly {
    /// Route requests to the channel named in the flow's vars. `allow_self` lets requesters
    /// approve themselves, which is handy while trying the flow out.
    fn get_approvers(event: &Event) -> Result<Approvers> {
        let channel = event.var("request_channel").ok_or_else(|| {
            PluginError::new("missing-var", "the flow has no `request_channel` var")
        })?;
        Ok(slack::channel(channel).allow_self(true))
    }

    /// Only members of the approvers safelist may approve.
    fn on_approve(event: &Event) -> Result<Outcome> {
        if !has_approve_access(event) {
            return Ok(Outcome::ignore(
                "You are not authorized to approve this request.",
            ));
        }
        Ok(Outcome::Proceed)
    }

    /// Only the approvers safelist or the requester may deny.
    fn on_deny(event: &Event) -> Result<Outcome> {
        let requester = event.get_actor(Step::Request);
        if !(requester == Some(&event.user) || has_approve_access(event)) {
            return Ok(Outcome::ignore(
                "You are not authorized to deny this request.",
            ));
        }
        Ok(Outcome::Proceed)
    }
}

/// Whether the acting user is in the `approvers` safelist.
fn has_approve_access(event: &Event) -> bool {
    event.var("approvers").is_some_and(|approvers| {
        approvers
            .split(',')
            .any(|approver| approver.trim().eq_ignore_ascii_case(&event.user.email))
    })
}
