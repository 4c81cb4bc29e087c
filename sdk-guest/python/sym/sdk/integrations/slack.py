"""Slack destinations for notifications and legacy `get_approvers`."""


class SlackDestination:
    """Where a request goes. `timeout`: seconds it stays open there (None: until answered)."""

    def __init__(self, kind, value, allow_self=False, timeout=None):
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0):
            raise ValueError(f"slack.{kind}(timeout={timeout!r}): give a whole number of seconds above 0, or None")
        self.kind = kind
        self.value = value
        self.allow_self = allow_self
        self.timeout = timeout

    def __repr__(self):
        return f"slack.{self.kind}({self.value!r})"


class SlackLookup:
    """Several destinations; with `fallback`, each is tried in turn (Sym's
    `RequestDestinationFallback`)."""

    def __init__(self, destinations, fallback=False, allow_self=False,
                 continue_on_delivery_failure=True, continue_on_timeout=False):
        self.destinations = list(destinations)
        self.fallback = fallback
        self.allow_self = allow_self
        self.continue_on_delivery_failure = continue_on_delivery_failure
        self.continue_on_timeout = continue_on_timeout


def channel(name, allow_self=False, timeout=None):
    """A channel by name (`#sym-requests`) or id."""
    return SlackDestination("channel", name, allow_self, timeout)


def user(identifier, allow_self=False, timeout=None):
    """A user by Slack id, `@username`, email, or a User."""
    return SlackDestination("user", identifier, allow_self, timeout)


def group(users, allow_self=False, timeout=None):
    """A group DM with these users (1 to 7, Slack's limit for a group DM with the app)."""
    users = list(users)
    if not 1 <= len(users) <= 7:
        raise ValueError(f"slack.group() takes 1 to 7 users, not {len(users)}")
    return SlackDestination("group", users, allow_self, timeout)


def fallback(*destinations, allow_self=False, continue_on_delivery_failure=True, continue_on_timeout=False):
    """Try each destination in turn: the next when one cannot be delivered
    (`continue_on_delivery_failure`) or, with `continue_on_timeout`, when one times out."""
    if len(destinations) == 1 and isinstance(destinations[0], (list, tuple)):
        destinations = tuple(destinations[0])
    return SlackLookup(
        destinations,
        fallback=True,
        allow_self=allow_self,
        continue_on_delivery_failure=continue_on_delivery_failure,
        continue_on_timeout=continue_on_timeout,
    )


def mention(user):
    """Text that mentions `user` in a Slack message."""
    slack_id = None
    identity = getattr(user, "identity", None)
    if callable(identity):
        found = identity("slack")
        slack_id = found.external_id if found else None
    if slack_id:
        return f"<@{slack_id}>"
    # Without a Slack account the email (a person's username) is the plainest name; an
    # `@` before it would read as a mention Slack cannot resolve.
    return getattr(user, "email", None) or getattr(user, "username", None) or str(user)
