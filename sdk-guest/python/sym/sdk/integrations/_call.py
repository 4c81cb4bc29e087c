"""What the provider modules share: calling the host, and naming people as providers know
them."""


def call(integration_type, operation, args, exception):
    """Calls `operation` of the flow environment's `integration_type` integration."""
    from assent_guest import host

    return host.call(integration_type, operation, {k: v for k, v in args.items() if v is not None}, exception)


def login(user, service):
    """The person's account in `service`: the identity kept for it, else their email."""
    identity = None
    try:
        identity = user.identity(service)
    except Exception:  # noqa: BLE001 - a user without identities is named by email
        identity = None
    external = getattr(identity, "external_id", None)
    return external or user.email


def users(emails):
    """People a provider listed, by email, as `User`s (their email and username)."""
    from sym.sdk.user import User

    return [User(id=email, email=email, username=email) for email in emails]
