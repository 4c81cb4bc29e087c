//! What can go wrong loading or calling a plugin, in words a plugin author can act on.

use std::time::Duration;

use assent_types::{Handler, PluginError};
use thiserror::Error;

/// A plugin could not be loaded. Nothing was kept; the bytes can be fixed and sent again.
#[derive(Debug, Error)]
pub enum LoadError {
    #[error("the plugin is empty; upload the `.wasm` file that `assent plugin build` wrote")]
    Empty,
    #[error(
        "the plugin is {size} bytes, more than the limit of {limit} bytes; build it in release mode or remove unused dependencies"
    )]
    TooLarge { size: usize, limit: usize },
    #[error(
        "the plugin is not WebAssembly (it does not start with `\\0asm`); upload the `.wasm` file that `assent plugin build` wrote"
    )]
    NotWasm,
    #[error(
        "the plugin is a core WebAssembly module, not a component; build it for the `wasm32-wasip2` target (`assent plugin build` does)"
    )]
    CoreModule,
    #[error("the plugin is not a valid WebAssembly component: {reason}")]
    Invalid { reason: String },
    #[error(
        "the component does not export `{expected}`, so it is not an Assent plugin; build it with the Assent SDK (its exports: {found})"
    )]
    NotAPlugin { expected: String, found: String },
    #[error(
        "the plugin targets `assent:flow@{found}`, which this host does not run; supported versions: {supported}"
    )]
    UnsupportedVersion { found: String, supported: String },
    #[error("the plugin needs `{import}`, which plugins may not import: {reason}")]
    ForbiddenImport { import: String, reason: String },
    #[error("the plugin does not match the `assent:flow@{version}` contract: {reason}")]
    ContractMismatch { version: String, reason: String },
    #[error("the plugin failed while describing itself: {0}")]
    Describe(#[source] Box<CallError>),
    #[error(
        "the plugin implements no handler; a flow needs `get_permissions` (or the legacy `get_approvers`), a strategy needs `escalate` and `deescalate`"
    )]
    NoHandlers,
    #[error(
        "the plugin implements {implemented} but not `get_permissions` (or the legacy `get_approvers`), which every flow needs"
    )]
    MissingGetPermissions { implemented: String },
    #[error(
        "the plugin implements `{present}` but not `{missing}`; a strategy must both grant and take away access"
    )]
    IncompleteStrategy {
        present: &'static str,
        missing: &'static str,
    },
    #[error("could not use the compiled-plugin cache at `{path}`: {reason}")]
    Cache { path: String, reason: String },
    #[error("the plugin host stopped while compiling the plugin")]
    Interrupted,
}

/// Why a handler call failed.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum CallFailure {
    /// The plugin returned its own error.
    #[error("the plugin returned an error: {0}")]
    Plugin(PluginError),
    #[error("the plugin did not finish within {} ms of CPU time; look for a loop that never ends, or do less work per call", deadline.as_millis())]
    DeadlineExceeded { deadline: Duration },
    #[error("the plugin did not finish within {} s; it was waiting (in a sleep, or on a call that never answered) when it was stopped", limit.as_secs_f64())]
    WallClockExceeded { limit: Duration },
    #[error("the plugin tried to use more than {limit} bytes of memory")]
    OutOfMemory { limit: usize },
    #[error("the plugin crashed: {trap}")]
    Trap { trap: String },
    #[error("the plugin does not implement `{0}`")]
    NotImplemented(Handler),
    #[error("the plugin returned a bad value: {0}")]
    BadReturn(String),
    #[error("the call's input is not usable: {0}")]
    BadInput(String),
    #[error("the plugin could not be started: {0}")]
    Instantiate(String),
    #[error("the plugin instance crashed in an earlier call and cannot be used again")]
    Poisoned,
    #[error("the plugin host is shutting down")]
    HostClosed,
}

/// A failed handler call: which plugin, which handler, and why.
#[derive(Debug, Error, Clone, PartialEq)]
#[error("plugin `{plugin}` failed in `{handler}`: {cause}")]
pub struct CallError {
    /// The plugin's name, or its content hash when it has none.
    pub plugin: String,
    /// The handler being called; `describe` when the host asked the plugin what it implements.
    pub handler: String,
    pub cause: CallFailure,
}

impl CallError {
    /// Whether the instance is unusable after this error (a trap, a deadline, out of memory).
    pub fn poisons_instance(&self) -> bool {
        matches!(
            self.cause,
            CallFailure::DeadlineExceeded { .. }
                | CallFailure::WallClockExceeded { .. }
                | CallFailure::OutOfMemory { .. }
                | CallFailure::Trap { .. }
                | CallFailure::Instantiate(_)
                | CallFailure::Poisoned
        )
    }
}

/// The host itself could not start.
#[derive(Debug, Error)]
pub enum HostError {
    #[error("could not configure the WebAssembly engine: {0}")]
    Engine(String),
    #[error("could not link the host functions plugins import: {0}")]
    Link(String),
    #[error("could not create the compiled-plugin cache directory `{path}`: {reason}")]
    CacheDir { path: String, reason: String },
}
