//! A loaded plugin, and the sessions (one instance each) that call its handlers.
//!
//! - this module: [`Plugin`], what loading learned about a plugin, and the checks on its
//!   handlers;
//! - `session`: one instance and the calls made on it;
//! - `prepared`: sessions instantiated ahead of time for plugins slow to instantiate.

mod prepared;
mod session;

use std::collections::BTreeSet;
use std::sync::Arc;

use assent_types::Handler;
use wasmtime::component::{Component, InstancePre};

use crate::config::Limits;
use crate::contract::Exports;
use crate::error::{CallError, LoadError};
use crate::host::PluginHost;
use crate::state::CallState;
use prepared::Prepared;

pub use session::Session;

/// What the host knows of a compiled plugin, shared by every clone of a [`Plugin`].
pub(crate) struct Compiled {
    pub(crate) host: PluginHost,
    pub(crate) component: Component,
    pub(crate) pre: InstancePre<CallState>,
    pub(crate) exports: Exports,
    pub(crate) hash: String,
    pub(crate) size: usize,
}

struct Described {
    compiled: Arc<Compiled>,
    sdk: String,
    handlers: BTreeSet<Handler>,
    prefetch_fields: BTreeSet<String>,
    on_change_fields: BTreeSet<String>,
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
            prefetch_fields: BTreeSet::new(),
            on_change_fields: BTreeSet::new(),
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
            session
                .check_exports()
                .map_err(|reason| LoadError::ContractMismatch {
                    version: described.compiled.exports.version().to_string(),
                    reason,
                })?;
            session
                .describe()
                .await
                .map_err(|error| LoadError::Describe(Box::new(error)))?
        };
        described.sdk = manifest.sdk;
        described.handlers = manifest.handlers.into_iter().collect();
        described.prefetch_fields = manifest.prefetch_fields.into_iter().collect();
        described.on_change_fields = manifest.on_change_fields.into_iter().collect();
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
        self.described.compiled.exports.version().as_str()
    }

    /// The SDK that built it, e.g. `assent-sdk-rust 0.1.0`.
    pub fn sdk(&self) -> &str {
        &self.described.sdk
    }

    pub fn handlers(&self) -> &BTreeSet<Handler> {
        &self.described.handlers
    }

    /// The prompt fields the plugin's `prefetch` fills.
    pub fn prefetch_fields(&self) -> &BTreeSet<String> {
        &self.described.prefetch_fields
    }

    /// The prompt fields whose changes the plugin's `on_change` answers.
    pub fn on_change_fields(&self) -> &BTreeSet<String> {
        &self.described.on_change_fields
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
        let session = match prepared.take() {
            Some(session) => session,
            None => self.fresh_session().await?,
        };
        Ok(session.hand_out(self, prepared))
    }

    /// A session instantiated now, never a prepared one (for measuring instantiation).
    #[doc(hidden)]
    pub async fn fresh_session(&self) -> Result<Session, CallError> {
        Session::start(&self.described.compiled, &self.name, self.limits)
            .await
            .map(|session| session.with_handlers(Arc::clone(&self.described)))
    }

    /// A part of the host's allowance for sessions waiting to be handed out, if any is left.
    fn prepared_slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        Arc::clone(&self.described.compiled.host.shared.prepared_slots)
            .try_acquire_owned()
            .ok()
    }

    /// What keeping this plugin loaded costs in memory, roughly: its compiled code and data
    /// (mapped from the artifact, or compiled in memory) and, at most the component's size
    /// again, the images its memories start from. Sessions are not counted: they hold
    /// instance slots, which the host bounds on its own.
    pub fn footprint(&self) -> u64 {
        let compiled = &self.described.compiled;
        let image = compiled.component.image_range();
        let image_bytes = (image.end as usize).saturating_sub(image.start as usize);
        (image_bytes + compiled.size) as u64
    }

    /// The compiled component, for callers that build their own linkage (benchmarks).
    #[doc(hidden)]
    pub fn component(&self) -> &Component {
        &self.described.compiled.component
    }
}

/// A flow plugin must be able to say who may approve; a strategy must both grant and revoke.
/// A plugin with only `get_flows` is a flows filter, which runs no flow.
fn check_handlers(handlers: &BTreeSet<Handler>) -> Result<(), LoadError> {
    use assent_types::HandlerKind;
    if handlers.is_empty() {
        return Err(LoadError::NoHandlers);
    }
    let has_flow_handlers = handlers
        .iter()
        .any(|handler| handler.kind() != HandlerKind::Strategy && *handler != Handler::GetFlows);
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
