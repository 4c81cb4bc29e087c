"""The approval template's steps, and what a hook may return."""

from enum import Enum


class ApprovalTemplateStep(str, Enum):
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

    @classmethod
    def approve(cls, *, reason=None, **_):
        return HookResult("approve", reason)

    @classmethod
    def deny(cls, *, reason=None, **_):
        return HookResult("deny", reason)

    @classmethod
    def ignore(cls, *, message=None, **_):
        """Cancel the incoming event; `message` is shown to the user who caused it."""
        return HookResult("ignore", message)

    @classmethod
    def request(cls, *, reason=None, **_):
        return HookResult("request", reason)

    @classmethod
    def escalate(cls, *, reason=None, **_):
        return HookResult("escalate", reason)

    @classmethod
    def deescalate(cls, *, reason=None, **_):
        return HookResult("deescalate", reason)
