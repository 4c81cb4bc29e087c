//! Runs Assent plugins: sandboxed WebAssembly components that implement a flow's reducers,
//! hooks and access strategy against the `assent:flow` WIT contract.
//!
//! The phases, each in its own module:
//! - [`load`]: check the bytes, compile them once (or reuse the artifact cached on disk by
//!   content hash and engine version), check the component against the contract, and ask it
//!   (`meta.describe`) which handlers it implements;
//! - [`plugin`]: a [`Session`] instantiates the plugin from its pre-linked `InstancePre` in
//!   a pooled slot and calls handlers under the per-call [`Limits`];
//! - [`contract`]: each frozen WIT version's bindings and its conversions to `assent-types`.
//!
//! Plugins get a sealed WASI (no files, sockets, environment or stdin; stdout and stderr
//! captured) and the `log` import. Every failure is a [`CallError`] naming the plugin, the
//! handler and the cause; nothing a plugin does can panic the host.

mod config;
pub mod contract;
mod engine;
mod error;
mod exports;
mod host;
pub mod load;
mod output;
pub mod plugin;
mod state;

pub use config::{HostConfig, Limits};
pub use error::{CallError, CallFailure, HostError, LoadError};
pub use host::PluginHost;
pub use load::content_hash;
pub use plugin::{Plugin, Session};
pub use state::{LogLevel, LogRecord};
