# "Routing Access Requests": emergencies go to the emergency channel and may be
# self-approved; everything else goes to the request channel for admins. From Sym's docs,
# unchanged except the `return` the page cut off.
from sym.sdk.annotations import reducer
from sym.sdk.request_permission import PermissionLevel, RequestPermission
from sym.sdk.integrations import slack
from sym.sdk.notifications import Notification

@reducer
def get_permissions(event):
    """Normally, only admins can approve or deny requests.
    When a request is urgent, let the requester approve their own request.
    """
    allow_self = False
    if event.payload.fields.get("urgency") == "Emergency":
        allow_self = True

    return RequestPermission(
        webapp_view=PermissionLevel.ADMIN,
        approve_deny=PermissionLevel.ADMIN,
        allow_self_approval=allow_self,
    )

@reducer
def get_request_notifications(event):
    """Send notifications to different Slack channels based on urgency."""
    # Make sure our Flow Variables are available
    fvars = event.flow.vars

    if event.payload.fields.get("urgency") == "Emergency":
        slack_channel = slack.channel(fvars["emergency_channel"])
    else:
        slack_channel = slack.channel(fvars["request_channel"])

    return [
        Notification(destinations=[slack_channel])
    ]
