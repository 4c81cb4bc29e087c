"""The host's services a handler may call (contract 0.3.0's `users` and `integrations`
imports), in sym.sdk's terms: counts of a person's past requests, identities kept on a
person, people by email, and the flow environment's integrations (Okta, PagerDuty, `http`
APIs), which the host calls with their own secrets.

Each failure comes back as the Sym exception a Sym handler expects, with the host's words.
"""

import json
from datetime import datetime, timezone

from componentize_py_types import Err
from wit_world.imports import types as t
from wit_world.imports import integrations as _integrations
from wit_world.imports import users as _users

import assent_guest as g
from sym.sdk.exceptions.identity import CouldNotSaveError
from sym.sdk.exceptions.sym_integration import SymIntegrationError
from sym.sdk.target import AccessTarget
from sym.sdk.templates import step as _step

_EVENTS = {name: step for step, name in g._STEP_NAMES.items()}
_FILTERS = ("flow", "target")


def _error(error, exception):
    host_error = error.value
    name = "INVALID_INPUT" if host_error.kind == t.HostErrorKind.INVALID_INPUT else "UNAVAILABLE"
    return exception(name, host_error.message)


def _time(value, name):
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    raise TypeError(f"`{name}` is {value!r}; give a datetime (or None)")


def event_count(user, event_name, since=None, until=None, filter_on="flow", include_errored=False):
    """`User.get_event_count`: events named `event_name` on runs `user` requested, of the
    running handler's flow (`filter_on="flow"`) or target (`filter_on="target"`)."""
    step = _EVENTS.get(str(event_name))
    if step is None:
        raise ValueError(f"`{event_name}` is not an event; use one of: {', '.join(_EVENTS)}")
    if filter_on not in _FILTERS:
        raise ValueError(f"filter_on is {filter_on!r}; use \"flow\" or \"target\"")
    current = _step._current
    flow = target = None
    if current is not None and filter_on == "flow":
        flow = current.flow.name
    if current is not None and filter_on == "target":
        targets = [v for v in current.payload.fields.values() if isinstance(v, AccessTarget)]
        target = targets[0].id if targets else None
    query = _users.EventCountQuery(
        user_id=user.id,
        event=step,
        since=_time(since, "since"),
        until=_time(until, "until"),
        flow=flow,
        target=target,
        include_errored=bool(include_errored),
    )
    try:
        return _users.get_event_count(query)
    except Err as error:
        raise _error(error, SymIntegrationError) from None


def persist_user_identity(email, service, service_id, user_id):
    """Keeps `user_id` as the person's account in `service` (instance `service_id`)."""
    identity = t.Identity(service=str(service), external_id=str(user_id), service_id=service_id and str(service_id))
    try:
        return g.user_from(_users.persist_user_identity(str(email), identity))
    except Err as error:
        raise _error(error, lambda _name, message: CouldNotSaveError(message)) from None


def user_by_email(email):
    """The organisation's user with `email`, added as a member if there is none."""
    try:
        return g.user_from(_users.get_or_create_user_by_email(str(email)))
    except Err as error:
        raise _error(error, SymIntegrationError) from None


# The names an integration failure is raised with, by the host's kind of error.
_INTEGRATION_ERRORS = {
    _integrations.ErrorKind.NOT_CONFIGURED: "NOT_CONFIGURED",
    _integrations.ErrorKind.INVALID_REQUEST: "INVALID_REQUEST",
    _integrations.ErrorKind.REFUSED: "REFUSED",
    _integrations.ErrorKind.TIMEOUT: "TIMEOUT",
    _integrations.ErrorKind.UNAVAILABLE: "UNAVAILABLE",
    _integrations.ErrorKind.PROVIDER: "API_ERROR",
    _integrations.ErrorKind.BUDGET: "BUDGET_EXCEEDED",
}


def integration_error(error):
    """The host's integration error as (Sym-style name, message, HTTP status or None)."""
    failure = error.value
    return _INTEGRATION_ERRORS.get(failure.kind, "UNKNOWN_ERROR"), failure.message, failure.status


def call(integration, operation, args, exception):
    """Calls `operation` of the environment's integration `integration` (its name, or its
    type when the environment has one of that type) with `args`; answers what it returned.
    A failure raises `exception(name, message)` (Sym's `OktaError`, `PagerDutyError`, …)."""
    try:
        answer = _integrations.call(str(integration), str(operation), json.dumps(args))
    except Err as error:
        name, message, _ = integration_error(error)
        raise exception(name, message) from None
    return json.loads(answer)


def fetch(method, url, headers, body, timeout_ms, integration):
    """Sends a request through one of the environment's `http` integrations; answers
    (status, headers, body) or raises the host's error as (name, message) in `Err`."""
    request = _integrations.Request(
        method=str(method).upper(),
        url=str(url),
        headers=[(str(k), str(v)) for k, v in headers],
        body=body,
        timeout_ms=timeout_ms,
        integration=integration,
    )
    response = _integrations.fetch(request)
    return response.status, list(response.headers), bytes(response.body)


def secret(integration, setting, exception):
    """The value of the secret that `setting` of `integration` names (audited by the host)."""
    try:
        return _integrations.secret(str(integration), str(setting))
    except Err as error:
        name, message, _ = integration_error(error)
        raise exception(name, message) from None
