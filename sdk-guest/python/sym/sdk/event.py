"""The event a handler receives."""

from datetime import datetime


def _step_name(step):
    name = getattr(step, "value", step)
    return str(name).lower().replace("-", "_")


class Channel:
    """Where the request came from; `identifier` is the Slack channel id, if from Slack."""

    def __init__(self, identifier=None, type="api"):
        self.identifier = identifier
        self.type = type


class Run:
    def __init__(self, id="", actors=None, contexts=None, source_channel=None):
        self.id = id
        self.actors = dict(actors or {})
        self.contexts = dict(contexts or {})
        self.source_channel = source_channel or Channel()


class Payload:
    def __init__(self, fields=None, timestamp="", message=None):
        self.fields = dict(fields or {})
        # The text an approver added to their decision, when the flow asks for one.
        self.message = message
        try:
            self.timestamp = datetime.fromisoformat(timestamp)
        except (TypeError, ValueError):
            self.timestamp = None


class Environment:
    """The flow's environment (`main`, `sandbox`, …) and its integrations, by name."""

    def __init__(self, name="", integrations=None):
        self.name = name
        self.integrations = dict(integrations or {})


class Flow:
    def __init__(self, name="", label="", vars=None, fields=None, environment=None):
        self.name = name
        self.label = label
        self.vars = dict(vars or {})
        self.fields = list(fields or [])
        self.environment = environment or Environment()
        self.srn = name


class Event:
    """What happened: `name` (the step), `user` (who caused it), `payload.fields`,
    `flow.vars`, `run`."""

    def __init__(self, name, user, payload, flow, run, outputs=None):
        self.name = name
        self.user = user
        self.payload = payload
        self.flow = flow
        self.run = run
        self.outputs = dict(outputs or {})

    @property
    def type(self):
        return self.name

    @property
    def fields(self):
        return self.payload.fields

    @property
    def channel(self):
        """Where the request came from: `type` is `slack` or `api`, `identifier` the Slack
        channel id (None for a request made outside a channel)."""
        return self.run.source_channel

    def get_actor(self, step):
        """The user who acted at `step` (a name such as "request", or an ApprovalTemplateStep)."""
        return self.run.actors.get(_step_name(step))

    def get_context(self, step):
        """The context recorded at `step`, as a dict."""
        return self.run.contexts.get(_step_name(step))

    def get_step_output(self, step=None):
        """What `step` returned (e.g. the strategy's output for "escalate")."""
        if step is None:
            return self.outputs
        return self.outputs.get(_step_name(step))
