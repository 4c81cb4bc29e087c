//! How a flow grants and takes back access: the `params` of a flow definition.

use serde::{Deserialize, Serialize};

use crate::{ChannelType, Target};

/// How a flow grants and takes back access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowParams {
    /// Take access away by itself when the requested `duration` ends.
    #[serde(default = "yes")]
    pub schedule_deescalation: bool,
    /// Let the requester or an approver end granted access early.
    #[serde(default = "yes")]
    pub allow_revoke: bool,
    /// What a `target` prompt field can name, with the settings its strategy reads.
    #[serde(default)]
    pub targets: Vec<Target>,
    /// Where the flow may be requested from (Sym's `allowed_sources`): `None` is anywhere,
    /// an empty list nowhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_sources: Option<Vec<ChannelType>>,
    /// Slack markdown shown above the request form's fields (Sym's `additional_header_text`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_header_text: Option<String>,
    /// Approvers may add a message to their approval or denial, shown on the card and given
    /// to the flow's handlers as `event.payload.message` (Sym's `include_decision_message`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub include_decision_message: bool,
    /// Slack guests (single- and multi-channel) may request and act on the flow's requests
    /// (Sym's `allow_guest_interaction`); without it they are refused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_guest_interaction: bool,
}

impl FlowParams {
    /// Whether a request from `source` may start a run of the flow.
    pub fn allows_source(&self, source: ChannelType) -> bool {
        self.allowed_sources
            .as_ref()
            .is_none_or(|allowed| allowed.contains(&source))
    }
}

fn yes() -> bool {
    true
}

impl Default for FlowParams {
    fn default() -> Self {
        FlowParams {
            schedule_deescalation: true,
            allow_revoke: true,
            targets: Vec::new(),
            allowed_sources: None,
            additional_header_text: None,
            include_decision_message: false,
            allow_guest_interaction: false,
        }
    }
}
