//! A session: one instance of a plugin, whose handlers run one call at a time under the
//! plugin's per-call limits.

use std::sync::Arc;

use std::collections::BTreeMap;

use assent_types::{
    Approvers, Event, FieldOption, Flow, FormField, Handler, HookOutcome, Notification,
    RequestPermission, Step, Target, User,
};
use tokio::sync::OwnedSemaphorePermit;
use wasmtime::component::Instance;
use wasmtime::{Store, UpdateDeadline};

use super::prepared::Prepared;
use super::{Compiled, Described, Plugin};
use crate::caps;
use crate::classify::classify;
use crate::config::Limits;
use crate::contract::{Call, FromReply, Manifest, Reply};
use crate::error::{CallError, CallFailure};
use crate::meter::{CpuMeter, NetworkClock, limited};
use crate::services::{Directory, Integrations};
use crate::share::CpuShare;
use crate::state::{CallState, DeadlineExceeded, LogRecord};

/// One plugin instance. Calls run one at a time; after a trap the session refuses further calls.
pub struct Session {
    store: Store<CallState>,
    instance: Instance,
    compiled: Arc<Compiled>,
    plugin_name: Arc<str>,
    handlers: Option<Arc<Described>>,
    poisoned: bool,
    /// Whose turns this session's calls take, if it shares the cores with other sessions.
    share: Option<CpuShare>,
    /// For a prepared session handed out: make the next one when this one is done.
    refill_on_drop: Option<(Plugin, Arc<Prepared>)>,
    /// For a prepared session still waiting to be handed out: its part of the host's
    /// allowance for idle sessions.
    waiting: Option<OwnedSemaphorePermit>,
    _slot: OwnedSemaphorePermit,
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some((plugin, prepared)) = self.refill_on_drop.take() {
            prepared.refill(&plugin);
        }
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("plugin", &self.plugin_name)
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Waits for an instance slot and instantiates the plugin in it.
    pub(super) async fn start(
        compiled: &Arc<Compiled>,
        plugin_name: &Arc<str>,
        limits: Limits,
    ) -> Result<Session, CallError> {
        let fail = |cause| CallError {
            plugin: plugin_name.to_string(),
            handler: "instantiate".into(),
            cause,
        };
        let shared = &compiled.host.shared;
        let slot = Arc::clone(&shared.instance_slots)
            .acquire_owned()
            .await
            .map_err(|_| fail(CallFailure::HostClosed))?;

        let mut store = Store::new(&shared.engine, CallState::new(&limits));
        store.limiter(|state| &mut state.limiter);
        // Runs on the thread polling the call, at every epoch tick while the plugin runs.
        store.epoch_deadline_callback(|context| {
            let state = context.data();
            if state.meter.used() >= state.deadline {
                return Err(wasmtime::Error::new(DeadlineExceeded {
                    deadline: state.deadline,
                }));
            }
            // Time left: let other tasks run, then check again next tick.
            Ok(UpdateDeadline::Yield(1))
        });
        let (meter, wall_clock, network) = begin_call(&mut store);

        let instantiated = limited(
            &meter,
            wall_clock,
            &network,
            compiled.pre.instantiate_async(&mut store),
        )
        .await;
        let instance = match instantiated {
            None => return Err(fail(CallFailure::WallClockExceeded { limit: wall_clock })),
            Some(Ok(instance)) => instance,
            Some(Err(error)) => {
                let cause = classify(error, store.data());
                return Err(fail(match cause {
                    CallFailure::Trap { trap } => CallFailure::Instantiate(trap),
                    other => other,
                }));
            }
        };
        Ok(Session {
            store,
            instance,
            compiled: Arc::clone(compiled),
            plugin_name: Arc::clone(plugin_name),
            handlers: None,
            poisoned: false,
            share: None,
            refill_on_drop: None,
            waiting: None,
            _slot: slot,
        })
    }

    /// From now on, refuses calls to handlers the plugin does not implement.
    pub(super) fn with_handlers(mut self, described: Arc<Described>) -> Session {
        self.handlers = Some(described);
        self
    }

    /// From now on, each call waits for a turn of `share` before it runs.
    pub fn with_share(mut self, share: CpuShare) -> Session {
        self.share = Some(share);
        self
    }

    /// From now on, the plugin's `users` import reaches `directory` (its organisation's people).
    pub fn with_directory(mut self, directory: Arc<dyn Directory>) -> Session {
        self.store.data_mut().directory = Some(directory);
        self
    }

    /// From now on, the plugin's `integrations` import reaches `integrations` (its flow
    /// environment's).
    pub fn with_integrations(mut self, integrations: Arc<dyn Integrations>) -> Session {
        self.store.data_mut().integrations = Some(integrations);
        self
    }

    /// Hands a prepared session to a caller of `plugin`: it carries the caller's name for the
    /// plugin, and makes the next prepared session when dropped.
    pub(super) fn hand_out(mut self, plugin: &Plugin, prepared: &Arc<Prepared>) -> Session {
        self.plugin_name = Arc::clone(&plugin.name);
        self.refill_on_drop = Some((plugin.clone(), Arc::clone(prepared)));
        self.waiting = None;
        self
    }

    /// Marks a session made ahead of time as waiting, holding `allowance` until handed out.
    pub(super) fn waiting_on(mut self, allowance: OwnedSemaphorePermit) -> Session {
        self.waiting = Some(allowance);
        self
    }

    /// Checks the plugin's exports against the types the host calls them with, on this
    /// (the plugin's first) instance; every later instance relies on it.
    pub(super) fn check_exports(&mut self) -> Result<(), String> {
        self.compiled.exports.check(&mut self.store, &self.instance)
    }

    /// Log lines the plugin wrote so far in this session.
    pub fn logs(&self) -> &[LogRecord] {
        &self.store.data().logs
    }

    /// What the plugin printed to stdout and stderr so far.
    pub fn output(&self) -> (String, String) {
        let state = self.store.data();
        (state.stdout.text(), state.stderr.text())
    }

    /// Runs `call` and unpacks its reply into the type the caller expects.
    async fn run<T: FromReply>(&mut self, call: Call<'_>) -> Result<T, CallError> {
        let handler = call.handler();
        let reply = self.request(call).await?;
        T::from_reply(reply).map_err(|cause| self.error(&handler.to_string(), cause))
    }

    /// The one path every handler call takes: checks the session may call it, runs it under
    /// the session's limits, and turns every failure into a [`CallError`] naming the handler.
    async fn request(&mut self, call: Call<'_>) -> Result<Reply, CallError> {
        let handler = call.handler();
        self.check_callable(handler)?;
        let _turn = match &self.share {
            Some(share) => Some(
                share
                    .turn()
                    .await
                    .ok_or_else(|| self.error(&handler.to_string(), CallFailure::HostClosed))?,
            ),
            None => None,
        };
        let (meter, wall_clock, network) = begin_call(&mut self.store);
        let outcome = limited(
            &meter,
            wall_clock,
            &network,
            self.compiled
                .exports
                .call(&mut self.store, &self.instance, call),
        )
        .await;
        let reply = self.finish(&handler.to_string(), outcome)?;
        caps::cap_reply(reply).map_err(|cause| self.error(&handler.to_string(), cause))
    }

    fn check_callable(&self, handler: Handler) -> Result<(), CallError> {
        if self.poisoned {
            return Err(self.error(&handler.to_string(), CallFailure::Poisoned));
        }
        if let Some(described) = &self.handlers
            && !described.handlers.contains(&handler)
        {
            return Err(self.error(&handler.to_string(), CallFailure::NotImplemented(handler)));
        }
        Ok(())
    }

    /// The CPU time of the last call (or of instantiating, before any call).
    pub fn cpu_time(&self) -> std::time::Duration {
        self.store.data().meter.used()
    }

    /// Unpacks a call's outcome: `None` when its wall clock ran out, else wasmtime's result
    /// around the plugin's own.
    fn finish<R>(
        &mut self,
        handler: &str,
        outcome: Option<wasmtime::Result<Result<R, assent_types::PluginError>>>,
    ) -> Result<R, CallError> {
        let Some(outcome) = outcome else {
            // The call was dropped where it stood: the instance is in no state to reuse.
            self.poisoned = true;
            let limit = self.store.data().wall_clock;
            return Err(self.error(handler, CallFailure::WallClockExceeded { limit }));
        };
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(plugin_error)) => {
                Err(self.error(handler, CallFailure::Plugin(caps::cap_error(plugin_error))))
            }
            Err(error) => {
                self.poisoned = true;
                let cause = classify(error, self.store.data());
                Err(self.error(handler, cause))
            }
        }
    }

    fn error(&self, handler: &str, cause: CallFailure) -> CallError {
        CallError {
            plugin: self.plugin_name.to_string(),
            handler: handler.to_owned(),
            cause,
        }
    }

    /// Calls `describe`, which runs the guest's call path without side effects; for
    /// measuring what a session prepared ahead of time would save (benchmarks).
    #[doc(hidden)]
    pub async fn warm_up(&mut self) -> Result<(), CallError> {
        self.describe().await.map(|_| ())
    }

    /// Asks the plugin what it is and which handlers it implements.
    pub(super) async fn describe(&mut self) -> Result<Manifest, CallError> {
        if self.poisoned {
            return Err(self.error("describe", CallFailure::Poisoned));
        }
        let (meter, wall_clock, network) = begin_call(&mut self.store);
        let outcome = limited(
            &meter,
            wall_clock,
            &network,
            self.compiled
                .exports
                .describe(&mut self.store, &self.instance),
        )
        .await
        .map(|outcome| outcome.map(Ok));
        self.finish("describe", outcome)
    }

    pub async fn get_permissions(&mut self, event: &Event) -> Result<RequestPermission, CallError> {
        self.run(Call::GetPermissions(event)).await
    }

    pub async fn get_request_notifications(
        &mut self,
        event: &Event,
    ) -> Result<Vec<Notification>, CallError> {
        self.run(Call::GetRequestNotifications(event)).await
    }

    pub async fn get_approvers(&mut self, event: &Event) -> Result<Approvers, CallError> {
        self.run(Call::GetApprovers(event)).await
    }

    pub async fn get_identity(&mut self, event: &Event) -> Result<Option<String>, CallError> {
        self.run(Call::GetIdentity(event)).await
    }

    /// Seconds until an unanswered request expires, when the plugin sets it.
    pub async fn get_timeout(&mut self, event: &Event) -> Result<Option<u64>, CallError> {
        self.run(Call::GetTimeout(event)).await
    }

    /// The `on_<step>` hook: proceed, or redirect the step.
    pub async fn on(&mut self, step: Step, event: &Event) -> Result<HookOutcome, CallError> {
        self.run(Call::On(step, event)).await
    }

    /// The `after_<step>` hook, for side effects.
    pub async fn after(&mut self, step: Step, event: &Event) -> Result<(), CallError> {
        self.run(Call::After(step, event)).await
    }

    pub async fn fetch_remote_identity(
        &mut self,
        user: &User,
    ) -> Result<Option<String>, CallError> {
        self.run(Call::FetchRemoteIdentity(user)).await
    }

    /// Grants access to `target`; returns the strategy's output, if any, as JSON.
    pub async fn escalate(
        &mut self,
        target: &Target,
        event: &Event,
    ) -> Result<Option<serde_json::Value>, CallError> {
        self.run(Call::Escalate(target, event)).await
    }

    /// Takes access to `target` away again.
    pub async fn deescalate(
        &mut self,
        target: &Target,
        event: &Event,
    ) -> Result<Option<serde_json::Value>, CallError> {
        self.run(Call::Deescalate(target, event)).await
    }

    /// The names of those of `flows` the plugin offers `user` (Sym's flows filter).
    pub async fn get_flows(
        &mut self,
        user: &User,
        flows: &[Flow],
        vars: &BTreeMap<String, String>,
    ) -> Result<Vec<String>, CallError> {
        self.run(Call::GetFlows(user, flows, vars)).await
    }

    /// The choices of the prompt field `field`, asked before the form is shown.
    pub async fn prefetch(
        &mut self,
        field: &str,
        event: &Event,
    ) -> Result<Vec<FieldOption>, CallError> {
        self.run(Call::Prefetch(field, event)).await
    }

    /// The form after `event.user` changed `field`; `event` is the form's `prompt` event.
    pub async fn on_change(
        &mut self,
        field: &str,
        event: &Event,
        form: &[FormField],
    ) -> Result<Vec<FormField>, CallError> {
        self.run(Call::OnChange(field, event, form)).await
    }

    /// Calls any handler with `event` and returns its result as JSON: the CLI's test bench.
    ///
    /// Strategy handlers act on the event's first `target` field.
    pub async fn call(
        &mut self,
        handler: Handler,
        event: &Event,
    ) -> Result<serde_json::Value, CallError> {
        let call = Call::from_event(handler, event)
            .map_err(|cause| self.error(&handler.to_string(), cause))?;
        let reply = self.request(call).await?;
        reply
            .into_json()
            .map_err(|cause| self.error(&handler.to_string(), cause))
    }
}

/// Starts a call's budget: its CPU meter at zero, checked from the next epoch tick on.
/// Returns the meter the call's future is charged to and the wall-clock time it may take.
fn begin_call(
    store: &mut Store<CallState>,
) -> (Arc<CpuMeter>, std::time::Duration, Arc<NetworkClock>) {
    store.set_epoch_deadline(1);
    let state = store.data_mut();
    state.directory_calls = 0;
    state.integration_calls = 0;
    state.meter.reset();
    state.network.reset();
    (
        Arc::clone(&state.meter),
        state.wall_clock,
        Arc::clone(&state.network),
    )
}
