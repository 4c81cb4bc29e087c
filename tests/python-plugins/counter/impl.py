# Counts its calls in module state, to show each session starts from the same clean state
# (sessions prepared ahead of time included).
from sym.sdk.annotations import reducer
from sym.sdk.request_permission import PermissionLevel, RequestPermission

calls = 0


@reducer
def get_permissions(event):
    return RequestPermission(webapp_view=PermissionLevel.ADMIN, approve_deny=PermissionLevel.MEMBER)


@reducer
def get_identity(event):
    global calls
    calls += 1
    return f"call {calls}"
