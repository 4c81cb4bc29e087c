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
        }
    }
}
