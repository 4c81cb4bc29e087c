"""Helpers of Sym's SDK that reach the host: identities kept on a person."""


def persist_user_identity(*, email, service, service_id, user_id):
    """Keeps `user_id` as the account in `service` (its instance `service_id`) of the person
    with `email`, replacing an earlier one there; returns the user as now kept."""
    from assent_guest import host

    return host.persist_user_identity(email, service, service_id, user_id)
