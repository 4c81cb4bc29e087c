"""Glue between the `assent:flow` contract (componentize-py bindings) and `sym.sdk`.

The build writes an app module that imports the author's file, calls `register(module)`,
and re-exports `Meta`, `Flow` and `Strategy` from `assent_guest.exports`. Every handler call
converts the WIT event into `sym.sdk` objects, calls the author's function, converts the
answer back, and turns any exception into the contract's `plugin-error` with the exception's
class name and message — an exception escaping an export would trap the instance instead.
"""

import inspect
import json

from componentize_py_types import Err
from wit_world.imports import types as t

from sym.sdk.annotations import REDUCERS, STEPS
from sym.sdk.event import Channel, Environment, Event, Flow, Payload, Run
from sym.sdk.forms import FieldOption, PromptField, SymPromptForm
from sym.sdk.integrations.slack import SlackDestination, SlackLookup
from sym.sdk.notifications import Notification
from sym.sdk.request_permission import PermissionLevel, RequestPermission
from sym.sdk.strategies import AccessStrategy, Integration
from sym.sdk.target import AccessTarget
from sym.sdk.templates import HookResult
from sym.sdk.templates import step as _step
from sym.sdk.user import User, UserDestination, UserIdentity

SDK = "assent-sdk-python 0.1.0 (sym.sdk compatible)"

_STEP_NAMES = {
    t.Step.PROMPT: "prompt",
    t.Step.REQUEST: "request",
    t.Step.APPROVE: "approve",
    t.Step.DENY: "deny",
    t.Step.ESCALATE: "escalate",
    t.Step.DEESCALATE: "deescalate",
    t.Step.REQUEST_FORWARD: "request_forward",
    t.Step.REQUEST_EXPIRE: "request_expire",
}

_ROLES = {t.Role.ADMIN: "admin", t.Role.MEMBER: "member", t.Role.GUEST: "guest"}

_modules = ()
_strategy = None


def register(module, *parts):
    """Binds the author's module, and more files of the same flow (Sym's `on_change` file)
    whose handlers join it; called once, at build time, by the app module."""
    global _modules, _strategy
    _modules = (module, *parts)
    _strategy = None
    for source in _modules:
        for value in vars(source).values():
            if (
                inspect.isclass(value)
                and issubclass(value, AccessStrategy)
                and value is not AccessStrategy
                and value.__module__ == source.__name__
            ):
                _strategy = value()
                break
        if _strategy is not None:
            break


def function(name):
    """The author's function `name`, from the impl first, then its parts."""
    for source in _modules:
        fn = getattr(source, name, None)
        if callable(fn) and not inspect.isclass(fn):
            return fn
    return None


def _names():
    return {name: value for source in reversed(_modules) for name, value in vars(source).items()}


def prefetchers():
    """The author's `@prefetch(field_name=...)` reducers, by field name."""
    found = {}
    for value in _names().values():
        field = getattr(value, "__sym_prefetch__", None)
        if callable(value) and isinstance(field, str):
            found.setdefault(field, value)
    return found


ON_CHANGE_PREFIX = "on_change_"


def on_change_fields():
    """The fields the author answers changes of: each `on_change_<field>(username, form)`."""
    return sorted(
        name[len(ON_CHANGE_PREFIX):]
        for name in _names()
        if name.startswith(ON_CHANGE_PREFIX) and len(name) > len(ON_CHANGE_PREFIX) and function(name)
    )


def handlers():
    """The handlers the author wrote, by WIT handler enum."""
    found = []
    for name in REDUCERS:
        if function(name):
            found.append(name)
    if prefetchers():
        found.append("prefetch")
    if on_change_fields():
        found.append("on_change")
    for prefix in ("on_", "after_"):
        for step in STEPS:
            if function(prefix + step):
                found.append(prefix + step)
    if _strategy is not None:
        found.extend(["fetch_remote_identity", "escalate", "deescalate"])
    return [getattr(t.Handler, name.upper()) for name in found]


def fail(error):
    """The contract's error for an exception, in the author's terms."""
    message = str(error) or repr(error)
    return Err(t.PluginError(kind=type(error).__name__, message=message))


def guarded(call):
    """Runs `call`, turning any exception into the contract's error."""
    try:
        return call()
    except Err:
        raise
    except Exception as error:  # noqa: BLE001 — every error must reach the host as a value
        raise fail(error) from None


# ---- WIT → sym.sdk ----------------------------------------------------------------------

def user_from(user):
    return User(
        id=user.id,
        email=user.email,
        username=user.username,
        first_name=user.first_name,
        last_name=user.last_name,
        role=_ROLES.get(user.role, "member"),
        identities=[UserIdentity(i.service, i.external_id, i.service_id) for i in user.identities],
    )


def target_from(target):
    return AccessTarget(target.id, target.name, target.label, dict(target.settings))


def value_from(value):
    if isinstance(value, t.FieldValue_SlackUser):
        return user_from(value.value)
    if isinstance(value, t.FieldValue_SlackUserList):
        return [user_from(u) for u in value.value]
    if isinstance(value, t.FieldValue_Target):
        return target_from(value.value)
    if isinstance(value, (t.FieldValue_StrList, t.FieldValue_IntList)):
        return list(value.value)
    return value.value


def event_from(event):
    contexts = {}
    for step, text in event.run.contexts:
        try:
            contexts[_STEP_NAMES[step]] = json.loads(text)
        except ValueError:
            contexts[_STEP_NAMES[step]] = text
    try:
        outputs = json.loads(event.outputs) if event.outputs else {}
    except ValueError:
        outputs = {}
    channel = event.run.source_channel
    converted = Event(
        name=_STEP_NAMES[event.name],
        user=user_from(event.user),
        payload=Payload(
            {name: value_from(v) for name, v in event.payload.fields},
            event.payload.timestamp,
            event.payload.message,
        ),
        flow=flow_from(event.flow),
        run=Run(
            id=event.run.id,
            actors={_STEP_NAMES[step]: user_from(u) for step, u in event.run.actors},
            contexts=contexts,
            source_channel=Channel(
                channel.identifier,
                "slack" if channel.channel_type == t.ChannelType.SLACK else "api",
            ),
        ),
        outputs=outputs,
    )
    # For `sym.sdk.templates.step.get_step_output`, which reads the running handler's event.
    _step._current = converted
    return converted


# ---- sym.sdk → WIT ----------------------------------------------------------------------

def _user_reference(user):
    if isinstance(user, User):
        return user.email or user.id
    if isinstance(user, UserDestination):
        return user.email or user.id
    return str(user)


def destination_to(destination):
    if isinstance(destination, SlackDestination):
        if destination.kind == "channel":
            return t.Destination_SlackChannel(str(destination.value))
        if destination.kind == "group":
            return t.Destination_SlackGroup([_user_reference(u) for u in destination.value])
        return t.Destination_SlackUser(_user_reference(destination.value))
    if isinstance(destination, User):
        return t.Destination_UserEmail(destination.email) if destination.email else t.Destination_UserId(destination.id)
    if isinstance(destination, UserDestination):
        return t.Destination_UserEmail(destination.email) if destination.email else t.Destination_UserId(destination.id)
    if isinstance(destination, str):
        if destination.startswith("#"):
            return t.Destination_SlackChannel(destination)
        if "@" in destination:
            return t.Destination_UserEmail(destination)
    raise TypeError(f"{destination!r} is not a destination; use slack.channel(...), slack.user(...) or a User")


def permission_to(permission):
    if isinstance(permission, PermissionLevel):
        level = {
            PermissionLevel.ADMIN: t.PermissionLevel.ADMIN,
            PermissionLevel.MEMBER: t.PermissionLevel.MEMBER,
            PermissionLevel.ALL_USERS: t.PermissionLevel.ALL_USERS,
        }[permission]
        return t.Permission_Level(level)
    if isinstance(permission, (list, tuple, set)):
        return t.Permission_Users([_user_reference(u) for u in permission])
    raise TypeError(f"{permission!r} is not a permission; use a PermissionLevel or a list of users")


def request_permission_to(answer):
    if not isinstance(answer, RequestPermission):
        raise TypeError(f"get_permissions returned {answer!r}, not a RequestPermission")
    return t.RequestPermission(
        webapp_view=permission_to(answer.webapp_view),
        approve_deny=permission_to(answer.approve_deny),
        allow_self_approval=bool(answer.allow_self_approval),
    )


def notifications_to(answer):
    if answer is None:
        return []
    if isinstance(answer, Notification):
        answer = [answer]
    result = []
    for notification in answer:
        if not isinstance(notification, Notification):
            raise TypeError(f"get_request_notifications returned {notification!r}, not a Notification")
        timeout = notification.timeout
        if timeout is None:
            # A destination's own timeout (`slack.channel(..., timeout=)`) is how long the
            # notification waits there before the next one is sent.
            timeouts = [d.timeout for d in notification.destinations if getattr(d, "timeout", None)]
            timeout = min(timeouts) if timeouts else None
        result.append(
            t.Notification(
                destinations=[destination_to(d) for d in notification.destinations],
                timeout=None if timeout is None else int(timeout),
            )
        )
    return result


# What `get_approvers` cannot say to the host through contract 0.1.0, and what says it.
_TIMEOUTS_NEED_NOTIFICATIONS = (
    "get_approvers cannot give {what} yet; return them from get_request_notifications "
    "instead: [Notification(destinations=[slack.channel(...)], timeout=SECONDS), ...] sends "
    "each in turn, moving on when one times out or cannot be delivered"
)


def _legacy_limits(answer):
    destinations = answer.destinations if isinstance(answer, SlackLookup) else (
        answer if isinstance(answer, (list, tuple)) else [answer])
    if any(getattr(d, "timeout", None) for d in destinations):
        raise ValueError(_TIMEOUTS_NEED_NOTIFICATIONS.format(what="destination timeouts (`timeout=`)"))
    if isinstance(answer, SlackLookup) and answer.fallback:
        if answer.continue_on_timeout:
            raise ValueError(_TIMEOUTS_NEED_NOTIFICATIONS.format(what="`continue_on_timeout=True`"))
        if not answer.continue_on_delivery_failure:
            raise ValueError(
                "get_approvers cannot give `continue_on_delivery_failure=False` yet: Assent "
                "always tries the next destination when one cannot be delivered; leave it out"
            )


def approvers_to(answer):
    if answer is None:
        return t.Approvers(destinations=[], fallback=False, allow_self=False)
    _legacy_limits(answer)
    if isinstance(answer, SlackLookup):
        return t.Approvers([destination_to(d) for d in answer.destinations], answer.fallback, answer.allow_self)
    if isinstance(answer, (list, tuple)):
        return t.Approvers([destination_to(d) for d in answer], False, any(getattr(d, "allow_self", False) for d in answer))
    return t.Approvers([destination_to(answer)], False, bool(getattr(answer, "allow_self", False)))


_OUTCOMES = {
    "approve": t.HookOutcome_Approve,
    "deny": t.HookOutcome_Deny,
    "ignore": t.HookOutcome_Ignore,
    "request": t.HookOutcome_Request,
    "escalate": t.HookOutcome_Escalate,
    "deescalate": t.HookOutcome_Deescalate,
}


def outcome_to(answer):
    if answer is None:
        return t.HookOutcome_Proceed()
    if isinstance(answer, HookResult):
        return _OUTCOMES[answer.kind](answer.text)
    raise TypeError(f"a hook returned {answer!r}; return None or an ApprovalTemplate result")


def output_to(answer):
    if answer is None:
        return None
    if isinstance(answer, str):
        try:
            json.loads(answer)
            return answer
        except ValueError:
            return json.dumps(answer)
    return json.dumps(answer, default=str)


# ---- the prompt form ---------------------------------------------------------------------

_FIELD_TYPES = {
    t.FieldType.STRING: "string",
    t.FieldType.STR_LIST: "str_list",
    t.FieldType.INT: "int",
    t.FieldType.INT_LIST: "int_list",
    t.FieldType.BOOL: "bool",
    t.FieldType.DURATION: "duration",
    t.FieldType.SLACK_USER: "slack_user",
    t.FieldType.SLACK_USER_LIST: "slack_user_list",
    t.FieldType.TARGET: "target",
}


def options_to(answer, field):
    """A prefetch reducer's answer as the contract's field options."""
    if answer is None:
        return []
    options = []
    for option in answer:
        if not isinstance(option, FieldOption):
            option = FieldOption(value=option)
        options.append(t.FieldOption(value=str(option.value), label=str(option.label)))
    return options


def _field_option(option):
    return FieldOption(value=option.value, label=option.label)


def form_from(fields, flow=None):
    """The contract's form as a `SymPromptForm`, for `on_change_<field>`, with `flow`'s vars."""
    converted = []
    for field in fields:
        prompt = PromptField(
            name=field.name,
            type=_FIELD_TYPES[field.field_type],
            value=None if field.value is None else value_from(field.value),
            label=field.label,
            required=field.required,
            allowed_values=[_field_option(o) for o in field.original_allowed_values],
            visible=field.visible,
        )
        prompt.current_allowed_values = [_field_option(o) for o in field.allowed_values]
        converted.append(prompt)
    return SymPromptForm(converted, flow_vars=flow.vars if flow is not None else None)


def form_to(answer, fields):
    """An `on_change` answer as the contract's form: names, types and values stay the host's;
    labels, visibility, `required` and current choices are the answer's."""
    if answer is None:
        return list(fields)
    if not isinstance(answer, SymPromptForm):
        raise TypeError(f"an on_change handler returned {answer!r}; return the SymPromptForm it was given")
    by_name = {field.name: field for field in fields}
    result = []
    for prompt in answer.fields.values():
        known = by_name.get(prompt.name)
        if known is None:
            raise ValueError(f"on_change returned field `{prompt.name}`, which the form does not have")
        label = prompt.label
        result.append(
            t.FormField(
                name=known.name,
                label=None if label is None else str(label),
                field_type=known.field_type,
                required=bool(prompt.required),
                visible=bool(prompt.visible),
                value=known.value,
                allowed_values=options_to(prompt.current_allowed_values, known.name),
                original_allowed_values=known.original_allowed_values,
            )
        )
    return result


def flow_from(flow):
    return Flow(flow.name, flow.label, dict(flow.vars), list(flow.fields), environment_from(flow.environment))


def environment_from(environment):
    """The flow's environment, its integrations by name (Sym: `event.flow.environment`)."""
    integrations = {
        i.name: Integration(i.name, i.integration_type, i.external_id, dict(i.settings))
        for i in environment.integrations
    }
    return Environment(environment.name, integrations)


def flow_names_to(answer):
    """A `get_flows` answer (flows, or their names) as names."""
    if answer is None:
        return []
    names = []
    for flow in answer:
        if isinstance(flow, Flow):
            names.append(flow.name)
        elif isinstance(flow, str):
            names.append(flow)
        else:
            raise TypeError(f"get_flows returned {flow!r}; return some of the flows it was given")
    return names


def step_name(step):
    return _STEP_NAMES[step]


def strategy():
    return _strategy
