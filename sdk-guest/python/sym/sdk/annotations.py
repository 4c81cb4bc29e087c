"""Decorators that mark a function as a handler.

Handlers are found by name (`get_permissions`, `on_approve`, `after_escalate`, …) whether or
not they are decorated; the decorators document intent and check the name.
"""

REDUCERS = (
    "get_permissions",
    "get_request_notifications",
    "get_approvers",
    "get_identity",
    "get_timeout",
    "get_flows",
)
STEPS = (
    "prompt",
    "request",
    "approve",
    "deny",
    "escalate",
    "deescalate",
    "request_forward",
    "request_expire",
)
HOOKS = tuple(f"on_{step}" for step in STEPS) + tuple(f"after_{step}" for step in STEPS)


def _mark(kind, names):
    def decorate(fn):
        if fn.__name__ not in names:
            raise ValueError(
                f"`{fn.__name__}` is not a {kind}; {kind}s are named: {', '.join(names)}"
            )
        fn.__sym_handler__ = kind
        return fn

    return decorate


def reducer(fn):
    """Marks a reducer: `get_permissions`, `get_request_notifications`, `get_approvers`, …"""
    return _mark("reducer", REDUCERS)(fn)


def hook(fn):
    """Marks a hook: `on_<step>` runs before a step and may redirect it, `after_<step>` after it."""
    return _mark("hook", HOOKS)(fn)


def prefetch(field_name):
    """Marks the reducer that fills the choices of prompt field `field_name` (a field with
    `prefetch = true`) before the form is shown. It takes the event and returns a list of
    `FieldOption`s: `@prefetch(field_name="team") def teams(event): ...`."""
    if not isinstance(field_name, str) or not field_name:
        raise ValueError("@prefetch needs the prompt field's name: @prefetch(field_name=\"team\")")

    def decorate(fn):
        fn.__sym_prefetch__ = field_name
        return fn

    return decorate
