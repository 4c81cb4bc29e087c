//! The plugin host: one engine, one linker, the instance-slot semaphore and the epoch ticker.

use std::sync::Arc;

use tokio::sync::Semaphore;
use wasmtime::Engine;
use wasmtime::component::Linker;

use crate::artifacts::Artifacts;
use crate::config::HostConfig;
use crate::contract;
use crate::engine::{self, EpochTicker};
use crate::error::{HostError, LoadError};
use crate::load;
use crate::plugin::{Compiled, Plugin};
use crate::state::CallState;

/// Loads and runs plugins. Cheap to clone; clones share the engine and the instance slots.
#[derive(Clone)]
pub struct PluginHost {
    pub(crate) shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<CallState>,
    pub(crate) config: HostConfig,
    /// One permit per instance slot of the pooling allocator: callers wait for a slot rather
    /// than failing when every slot is busy.
    pub(crate) instance_slots: Arc<Semaphore>,
    /// Instance slots sessions made ahead of time may hold between them (see `prepared`).
    pub(crate) prepared_slots: Arc<Semaphore>,
    /// Compiled plugins on disk, if the host has a cache directory.
    pub(crate) artifacts: Option<Artifacts>,
    _ticker: EpochTicker,
}

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHost")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl PluginHost {
    pub fn new(config: HostConfig) -> Result<PluginHost, HostError> {
        let engine = engine::build(&config)?;
        let mut linker = Linker::<CallState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|error| HostError::Link(format!("{error:#}")))?;
        contract::add_to_linker(&mut linker)
            .map_err(|error| HostError::Link(format!("{error:#}")))?;
        let artifacts = config
            .cache_dir
            .as_deref()
            .map(|dir| Artifacts::open(dir, config.cache.disk_bytes, &engine))
            .transpose()?;
        let ticker = EpochTicker::start(&engine, config.epoch_tick)?;
        let instance_slots = Arc::new(Semaphore::new(config.max_instances as usize));
        // A quarter of the slots: prepared sessions sit idle holding theirs, so with many
        // Python plugins loaded they must not take the slots calls wait for. The rest of the
        // plugins instantiate on demand (about a millisecond more on their first call).
        let prepared_slots = Arc::new(Semaphore::new(config.max_instances as usize / 4));
        Ok(PluginHost {
            shared: Arc::new(Shared {
                engine,
                linker,
                config,
                instance_slots,
                prepared_slots,
                artifacts,
                _ticker: ticker,
            }),
        })
    }

    pub fn config(&self) -> &HostConfig {
        &self.shared.config
    }

    /// Checks, compiles (or reuses the cached artifact) and describes a plugin.
    ///
    /// Compilation runs on the blocking pool: a Python plugin takes seconds to compile.
    pub async fn load(&self, bytes: impl Into<Arc<[u8]>>) -> Result<Plugin, LoadError> {
        let bytes: Arc<[u8]> = bytes.into();
        load::check_bytes(&bytes, self.shared.config.max_component_bytes)?;
        let hash = load::content_hash(&bytes);

        let shared = Arc::clone(&self.shared);
        let compile_hash = hash.clone();
        let compile_bytes = Arc::clone(&bytes);
        let component = tokio::task::spawn_blocking(move || {
            load::compile(
                &shared.engine,
                &compile_bytes,
                &compile_hash,
                shared.artifacts.as_ref(),
            )
        })
        .await
        .map_err(|_| LoadError::Interrupted)??;

        let checked = self.check(component, hash.clone(), bytes.len()).await;
        if checked.is_err()
            && let Some(artifacts) = &self.shared.artifacts
        {
            // A refused plugin leaves nothing behind: uploads that fail must not fill the disk.
            artifacts.forget(&hash);
        }
        checked
    }

    /// Bytes of compiled plugins in the cache directory (0 without one).
    pub fn cached_bytes_on_disk(&self) -> u64 {
        self.shared.artifacts.as_ref().map_or(0, Artifacts::bytes)
    }

    /// Checks a compiled component against the contract and asks it what it implements.
    async fn check(
        &self,
        component: wasmtime::component::Component,
        hash: String,
        size: usize,
    ) -> Result<Plugin, LoadError> {
        let version = load::check_contract(&self.shared.engine, &component)?;
        let instance_pre = self
            .shared
            .linker
            .instantiate_pre(&component)
            .map_err(|error| LoadError::ContractMismatch {
                version: version.to_string(),
                reason: format!("{error:#}"),
            })?;
        let exports = version.resolve_exports(&instance_pre).map_err(|reason| {
            LoadError::ContractMismatch {
                version: version.to_string(),
                reason,
            }
        })?;

        let compiled = Compiled {
            host: self.clone(),
            component,
            pre: instance_pre,
            exports,
            hash,
            size,
        };
        Plugin::describe(compiled).await
    }
}
