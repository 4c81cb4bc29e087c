//! How a flow grants and takes back access: the `params` of a flow definition.

use serde::{Deserialize, Serialize};

use crate::Target;

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
        }
    }
}
