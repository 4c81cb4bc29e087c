"""The organisation's own people, as Sym's `sym` integration reaches them."""


def get_or_create_user_by_email(email):
    """The organisation's user with `email`, added as a member if there is none."""
    from assent_guest import host

    return host.user_by_email(email)


def get_or_create_users_by_emails(emails):
    """`get_or_create_user_by_email` for each of `emails`, in order."""
    return [get_or_create_user_by_email(email) for email in emails]
