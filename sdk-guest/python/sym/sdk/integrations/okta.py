"""Okta, through the flow environment's `okta` integration (Sym's `sym.sdk.integrations.okta`).
The host calls Okta's API with the integration's token; the plugin never holds it."""

from sym.sdk.exceptions import OktaError  # noqa: F401 - Sym's module re-exports it
from sym.sdk.integrations._call import call, login, users


def is_user_in_group(user, *, group_id):
    """Whether `user` is a member of the Okta group `group_id`; raises `OktaError` if the
    group does not exist."""
    return bool(call("okta", "is_user_in_group", {"user": login(user, "okta"), "group_id": group_id}, OktaError))


def users_in_group(*, group_id):
    """The members of the Okta group `group_id`."""
    return users(call("okta", "users_in_group", {"group_id": group_id}, OktaError))


def get_user_info(user):
    """The person's Okta user, as Okta's Users API returns it."""
    return call("okta", "get_user_info", {"user": login(user, "okta")}, OktaError)


def list_groups(*, name_filter=None, filter=None, expand=None, only_native_groups=True):
    """Okta's groups whose names start with `name_filter` (all groups without one)."""
    groups = call("okta", "list_groups", {"query": name_filter}, OktaError) or []
    if filter is not None or expand is not None:
        raise OktaError("INVALID_REQUEST", "list_groups takes `name_filter` only in Assent; filter the groups it returns in Python")
    if only_native_groups:
        groups = [g for g in groups if g.get("type", "OKTA_GROUP") == "OKTA_GROUP"]
    return groups
