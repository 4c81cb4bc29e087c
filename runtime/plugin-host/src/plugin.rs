//! A loaded plugin and the sessions (one instance each) that call its handlers.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use assent_types::{
    Approvers, Event, Handler, HookOutcome, Notification, RequestPermission, Step, Target, User,
};
use tokio::sync::OwnedSemaphorePermit;
use wasmtime::component::{Component, Instance, InstancePre};
use wasmtime::{Store, UpdateDeadline};

use crate::config::Limits;
use crate::contract::v0_1_0::wit;
use crate::error::{CallError, CallFailure, LoadError};
use crate::exports::Exports;
use crate::host::PluginHost;
use crate::state::{CallState, DeadlineExceeded, LogRecord, OutOfMemory};

/// What the host knows of a compiled plugin, shared by every clone of a [`Plugin`].
pub(crate) struct Compiled {
    pub(crate) host: PluginHost,
    pub(crate) component: Component,
    pub(crate) pre: InstancePre<CallState>,
    pub(crate) exports: Exports,
    pub(crate) hash: String,
    pub(crate) size: usize,
    pub(crate) version: &'static str,
}

struct Described {
    compiled: Arc<Compiled>,
    sdk: String,
    handlers: BTreeSet<Handler>,
}

/// A compiled, validated plugin. Cheap to clone.
#[derive(Clone)]
pub struct Plugin {
    described: Arc<Described>,
    name: Arc<str>,
    limits: Limits,
    /// Sessions made ahead of time, for plugins whose instantiation is costly.
    prepared: Option<Arc<Prepared>>,
}

// Sessions kept ready per Python plugin. Instantiating componentize-py's CPython takes
// ~0.5 ms and its first call ~0.7 ms more; a session instantiated and warmed with
// `describe` ahead of time answers its first real call in ~0.5 ms. Two cover a burst; each
// holds one instance slot while it waits.
const PREPARED_SESSIONS: usize = 2;

/// Sessions instantiated and warmed in the background. Each is handed to one caller only
/// and dropped after it, so no state passes from one call to another. The next one is made
/// when a taken session is dropped — after its caller's calls, not during them: making one
/// while a call runs slowed that call down (both contend for the process's memory map).
struct Prepared {
    ready: std::sync::Mutex<Vec<Session>>,
    refilling: std::sync::atomic::AtomicBool,
}

impl Prepared {
    fn new() -> Arc<Prepared> {
        Arc::new(Prepared {
            ready: std::sync::Mutex::new(Vec::new()),
            refilling: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn ready(&self) -> std::sync::MutexGuard<'_, Vec<Session>> {
        self.ready
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.name)
            .field("hash", &self.described.compiled.hash)
            .field("handlers", &self.described.handlers)
            .finish_non_exhaustive()
    }
}

impl Plugin {
    /// Asks a freshly compiled plugin what it implements and checks that it makes sense.
    pub(crate) async fn describe(compiled: Compiled) -> Result<Plugin, LoadError> {
        let compiled = Arc::new(compiled);
        let limits = compiled.host.config().limits;
        let short_hash: Arc<str> = compiled.hash[..12].into();
        let mut described = Described {
            compiled,
            sdk: String::new(),
            handlers: BTreeSet::new(),
        };
        // Describe with the generous Python limits (we do not yet know which SDK built it)
        // and the load deadline: this first instance is the cold one.
        let describe_limits = Limits {
            deadline: limits.deadline.max(Limits::LOAD_DEADLINE),
            ..limits.for_sdk("python")
        };
        let manifest = {
            let mut session = Session::start(&described.compiled, &short_hash, describe_limits)
                .await
                .map_err(|error| LoadError::Describe(Box::new(error)))?;
            // Every later instance relies on this check (see `Exports`).
            described
                .compiled
                .exports
                .check(&mut session.store, &session.instance)
                .map_err(|reason| LoadError::ContractMismatch {
                    version: described.compiled.version.to_owned(),
                    reason,
                })?;
            session
                .describe()
                .await
                .map_err(|error| LoadError::Describe(Box::new(error)))?
        };
        described.sdk = manifest.sdk;
        described.handlers = manifest.handlers.into_iter().map(Handler::from).collect();
        check_handlers(&described.handlers)?;
        let limits = limits.for_sdk(&described.sdk);
        let prepared = described.sdk.contains("python").then(Prepared::new);
        Ok(Plugin {
            described: Arc::new(described),
            name: short_hash,
            limits,
            prepared,
        })
    }

    /// The same plugin under a name used in errors and logs (e.g. the flow's name).
    pub fn named(&self, name: impl Into<Arc<str>>) -> Plugin {
        Plugin {
            name: name.into(),
            ..self.clone()
        }
    }

    /// The same plugin with other per-call limits (e.g. a tenant's own).
    pub fn with_limits(&self, limits: Limits) -> Plugin {
        Plugin {
            limits,
            // Sessions already made carry the old limits.
            prepared: self.prepared.as_ref().map(|_| Prepared::new()),
            ..self.clone()
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Hex SHA-256 of the component's bytes.
    pub fn hash(&self) -> &str {
        &self.described.compiled.hash
    }

    /// Size of the component in bytes.
    pub fn size(&self) -> usize {
        self.described.compiled.size
    }

    /// The `assent:flow` contract version the plugin was built against.
    pub fn contract_version(&self) -> &'static str {
        self.described.compiled.version
    }

    /// The SDK that built it, e.g. `assent-sdk-rust 0.1.0`.
    pub fn sdk(&self) -> &str {
        &self.described.sdk
    }

    pub fn handlers(&self) -> &BTreeSet<Handler> {
        &self.described.handlers
    }

    pub fn implements(&self, handler: Handler) -> bool {
        self.described.handlers.contains(&handler)
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Creates an instance to call handlers on. One session serves all handler calls of an
    /// engine step, so instantiation is paid once per step rather than once per handler.
    ///
    /// For a plugin with prepared sessions (Python), one made ahead of time is taken when
    /// there is one; dropping it makes the next in the background.
    pub async fn session(&self) -> Result<Session, CallError> {
        let Some(prepared) = &self.prepared else {
            return self.fresh_session().await;
        };
        let ready = prepared.ready().pop();
        let mut session = match ready {
            Some(session) => session,
            None => self.fresh_session().await?,
        };
        session.plugin_name = Arc::clone(&self.name);
        session.refill_on_drop = Some((self.clone(), Arc::clone(prepared)));
        Ok(session)
    }

    /// A session instantiated now, never a prepared one (for measuring instantiation).
    #[doc(hidden)]
    pub async fn fresh_session(&self) -> Result<Session, CallError> {
        Session::start(&self.described.compiled, &self.name, self.limits)
            .await
            .map(|session| session.with_handlers(Arc::clone(&self.described)))
    }

    /// Tops the prepared sessions up in a background task, unless one is already at it.
    fn refill(&self, prepared: &Arc<Prepared>) {
        use std::sync::atomic::Ordering;
        if prepared.refilling.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            prepared.refilling.store(false, Ordering::Release);
            return;
        };
        let plugin = self.clone();
        let prepared = Arc::clone(prepared);
        runtime.spawn(async move {
            while prepared.ready().len() < PREPARED_SESSIONS {
                let Ok(mut session) = plugin.fresh_session().await else {
                    break;
                };
                if session.warm_up().await.is_err() {
                    break;
                }
                prepared.ready().push(session);
            }
            prepared.refilling.store(false, Ordering::Release);
        });
    }

    /// The compiled component, for callers that build their own linkage (benchmarks).
    #[doc(hidden)]
    pub fn component(&self) -> &Component {
        &self.described.compiled.component
    }
}

/// A flow plugin must be able to say who may approve; a strategy must both grant and revoke.
fn check_handlers(handlers: &BTreeSet<Handler>) -> Result<(), LoadError> {
    use assent_types::HandlerKind;
    if handlers.is_empty() {
        return Err(LoadError::NoHandlers);
    }
    let has_flow_handlers = handlers
        .iter()
        .any(|handler| handler.kind() != HandlerKind::Strategy);
    if has_flow_handlers
        && !handlers.contains(&Handler::GetPermissions)
        && !handlers.contains(&Handler::GetApprovers)
    {
        return Err(LoadError::MissingGetPermissions {
            implemented: handlers
                .iter()
                .map(|handler| format!("`{handler}`"))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    match (
        handlers.contains(&Handler::Escalate),
        handlers.contains(&Handler::Deescalate),
    ) {
        (true, false) => Err(LoadError::IncompleteStrategy {
            present: "escalate",
            missing: "deescalate",
        }),
        (false, true) => Err(LoadError::IncompleteStrategy {
            present: "deescalate",
            missing: "escalate",
        }),
        _ => Ok(()),
    }
}

/// One plugin instance. Calls run one at a time; after a trap the session refuses further calls.
pub struct Session {
    store: Store<CallState>,
    instance: Instance,
    compiled: Arc<Compiled>,
    plugin_name: Arc<str>,
    handlers: Option<Arc<Described>>,
    poisoned: bool,
    /// For a prepared session handed out: make the next one when this one is done.
    refill_on_drop: Option<(Plugin, Arc<Prepared>)>,
    _slot: OwnedSemaphorePermit,
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some((plugin, prepared)) = self.refill_on_drop.take() {
            plugin.refill(&prepared);
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
    async fn start(
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
        store.epoch_deadline_callback(|context| {
            let state = context.data();
            if Instant::now() >= state.deadline_at {
                return Err(wasmtime::Error::new(DeadlineExceeded {
                    deadline: state.deadline,
                }));
            }
            // Not late yet: let other tasks run, then check again next tick.
            Ok(UpdateDeadline::Yield(1))
        });
        store.set_epoch_deadline(1);

        let instance = match compiled.pre.instantiate_async(&mut store).await {
            Ok(instance) => instance,
            Err(error) => {
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
            refill_on_drop: None,
            _slot: slot,
        })
    }

    fn with_handlers(mut self, described: Arc<Described>) -> Session {
        self.handlers = Some(described);
        self
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

    /// Runs one export under the session's limits and turns every failure into a
    /// [`CallError`] naming the handler.
    async fn run<R>(
        &mut self,
        handler: Handler,
        call: impl AsyncFnOnce(
            &Exports,
            &Instance,
            &mut Store<CallState>,
        ) -> wasmtime::Result<Result<R, wit::PluginError>>,
    ) -> Result<R, CallError> {
        self.check_callable(handler)?;
        self.reset_deadline();
        let outcome = call(&self.compiled.exports, &self.instance, &mut self.store).await;
        self.finish(&handler.to_string(), outcome)
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

    fn reset_deadline(&mut self) {
        let state = self.store.data_mut();
        state.deadline_at = Instant::now() + state.deadline;
        self.store.set_epoch_deadline(1);
    }

    fn finish<R>(
        &mut self,
        handler: &str,
        outcome: wasmtime::Result<Result<R, wit::PluginError>>,
    ) -> Result<R, CallError> {
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(plugin_error)) => {
                Err(self.error(handler, CallFailure::Plugin(plugin_error.into())))
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

    async fn describe(&mut self) -> Result<wit::Manifest, CallError> {
        if self.poisoned {
            return Err(self.error("describe", CallFailure::Poisoned));
        }
        self.reset_deadline();
        let outcome = async {
            let describe = self
                .compiled
                .exports
                .describe(&mut self.store, &self.instance)?;
            let (manifest,) = describe.call_async(&mut self.store, ()).await?;
            Ok(Ok(manifest))
        }
        .await;
        self.finish("describe", outcome)
    }

    pub async fn get_permissions(&mut self, event: &Event) -> Result<RequestPermission, CallError> {
        let event = wit::Event::from(event);
        self.run(Handler::GetPermissions, async |exports, instance, store| {
            let func = exports.get_permissions(store, instance)?;
            Ok(func.call_async(store, (event,)).await?.0)
        })
        .await
        .map(Into::into)
    }

    pub async fn get_request_notifications(
        &mut self,
        event: &Event,
    ) -> Result<Vec<Notification>, CallError> {
        let event = wit::Event::from(event);
        self.run(
            Handler::GetRequestNotifications,
            async |exports, instance, store| {
                let func = exports.get_request_notifications(store, instance)?;
                Ok(func.call_async(store, (event,)).await?.0)
            },
        )
        .await
        .map(|notifications| notifications.into_iter().map(Into::into).collect())
    }

    pub async fn get_approvers(&mut self, event: &Event) -> Result<Approvers, CallError> {
        let event = wit::Event::from(event);
        self.run(Handler::GetApprovers, async |exports, instance, store| {
            let func = exports.get_approvers(store, instance)?;
            Ok(func.call_async(store, (event,)).await?.0)
        })
        .await
        .map(Into::into)
    }

    pub async fn get_identity(&mut self, event: &Event) -> Result<Option<String>, CallError> {
        let event = wit::Event::from(event);
        self.run(Handler::GetIdentity, async |exports, instance, store| {
            let func = exports.get_identity(store, instance)?;
            Ok(func.call_async(store, (event,)).await?.0)
        })
        .await
    }

    /// Seconds until an unanswered request expires, when the plugin sets it.
    pub async fn get_timeout(&mut self, event: &Event) -> Result<Option<u64>, CallError> {
        let event = wit::Event::from(event);
        self.run(Handler::GetTimeout, async |exports, instance, store| {
            let func = exports.get_timeout(store, instance)?;
            Ok(func.call_async(store, (event,)).await?.0)
        })
        .await
    }

    /// The `on_<step>` hook: proceed, or redirect the step.
    pub async fn on(&mut self, step: Step, event: &Event) -> Result<HookOutcome, CallError> {
        let event = wit::Event::from(event);
        self.run(Handler::On(step), async |exports, instance, store| {
            let func = exports.on_step(store, instance)?;
            Ok(func.call_async(store, (step.into(), event)).await?.0)
        })
        .await
        .map(Into::into)
    }

    /// The `after_<step>` hook, for side effects.
    pub async fn after(&mut self, step: Step, event: &Event) -> Result<(), CallError> {
        let event = wit::Event::from(event);
        self.run(Handler::After(step), async |exports, instance, store| {
            let func = exports.after_step(store, instance)?;
            Ok(func.call_async(store, (step.into(), event)).await?.0)
        })
        .await
    }

    pub async fn fetch_remote_identity(
        &mut self,
        user: &User,
    ) -> Result<Option<String>, CallError> {
        let user = wit::User::from(user);
        self.run(
            Handler::FetchRemoteIdentity,
            async |exports, instance, store| {
                let func = exports.fetch_remote_identity(store, instance)?;
                Ok(func.call_async(store, (user,)).await?.0)
            },
        )
        .await
    }

    /// Grants access to `target`; returns the strategy's output, if any, as JSON.
    pub async fn escalate(
        &mut self,
        target: &Target,
        event: &Event,
    ) -> Result<Option<serde_json::Value>, CallError> {
        self.strategy(Handler::Escalate, target, event).await
    }

    /// Takes access to `target` away again.
    pub async fn deescalate(
        &mut self,
        target: &Target,
        event: &Event,
    ) -> Result<Option<serde_json::Value>, CallError> {
        self.strategy(Handler::Deescalate, target, event).await
    }

    async fn strategy(
        &mut self,
        handler: Handler,
        target: &Target,
        event: &Event,
    ) -> Result<Option<serde_json::Value>, CallError> {
        let target = wit::Target::from(target);
        let event = wit::Event::from(event);
        let output = self
            .run(handler, async |exports, instance, store| {
                let func = if handler == Handler::Escalate {
                    exports.escalate(store, instance)?
                } else {
                    exports.deescalate(store, instance)?
                };
                Ok(func.call_async(store, (target, event)).await?.0)
            })
            .await?;
        output
            .map(|json| {
                serde_json::from_str(&json)
                    .map_err(|error| self.error(&handler.to_string(), bad_json_output(error)))
            })
            .transpose()
    }

    /// Calls any handler with `event` and returns its result as JSON: the CLI's test bench.
    ///
    /// Strategy handlers act on the event's first `target` field.
    pub async fn call(
        &mut self,
        handler: Handler,
        event: &Event,
    ) -> Result<serde_json::Value, CallError> {
        use serde_json::to_value;
        let value = match handler {
            Handler::GetPermissions => to_value(self.get_permissions(event).await?),
            Handler::GetRequestNotifications => {
                to_value(self.get_request_notifications(event).await?)
            }
            Handler::GetApprovers => to_value(self.get_approvers(event).await?),
            Handler::GetIdentity => to_value(self.get_identity(event).await?),
            Handler::GetTimeout => to_value(self.get_timeout(event).await?),
            Handler::On(step) => to_value(self.on(step, event).await?),
            Handler::After(step) => to_value(self.after(step, event).await?),
            Handler::FetchRemoteIdentity => {
                to_value(self.fetch_remote_identity(&event.user).await?)
            }
            Handler::Escalate | Handler::Deescalate => {
                let Some(target) = event.target() else {
                    return Err(self.error(
                        &handler.to_string(),
                        CallFailure::BadInput(
                            "the event has no field of type `target` to act on; add one to `payload.fields`".into(),
                        ),
                    ));
                };
                to_value(self.strategy(handler, target, event).await?)
            }
        };
        value.map_err(|error| {
            self.error(
                &handler.to_string(),
                CallFailure::BadReturn(error.to_string()),
            )
        })
    }
}

fn bad_json_output(error: serde_json::Error) -> CallFailure {
    CallFailure::BadReturn(format!("its output is not valid JSON ({error})"))
}

/// Turns a wasmtime error into what the author needs to hear: the deadline, the memory
/// limit, or the trap with the last lines the plugin printed to stderr (a Rust panic
/// message or a Python traceback lands there).
fn classify(error: wasmtime::Error, state: &CallState) -> CallFailure {
    if let Some(deadline) = error.downcast_ref::<DeadlineExceeded>() {
        return CallFailure::DeadlineExceeded {
            deadline: deadline.deadline,
        };
    }
    if state.limiter.hit || error.downcast_ref::<OutOfMemory>().is_some() {
        return CallFailure::OutOfMemory {
            limit: state.limiter.limit,
        };
    }
    let mut trap = match error.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => trap.to_string(),
        None => format!("{error:#}"),
    };
    let stderr = state.stderr.text();
    let stderr = stderr.trim();
    if !stderr.is_empty() {
        const TAIL: usize = 800;
        let start = stderr
            .char_indices()
            .rev()
            .nth(TAIL)
            .map_or(0, |(index, _)| index);
        trap.push_str(&format!("; the plugin printed: {}", &stderr[start..]));
    }
    CallFailure::Trap { trap }
}
