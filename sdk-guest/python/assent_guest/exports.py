"""The contract's exports, answered by the author's module (see `assent_guest.register`)."""

import assent_guest as g
# Imported here so the build bundles it: `sym.sdk` reaches the host's services through it,
# importing it only when a handler first asks.
from assent_guest import host  # noqa: F401
from wit_world import exports
from wit_world.imports import types as t


class Meta(exports.Meta):
    def describe(self):
        return t.Manifest(
            sdk=g.SDK,
            handlers=g.handlers(),
            prefetch_fields=sorted(g.prefetchers()),
            on_change_fields=g.on_change_fields(),
        )


def _reducer(name, event, convert):
    fn = g.function(name)
    return g.guarded(lambda: convert(fn(g.event_from(event))))


class Flow(exports.Flow):
    def get_permissions(self, event):
        return _reducer("get_permissions", event, g.request_permission_to)

    def get_request_notifications(self, event):
        return _reducer("get_request_notifications", event, g.notifications_to)

    def get_approvers(self, event):
        return _reducer("get_approvers", event, g.approvers_to)

    def get_identity(self, event):
        return _reducer("get_identity", event, lambda answer: None if answer is None else str(answer))

    def get_timeout(self, event):
        return _reducer("get_timeout", event, lambda answer: None if answer is None else int(answer))

    def get_flows(self, user, flows, vars):
        fn = g.function("get_flows")
        return g.guarded(
            lambda: g.flow_names_to(fn(g.user_from(user), [g.flow_from(f) for f in flows], dict(vars)))
        )

    def prefetch(self, field, event):
        fn = g.prefetchers().get(field)
        if fn is None:
            raise g.fail(LookupError(f"no @prefetch(field_name=\"{field}\") reducer"))
        return g.guarded(lambda: g.options_to(fn(g.event_from(event)), field))

    def on_change(self, field, event, form):
        fn = g.function(g.ON_CHANGE_PREFIX + field)
        if fn is None:
            raise g.fail(LookupError(f"no on_change_{field} handler"))
        # Sym passes the username of the person filling in the form, and the form with the
        # flow's vars (`form.flow_vars`).
        flow = g.flow_from(event.flow)
        return g.guarded(lambda: g.form_to(fn(event.user.username, g.form_from(form, flow)), form))

    def on_step(self, step, event):
        fn = g.function("on_" + g.step_name(step))
        if fn is None:
            return t.HookOutcome_Proceed()
        return g.guarded(lambda: g.outcome_to(fn(g.event_from(event))))

    def after_step(self, step, event):
        fn = g.function("after_" + g.step_name(step))
        if fn is not None:
            g.guarded(lambda: fn(g.event_from(event)))


def _strategy_call(method, target, event):
    strategy = g.strategy()
    return g.guarded(lambda: g.output_to(getattr(strategy, method)(target.id, g.event_from(event))))


class Strategy(exports.Strategy):
    def fetch_remote_identity(self, user):
        strategy = g.strategy()
        return g.guarded(lambda: _optional_str(strategy.fetch_remote_identity(g.user_from(user))))

    def escalate(self, target, event):
        return _strategy_call("escalate", target, event)

    def deescalate(self, target, event):
        return _strategy_call("deescalate", target, event)


def _optional_str(value):
    return None if value is None else str(value)
