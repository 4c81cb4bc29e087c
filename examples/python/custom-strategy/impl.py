# "Custom Access Strategy": approvals from the approvers safelist, and a strategy that adds
# the requester to the target's group on escalate and removes them on deescalate. The
# strategy returns what it did, which Assent keeps as the step's output.
from sym.sdk.annotations import reducer
from sym.sdk.integrations import slack
from sym.sdk.request_permission import PermissionLevel, RequestPermission
from sym.sdk.strategies import AccessStrategy
from sym.sdk.templates import ApprovalTemplateStep
from sym.sdk.templates.step import get_step_output


@reducer
def get_permissions(event):
    return RequestPermission(
        webapp_view=PermissionLevel.ADMIN,
        approve_deny=PermissionLevel.MEMBER,
        allow_self_approval=False,
    )


class GroupStrategy(AccessStrategy):
    def fetch_remote_identity(self, user):
        return user.email

    def escalate(self, target_id, event):
        requester = self.get_requester_identity(event)
        group = event.payload.fields["target"].settings["group"]
        return {"added": requester, "group": group, "target": target_id}

    def deescalate(self, target_id, event):
        # What escalate returned, as Sym's SDK hands it back.
        granted = get_step_output(ApprovalTemplateStep.ESCALATE)
        return {"removed": granted["added"], "group": granted["group"], "target": target_id}
