"""Custom access strategies, and the integrations they and other handlers use."""

from sym.sdk.secret import Secret

_SECRET_SUFFIX = "_secret"


class Integration:
    """A configured integration (Sym's `sym_integration`): `type`, `external_id` (an Okta
    domain, a Slack team id) and `settings`, in which each `…_secret` setting is a `Secret`."""

    def __init__(self, name="", type="", external_id="", settings=None):
        self.name = name
        self.type = type
        self.external_id = external_id
        self.settings = {
            key: Secret(name, key, value) if key.endswith(_SECRET_SUFFIX) else value
            for key, value in dict(settings or {}).items()
        }
        self.srn = name

    def __repr__(self):
        return f"Integration(name={self.name!r}, type={self.type!r})"


class AccessStrategy:
    """Subclass and implement `escalate` and `deescalate` (and optionally
    `fetch_remote_identity`). Assent calls them with the target's id and the event."""

    def fetch_remote_identity(self, user):
        """The user's identity in the target system; defaults to their email."""
        return user.email

    def get_requester_identity(self, event):
        return self.fetch_remote_identity(event.get_actor("request"))

    def escalate(self, target_id, event):
        raise NotImplementedError

    def deescalate(self, target_id, event):
        raise NotImplementedError


__all__ = ["AccessStrategy", "Integration"]
