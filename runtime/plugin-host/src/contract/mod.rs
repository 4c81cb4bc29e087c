//! The frozen versions of the `assent:flow` contract the host speaks.
//!
//! Each released WIT version has a module here with its generated bindings and the conversions
//! between its types and the host's own (`assent-types`). A new contract version is a new
//! directory under `wit/` and a new module here; old ones are never edited, so plugins built
//! against them keep loading.

pub mod v0_1_0;

/// The WIT package every plugin's exports belong to.
pub const PACKAGE: &str = "assent:flow";

/// Contract versions this host can run, newest first.
pub const SUPPORTED_VERSIONS: &[&str] = &[v0_1_0::VERSION];
