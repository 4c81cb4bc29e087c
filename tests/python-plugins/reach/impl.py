# Reaches for the URL in the flow's `url` var with `requests` as the request is made, and
# ignores the request with whatever the host said, so a test can see what was refused.
import requests

from sym.sdk.annotations import hook, reducer
from sym.sdk.request_permission import PermissionLevel, RequestPermission
from sym.sdk.templates import ApprovalTemplate


@reducer
def get_permissions(event):
    return RequestPermission(
        webapp_view=PermissionLevel.MEMBER,
        approve_deny=PermissionLevel.ADMIN,
        allow_self_approval=False,
    )


@hook
def on_request(event):
    try:
        response = requests.get(event.flow.vars["url"], timeout=3)
        return ApprovalTemplate.ignore(message=f"reached: {response.status_code}")
    except requests.exceptions.RequestException as error:
        return ApprovalTemplate.ignore(message=f"{type(error).__name__}: {error}")
