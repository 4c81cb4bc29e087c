"""Slack destinations for notifications and legacy `get_approvers`."""


class SlackDestination:
    def __init__(self, kind, value, allow_self=False):
        self.kind = kind
        self.value = value
        self.allow_self = allow_self

    def __repr__(self):
        return f"slack.{self.kind}({self.value!r})"


class SlackLookup:
    """Several destinations; with `fallback`, each is tried in turn until one is delivered."""

    def __init__(self, destinations, fallback=False, allow_self=False):
        self.destinations = list(destinations)
        self.fallback = fallback
        self.allow_self = allow_self


def channel(name, allow_self=False):
    """A channel by name (`#sym-requests`) or id."""
    return SlackDestination("channel", name, allow_self)


def user(identifier, allow_self=False):
    """A user by Slack id, `@username`, email, or a User."""
    return SlackDestination("user", identifier, allow_self)


def group(users, allow_self=False):
    """A group DM with these users."""
    return SlackDestination("group", list(users), allow_self)


def fallback(*destinations, allow_self=False):
    """Try each destination in turn until one is delivered."""
    if len(destinations) == 1 and isinstance(destinations[0], (list, tuple)):
        destinations = tuple(destinations[0])
    return SlackLookup(destinations, fallback=True, allow_self=allow_self)


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
