# A Python plugin that misbehaves on request: the flow var `behavior` says how, in
# `get_permissions`. The host must contain each, exactly as for Rust plugins.
from sym.sdk.annotations import reducer
from sym.sdk.request_permission import PermissionLevel, RequestPermission


@reducer
def get_permissions(event):
    behavior = event.flow.vars.get("behavior", "")
    if behavior == "loop":
        while True:
            pass
    if behavior == "memory":
        hoard = []
        while True:
            hoard.append(bytearray(16 << 20))
    if behavior == "read-file":
        with open("/etc/passwd") as secrets:
            return RequestPermission(secrets.read(), PermissionLevel.ADMIN)
    if behavior == "socket":
        # Dynamic, so the build's import check cannot see it: at run time only modules
        # imported at build time exist.
        socket = __import__("socket")
        socket.create_connection(("127.0.0.1", 5432))
    if behavior == "missing-module":
        __import__("boto3")
    if behavior == "raise":
        raise PermissionError("the safelist service said no")
    return RequestPermission(
        webapp_view=PermissionLevel.ADMIN,
        approve_deny=PermissionLevel.MEMBER,
    )
