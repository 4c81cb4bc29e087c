"""Custom access strategies."""


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
