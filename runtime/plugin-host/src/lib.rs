//! Runs Assent plugins: sandboxed WebAssembly components that implement a flow's reducers,
//! hooks and access strategy against the `assent:flow` WIT contract.
//!
//! The phases, each in its own module:
//! - [`load`]: check the bytes, compile them once (or reuse the artifact cached on disk by
//!   content hash and engine version), check the component against the contract, find its
//!   contract version, and ask it (`meta.describe`) which handlers it implements;
//! - [`plugin`]: a [`Session`] instantiates the plugin from its pre-linked `InstancePre` in
//!   a pooled slot (or takes one prepared ahead of time) and calls handlers under the per-call
//!   [`Limits`];
//! - [`contract`]: each frozen WIT version's bindings, exports and conversions to
//!   `assent-types`, behind one version-neutral API: a `Call` in, a `Reply` out. It is the only
//!   module that names a contract version.
//!
//! Around them: `host` holds the engine, the linker and the instance slots; `artifacts` keeps
//! compiled plugins on disk and [`LoadedPlugins`] keeps loaded ones in memory, each within a
//! byte budget ([`CacheBudget`]) in an `lru`, least recently used first out; `exports` resolves
//! and type-checks a plugin's exports once; `state` is what each instance's store holds (sealed
//! WASI, memory limiter, log); `meter` charges a call the CPU time of its own polls, which its
//! deadline counts; `share` makes calls holding one [`CpuShare`] take turns; `classify` turns wasmtime's errors into a [`CallFailure`]; `caps`
//! bounds what a plugin hands back (text cut to size, saying so; oversized answers refused).
//!
//! Plugins get a sealed WASI (no files, sockets, environment or stdin; stdout and stderr
//! captured), the `log` import and, from contract 0.2.0, the `users` import, which reaches the
//! organisation's people through the [`Directory`] the session was given (`services`). Every failure is a [`CallError`] naming the plugin, the
//! handler and the cause; nothing a plugin does can panic the host.

mod artifacts;
mod caps;
mod classify;
mod config;
pub mod contract;
mod engine;
mod error;
mod exports;
mod host;
pub mod load;
mod loaded;
#[doc(hidden)]
pub mod lru;
mod meter;
mod output;
pub mod plugin;
pub mod services;
mod share;
mod state;

pub use config::{CacheBudget, HostConfig, Limits};
pub use error::{CallError, CallFailure, HostError, LoadError};
pub use host::PluginHost;
pub use load::content_hash;
pub use loaded::LoadedPlugins;
pub use plugin::{Plugin, Session};
pub use services::{
    Directory, EventCountQuery, HttpRequest, HttpResponse, IntegrationError, IntegrationErrorKind,
    IntegrationFuture, Integrations, ServiceError, ServiceFuture,
};
pub use share::CpuShare;
pub use state::{LogLevel, LogRecord};
