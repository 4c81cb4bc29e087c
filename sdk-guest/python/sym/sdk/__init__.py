"""The `sym.sdk` package: what an `impl.py` imports.

Assent implements the public API of Sym's Python SDK on top of the `assent:flow` WIT
contract, so an `impl.py` written for Sym runs unchanged as a sandboxed component.
"""

from sym.sdk.annotations import hook, prefetch, reducer
from sym.sdk.errors import SymIntegrationError, SymSDKError
from sym.sdk.event import Channel, Event, Flow, Payload, Run
from sym.sdk.exceptions import SymException
from sym.sdk.forms import FieldOption, FieldType, PromptField, SymPromptForm
from sym.sdk.notifications import Notification
from sym.sdk.request_permission import PermissionLevel, RequestPermission
from sym.sdk.strategies import AccessStrategy
from sym.sdk.target import AccessTarget
from sym.sdk.templates import ApprovalTemplate, ApprovalTemplateStep
from sym.sdk.user import User, UserIdentity, UserRole, user_ids

__all__ = [
    "AccessStrategy",
    "AccessTarget",
    "ApprovalTemplate",
    "ApprovalTemplateStep",
    "Channel",
    "Event",
    "FieldOption",
    "FieldType",
    "Flow",
    "Notification",
    "Payload",
    "PermissionLevel",
    "PromptField",
    "RequestPermission",
    "Run",
    "SymException",
    "SymIntegrationError",
    "SymPromptForm",
    "SymSDKError",
    "User",
    "UserIdentity",
    "UserRole",
    "hook",
    "prefetch",
    "reducer",
    "user_ids",
]
