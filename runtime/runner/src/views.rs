//! Who may see a run.

use assent_engine::permissions;
use assent_store::RunRecord;
use assent_types::{Role, Step, User};

use crate::context::event_for;
use crate::reach::Reach;
use crate::step::permissions_of;
use crate::{Runner, RuntimeError};

impl Runner {
    /// Whether `viewer` may see `run`: admins and the requester always; anyone else as the
    /// flow's `get_permissions` said when the request was made (`webapp_view`, or being an
    /// approver) — decided without running a plugin, so a run nobody may see is simply not
    /// found. Runs stored before runs kept their permissions ask the plugin.
    pub async fn may_view(&self, run: &RunRecord, viewer: &User) -> Result<bool, RuntimeError> {
        if viewer.role == Role::Admin || viewer.id == run.requester_id {
            return Ok(true);
        }
        if let Some(rules) = &run.body.permissions {
            return Ok(permissions::RequestPermissions {
                rules,
                requester: &run.body.requester,
            }
            .may_view(viewer));
        }
        let context = self.context_of(run).await?;
        let mut session = self
            .session(
                &run.org_id,
                &context.plugin,
                Reach::flow(&context.flow.environment, Some(&run.id)),
            )
            .await
            .map_err(RuntimeError::Plugin)?;
        let event = event_for(Step::Request, viewer, &context, run);
        let rules = permissions_of(&context, &mut session, &event)
            .await
            .map_err(RuntimeError::Plugin)?;
        Ok(permissions::RequestPermissions {
            rules: &rules,
            requester: &run.body.requester,
        }
        .may_view(viewer))
    }
}
