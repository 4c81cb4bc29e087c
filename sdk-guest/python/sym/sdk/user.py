"""Users, and user destinations for notifications."""

from enum import Enum


class UserRole(str, Enum):
    """What a user may do; each role has the permissions of those below it."""

    ADMIN = "admin"
    MEMBER = "member"
    GUEST = "guest"


class UserIdentity:
    """An account of the user in another system, e.g. `slack` → `U123`."""

    def __init__(self, service, external_id, service_id=None):
        self.service = service
        self.external_id = external_id
        self.service_id = service_id

    @property
    def user_id(self):
        return self.external_id

    def __str__(self):
        return f"Identity({self.service}: {self.user_id})"

    def __repr__(self):
        return str(self)


class User:
    """A user of the organisation."""

    def __init__(self, id="", email="", username="", first_name=None, last_name=None, role="member", identities=()):
        self.id = id
        self.email = email
        self.username = username
        self.first_name = first_name
        self.last_name = last_name
        self.role = UserRole(role)
        # As in Sym's SDK: identities by service, each a list.
        self.identities = {}
        for identity in identities:
            self.identities.setdefault(identity.service, []).append(identity)

    @property
    def type(self):
        """`bot` or `normal`: a person's username is their email, a bot's a name without `@`."""
        return "normal" if "@" in (self.username or self.email) else "bot"

    def get_event_count(self, event_name, since=None, until=None, filter_on="flow", include_errored=False):
        """How many `event_name` events (e.g. "approve") the audit log holds on runs this
        user requested, of the running flow (`filter_on="flow"`) or its target
        (`filter_on="target"`), between `since` and `until` (datetimes)."""
        from assent_guest import host

        return host.event_count(self, event_name, since, until, filter_on, include_errored)

    def identity(self, service_type, service_id=None):
        """The user's identity in `service_type` (optionally one instance of it), or None."""
        for identity in self.identities.get(service_type, []):
            if service_id is None or identity.service_id == service_id:
                return identity
        return None

    def __eq__(self, other):
        if not isinstance(other, User):
            return NotImplemented
        if self.id and other.id:
            return self.id == other.id
        return bool(self.email) and self.email.lower() == other.email.lower()

    def __hash__(self):
        return hash(self.id or self.email.lower())

    def __repr__(self):
        return f"User(email={self.email!r}, username={self.username!r})"


class UserDestination:
    """Notify one user, by email or Assent user id."""

    def __init__(self, email=None, id=None):
        if not email and not id:
            raise ValueError("user() needs an email or an id")
        self.email = email
        self.id = id

    def __repr__(self):
        return f"user(email={self.email!r}, id={self.id!r})"


def user(email=None, id=None):
    """A user to notify, by email or id."""
    return UserDestination(email=email, id=id)


def user_ids(users):
    """The ids of `users`, for `RequestPermission(approve_deny=user_ids(...))`."""
    return [u.id for u in users]
