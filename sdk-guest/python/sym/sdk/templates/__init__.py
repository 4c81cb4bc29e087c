"""The approval template's steps, and what a hook may return."""

from enum import Enum


class ApprovalTemplateStep(Enum):
    PROMPT = "prompt"
    REQUEST = "request"
    APPROVE = "approve"
    DENY = "deny"
    ESCALATE = "escalate"
    DEESCALATE = "deescalate"
    REQUEST_FORWARD = "request_forward"
    REQUEST_EXPIRE = "request_expire"


class HookResult:
    """A hook's decision: the step to take instead, or `ignore` to cancel the event."""

    def __init__(self, kind, text=None):
        self.kind = kind
        self.text = text

    def __repr__(self):
        return f"HookResult({self.kind!r}, {self.text!r})"


class ApprovalTemplate:
    """What an `on_*` hook returns to redirect the step (or None to let it happen)."""

    @staticmethod
    def approve(reason=None, **_):
        return HookResult("approve", reason)

    @staticmethod
    def deny(reason=None, **_):
        return HookResult("deny", reason)

    @staticmethod
    def ignore(message=None, **_):
        """Cancel the incoming event; `message` is shown to the user who caused it."""
        return HookResult("ignore", message)

    @staticmethod
    def request(reason=None, **_):
        return HookResult("request", reason)

    @staticmethod
    def escalate(reason=None, **_):
        return HookResult("escalate", reason)

    @staticmethod
    def deescalate(reason=None, **_):
        return HookResult("deescalate", reason)
