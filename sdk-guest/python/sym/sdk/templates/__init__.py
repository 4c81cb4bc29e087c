"""The approval template's steps, what a hook may return, and `get_step_output`."""

from enum import Enum

from sym.sdk.templates.step import get_step_output

__all__ = ["ApprovalTemplate", "ApprovalTemplateStep", "Template", "TemplateStep", "get_step_output"]


class TemplateStep(str, Enum):
    """What every template's hooks may return besides its own steps."""

    IGNORE = "ignore"


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


class Template:
    """What every template offers a hook: `ignore`."""

    @classmethod
    def ignore(cls, *, message=None, **_):
        """Cancel the incoming event; `message` is shown to the user who caused it."""
        return HookResult("ignore", message)


class ApprovalTemplate(Template):
    """What an `on_*` hook returns to redirect the step (or None to let it happen)."""

    @classmethod
    def approve(cls, *, reason=None, **_):
        return HookResult("approve", reason)

    @classmethod
    def deny(cls, *, reason=None, **_):
        return HookResult("deny", reason)

    @classmethod
    def request(cls, *, reason=None, **_):
        return HookResult("request", reason)

    @classmethod
    def escalate(cls, *, reason=None, **_):
        return HookResult("escalate", reason)

    @classmethod
    def deescalate(cls, *, reason=None, **_):
        return HookResult("deescalate", reason)
