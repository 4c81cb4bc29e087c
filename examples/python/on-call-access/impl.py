# On-call access (Assent's own example): whoever is on call on the flow's PagerDuty schedule
# gets access at once; anyone else waits for a member of the flow's Okta approvers group,
# and an approval by someone outside that group is set aside. Assent calls Okta and
# PagerDuty with the environment's integrations; the tokens never reach this code.
from sym.sdk.annotations import hook, reducer
from sym.sdk.exceptions import SymException
from sym.sdk.integrations import okta, pagerduty
from sym.sdk.request_permission import PermissionLevel, RequestPermission
from sym.sdk.templates import ApprovalTemplate


@reducer
def get_permissions(event):
    approvers = okta.users_in_group(group_id=event.flow.vars["approvers_group"])
    return RequestPermission(
        webapp_view=PermissionLevel.MEMBER,
        approve_deny=approvers,
        allow_self_approval=False,
    )


@hook
def on_request(event):
    try:
        on_call = pagerduty.is_on_call(event.user, schedule_name=event.flow.vars["on_call_schedule"])
    except SymException:
        # PagerDuty is down or slow: the request waits for an approver instead.
        on_call = False
    if on_call:
        return ApprovalTemplate.approve(reason="on call: approved at once")


@hook
def on_approve(event):
    if event.user.id == event.get_actor("request").id:
        # The requester approving is the on-call approval `on_request` made (permissions
        # keep anyone from approving their own request otherwise).
        return None
    if not okta.is_user_in_group(event.user, group_id=event.flow.vars["approvers_group"]):
        return ApprovalTemplate.ignore(message="You are not in the Okta approvers group.")
