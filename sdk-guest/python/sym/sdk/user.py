"""Users, and user destinations for notifications."""


class UserIdentity:
    """An account of the user in another system, e.g. `slack` → `U123`."""

    def __init__(self, service, external_id):
        self.service = service
        self.external_id = external_id

    @property
    def service_type(self):
        return self.service

    def __repr__(self):
        return f"UserIdentity({self.service!r}, {self.external_id!r})"


class User:
    """A user of the organisation."""

    def __init__(self, id="", email="", username="", first_name=None, last_name=None, role="member", identities=()):
        self.id = id
        self.email = email
        self.username = username
        self.first_name = first_name
        self.last_name = last_name
        self.role = role
        self.identities = list(identities)

    @property
    def is_admin(self):
        return self.role == "admin"

    def identity(self, service):
        """The user's identity in `service`, or None."""
        for identity in self.identities:
            if identity.service == service:
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
