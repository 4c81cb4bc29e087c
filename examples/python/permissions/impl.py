# "Routing Access Requests", first example: only admins view, members approve or deny, and
# requests go to #sym-requests. From Sym's docs; the two snippets joined, with the `slack`
# import the second one uses.
from sym.sdk.annotations import reducer
from sym.sdk.integrations import slack
from sym.sdk.notifications import Notification
from sym.sdk.request_permission import PermissionLevel, RequestPermission


@reducer
def get_permissions(event):
    return RequestPermission(
        # Only admins may view this request in Sym's web app.
        webapp_view=PermissionLevel.ADMIN,
        # Any non-guest user may approve or deny requests.
        approve_deny=PermissionLevel.MEMBER,
        # allow_self_approval lets users approve their own requests. This is great for testing!
        allow_self_approval=False
    )


@reducer
def get_request_notifications(event):
    return [
        Notification(destinations=[slack.channel("#sym-requests")])
    ]
