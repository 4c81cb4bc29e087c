"""PagerDuty, through the flow environment's `pagerduty` integration (Sym's
`sym.sdk.integrations.pagerduty`). The host calls PagerDuty's API with the integration's
token; the plugin never holds it."""

from enum import Enum

from sym.sdk.exceptions import PagerDutyError  # noqa: F401 - Sym's module re-exports it
from sym.sdk.integrations._call import call, login, users


class PagerDutyStatus(str, Enum):
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class PagerDutyUrgency(str, Enum):
    LOW = "low"
    HIGH = "high"


def _on_call_args(escalation_policy_name, escalation_policy_id, schedule_name, schedule_id):
    return {
        "escalation_policy_name": escalation_policy_name,
        "escalation_policy_id": escalation_policy_id,
        "schedule_name": schedule_name,
        "schedule_id": schedule_id,
    }


def is_on_call(user, *, escalation_policy_name=None, escalation_policy_id=None, schedule_name=None, schedule_id=None):
    """Whether `user` is on call now: for the given schedule or escalation policy, or any."""
    args = _on_call_args(escalation_policy_name, escalation_policy_id, schedule_name, schedule_id)
    args["user"] = login(user, "pagerduty")
    return bool(call("pagerduty", "is_on_call", args, PagerDutyError))


def users_on_call(*, escalation_policy_name=None, escalation_policy_id=None, schedule_name=None, schedule_id=None):
    """The people on call now, for the given schedule or escalation policy, or any."""
    args = _on_call_args(escalation_policy_name, escalation_policy_id, schedule_name, schedule_id)
    return users(call("pagerduty", "users_on_call", args, PagerDutyError))


def users_for_schedule(*, schedule_name=None, schedule_id=None):
    """Everyone on the schedule."""
    args = {"schedule_name": schedule_name, "schedule_id": schedule_id}
    return users(call("pagerduty", "users_for_schedule", args, PagerDutyError))


def _incident_args(service_ids, statuses, urgencies):
    return {
        "service_ids": list(service_ids or []),
        "statuses": [getattr(s, "value", s) for s in (statuses or [PagerDutyStatus.TRIGGERED, PagerDutyStatus.ACKNOWLEDGED])],
        "urgencies": [getattr(u, "value", u) for u in (urgencies or [PagerDutyUrgency.HIGH])],
    }


def get_incidents(*, assignees=None, service_ids=None, statuses=None, urgencies=None, since=None, until=None):
    """Incidents matching the filters, as PagerDuty returns them."""
    return call("pagerduty", "get_incidents", _incident_args(service_ids, statuses, urgencies), PagerDutyError)


def has_incident(*, assignees=None, service_ids=None, statuses=None, urgencies=None, since=None, until=None):
    """Whether any incident matches the filters."""
    return bool(call("pagerduty", "has_incident", _incident_args(service_ids, statuses, urgencies), PagerDutyError))
