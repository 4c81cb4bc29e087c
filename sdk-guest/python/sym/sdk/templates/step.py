"""`get_step_output`, as in Sym's SDK."""

# The event of the handler running now; the host's glue sets it around every call.
_current = None


def get_step_output(step=None):
    """What `step` returned (e.g. a strategy's `escalate` output), or the current step's."""
    if _current is None:
        return {}
    name = getattr(step, "value", step) or _current.name
    return _current.outputs.get(str(name).lower(), {})
