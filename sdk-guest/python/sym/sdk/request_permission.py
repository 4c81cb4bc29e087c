"""Who may view and who may approve or deny a request."""

from enum import Enum


class PermissionLevel(str, Enum):
    ADMIN = "admin"
    MEMBER = "member"
    ALL_USERS = "all_users"


class RequestPermission:
    """`webapp_view` and `approve_deny` are a PermissionLevel or a list of users (User
    objects, emails or ids)."""

    def __init__(self, webapp_view, approve_deny, allow_self_approval=False):
        self.webapp_view = webapp_view
        self.approve_deny = approve_deny
        self.allow_self_approval = allow_self_approval
