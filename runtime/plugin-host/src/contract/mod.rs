//! The frozen versions of the `assent:flow` contract the host speaks, behind one API that names
//! no version.
//!
//! Each released WIT version has a module here with its generated bindings, its exports and the
//! conversions between its types and the host's own (`assent-types`). The rest of the host
//! never names a version: `load` finds a plugin's [`ContractVersion`], the host links every
//! version's imports with `add_to_linker`, and sessions call a plugin through `Exports` with a
//! `Call` whose answer comes back as a `Reply`, host types in and out.
//!
//! A new contract version is a new directory under `wit/` and a new module here, plus one
//! variant (and its match arms) in [`ContractVersion`] and in `Exports` (including the
//! `dispatch!` macro); nothing outside this module changes. Old versions are never edited, so
//! plugins built against them keep loading (`released_contracts_are_frozen` holds their WIT to
//! that).

mod call;
pub mod v0_1_0;
pub mod v0_2_0;
pub mod v0_3_0;

use std::fmt;
use std::str::FromStr;

use assent_types::{Handler, PluginError};
use wasmtime::Store;
use wasmtime::component::{Instance, InstancePre, Linker};

use crate::error::LoadError;
use crate::state::CallState;

pub(crate) use call::{Call, FromReply, Reply};

/// The WIT package every plugin's exports belong to.
pub const PACKAGE: &str = "assent:flow";

/// A version of the `assent:flow` contract this host runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContractVersion {
    V0_1_0,
    V0_2_0,
    V0_3_0,
}

impl ContractVersion {
    /// Every version this host runs, newest first.
    pub const SUPPORTED: &'static [ContractVersion] = &[
        ContractVersion::V0_3_0,
        ContractVersion::V0_2_0,
        ContractVersion::V0_1_0,
    ];

    /// The version as the WIT package spells it, e.g. `0.1.0`.
    pub fn as_str(self) -> &'static str {
        match self {
            ContractVersion::V0_1_0 => v0_1_0::VERSION,
            ContractVersion::V0_2_0 => v0_2_0::VERSION,
            ContractVersion::V0_3_0 => v0_3_0::VERSION,
        }
    }

    /// Finds this version's exports in a pre-linked component; names the first one missing.
    pub(crate) fn resolve_exports(self, pre: &InstancePre<CallState>) -> Result<Exports, String> {
        match self {
            ContractVersion::V0_1_0 => v0_1_0::Exports::resolve(pre).map(Exports::V0_1_0),
            ContractVersion::V0_2_0 => v0_2_0::Exports::resolve(pre).map(Exports::V0_2_0),
            ContractVersion::V0_3_0 => v0_3_0::Exports::resolve(pre).map(Exports::V0_3_0),
        }
    }

    fn add_to_linker(self, linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
        match self {
            ContractVersion::V0_1_0 => v0_1_0::add_to_linker(linker),
            ContractVersion::V0_2_0 => v0_2_0::add_to_linker(linker),
            ContractVersion::V0_3_0 => v0_3_0::add_to_linker(linker),
        }
    }
}

impl FromStr for ContractVersion {
    type Err = LoadError;

    /// Parses the version of a plugin's `meta` export; refuses versions this host does not run.
    fn from_str(version: &str) -> Result<ContractVersion, LoadError> {
        ContractVersion::SUPPORTED
            .iter()
            .find(|supported| supported.as_str() == version)
            .copied()
            .ok_or_else(|| LoadError::UnsupportedVersion {
                found: version.to_owned(),
                supported: ContractVersion::SUPPORTED
                    .iter()
                    .map(|supported| supported.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

impl fmt::Display for ContractVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Links the imports of every supported version, so one linker serves plugins of any of them.
pub(crate) fn add_to_linker(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    ContractVersion::SUPPORTED
        .iter()
        .try_for_each(|version| version.add_to_linker(linker))
}

/// What a plugin says it is (`meta.describe`).
#[derive(Debug)]
pub(crate) struct Manifest {
    /// The SDK and its version that built the plugin, e.g. `assent-sdk-rust 0.1.0`.
    pub(crate) sdk: String,
    /// The handlers the plugin implements itself.
    pub(crate) handlers: Vec<Handler>,
    /// The prompt fields its `prefetch` fills.
    pub(crate) prefetch_fields: Vec<String>,
    /// The prompt fields whose changes its `on_change` answers.
    pub(crate) on_change_fields: Vec<String>,
}

/// One plugin's exports, in the contract version it was built against.
#[derive(Debug)]
pub(crate) enum Exports {
    V0_1_0(v0_1_0::Exports),
    V0_2_0(v0_2_0::Exports),
    V0_3_0(v0_3_0::Exports),
}

/// The one place a call picks its version's bindings: evaluates `$body` with `$exports` bound
/// to the plugin's own version's [`Exports`].
macro_rules! dispatch {
    ($self:expr, $exports:ident => $body:expr) => {
        match $self {
            Exports::V0_1_0($exports) => $body,
            Exports::V0_2_0($exports) => $body,
            Exports::V0_3_0($exports) => $body,
        }
    };
}

impl Exports {
    pub(crate) fn version(&self) -> ContractVersion {
        match self {
            Exports::V0_1_0(_) => ContractVersion::V0_1_0,
            Exports::V0_2_0(_) => ContractVersion::V0_2_0,
            Exports::V0_3_0(_) => ContractVersion::V0_3_0,
        }
    }

    /// Checks every export's type against the types the host calls it with. Calls on any
    /// instance of the component rely on this having succeeded once.
    pub(crate) fn check(
        &self,
        store: &mut Store<CallState>,
        instance: &Instance,
    ) -> Result<(), String> {
        dispatch!(self, exports => exports.check(store, instance))
    }

    /// Asks the plugin what it is (`meta.describe`).
    pub(crate) async fn describe(
        &self,
        store: &mut Store<CallState>,
        instance: &Instance,
    ) -> wasmtime::Result<Manifest> {
        dispatch!(self, exports => exports.manifest(store, instance).await)
    }

    /// Calls a handler. The outer error is wasmtime's (a trap, the deadline, the memory
    /// limit); the inner one is the plugin's own.
    pub(crate) async fn call(
        &self,
        store: &mut Store<CallState>,
        instance: &Instance,
        call: Call<'_>,
    ) -> wasmtime::Result<Result<Reply, PluginError>> {
        dispatch!(self, exports => exports.call(store, instance, call).await)
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use sha2::{Digest, Sha256};

    use super::*;

    /// The SHA-256 of each released `wit/<version>/` directory (see `tree_hash`).
    const FROZEN: &[(&str, &str)] = &[
        (
            "0.1.0",
            "4fa48369071ffa00a8892dda16ddebbea9ec0f2bf5a2a6ffea491d14616ad424",
        ),
        (
            "0.2.0",
            "e81b01770326acd7e391baae13d4aec50e8f51b5bc0da270a0dbe626cbeeeba1",
        ),
        (
            "0.3.0",
            "ba68bb1aae427113a632da4a81aa85376b72a23365c98ee547829541e0af9cd7",
        ),
    ];

    fn files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read the WIT directory") {
            let path = entry.expect("read a WIT directory entry").path();
            if path.is_dir() {
                files(&path, out);
            } else {
                out.push(path);
            }
        }
    }

    /// Every file under `root`, sorted by relative path: its path (`/`-separated), a NUL, its
    /// length as eight little-endian bytes, then its contents.
    fn tree_hash(root: &Path) -> String {
        let mut paths = Vec::new();
        files(root, &mut paths);
        let mut relative: Vec<(String, PathBuf)> = paths
            .into_iter()
            .map(|path| {
                let name = path
                    .strip_prefix(root)
                    .expect("a path under the WIT directory")
                    .components()
                    .map(|part| part.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                (name, path)
            })
            .collect();
        relative.sort();
        let mut hasher = Sha256::new();
        for (name, path) in relative {
            let contents = std::fs::read(&path).expect("read a WIT file");
            hasher.update(name.as_bytes());
            hasher.update([0]);
            hasher.update((contents.len() as u64).to_le_bytes());
            hasher.update(&contents);
        }
        hex::encode(hasher.finalize())
    }

    #[test]
    fn released_contracts_are_frozen() {
        let wit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wit");
        for (version, expected) in FROZEN {
            assert_eq!(
                tree_hash(&wit.join(version)),
                *expected,
                "`wit/{version}` changed. Released contract versions are frozen: plugins built \
                 against them must keep loading. Revert the change and add a new version \
                 directory (and a module in `contract/`) instead."
            );
        }
    }

    #[test]
    fn every_supported_version_is_frozen_and_parses() {
        for version in ContractVersion::SUPPORTED {
            assert_eq!(
                version.as_str().parse::<ContractVersion>().ok(),
                Some(*version)
            );
            assert!(
                FROZEN.iter().any(|(frozen, _)| *frozen == version.as_str()),
                "add `wit/{version}`'s hash to `FROZEN`"
            );
        }
        assert!(matches!(
            "9.9.9".parse::<ContractVersion>(),
            Err(LoadError::UnsupportedVersion { .. })
        ));
    }
}
