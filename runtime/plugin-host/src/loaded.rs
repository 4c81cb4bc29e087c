//! Loaded plugins kept in memory by content hash, within a byte budget: the least recently
//! used goes first, and a plugin several callers need at once is loaded once.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use crate::lru::Lru;
use crate::plugin::Plugin;

/// Loaded plugins by content hash. Cheap to clone; clones share the plugins.
#[derive(Debug, Clone)]
pub struct LoadedPlugins {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    cached: RwLock<Lru<Plugin>>,
    /// Orders uses; larger is more recent. Bumped under the read lock, so lookups of
    /// different plugins never wait for each other.
    clock: AtomicU64,
    /// One gate per plugin being loaded: later callers wait for the first one's load rather
    /// than compiling the same plugin again (seconds for Python, on every core).
    loading: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl LoadedPlugins {
    /// Keeps plugins whose footprints add up to at most `budget` bytes.
    pub fn new(budget: u64) -> LoadedPlugins {
        LoadedPlugins {
            shared: Arc::new(Shared {
                cached: RwLock::new(Lru::new(budget)),
                clock: AtomicU64::new(0),
                loading: Mutex::default(),
            }),
        }
    }

    /// The plugin with content hash `hash`, if it is loaded.
    pub fn get(&self, hash: &str) -> Option<Plugin> {
        let cached = self
            .shared
            .cached
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        cached.get(hash, self.tick()).cloned()
    }

    /// The plugin with content hash `hash`, loaded by `load` if it is not loaded already.
    /// Callers asking for the same plugin while it loads wait for that load.
    pub async fn get_or_load<E, Load>(
        &self,
        hash: &str,
        load: impl FnOnce() -> Load,
    ) -> Result<Plugin, E>
    where
        Load: Future<Output = Result<Plugin, E>>,
    {
        if let Some(plugin) = self.get(hash) {
            return Ok(plugin);
        }
        let gate = Arc::clone(self.loading().entry(hash.to_owned()).or_default());
        let loaded = {
            let _turn = gate.lock().await;
            match self.get(hash) {
                Some(plugin) => Ok(plugin),
                None => load().await.inspect(|plugin| self.insert(plugin)),
            }
        };
        let mut loading = self.loading();
        // The map's reference and ours: nobody else waits at this gate, so it can go.
        if Arc::strong_count(&gate) == 2 {
            loading.remove(hash);
        }
        loaded
    }

    /// Keeps `plugin` (just loaded), evicting the least recently used others beyond budget.
    pub fn insert(&self, plugin: &Plugin) {
        let now = self.tick();
        let evicted = self
            .shared
            .cached
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(plugin.hash(), plugin.clone(), plugin.footprint(), now);
        for (hash, evicted) in evicted {
            tracing::debug!(
                hash,
                footprint = evicted.footprint(),
                "evicted a plugin from memory"
            );
        }
    }

    /// How many plugins are loaded, and their footprints' sum in bytes.
    pub fn usage(&self) -> (usize, u64) {
        let cached = self
            .shared
            .cached
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        (cached.len(), cached.weight())
    }

    fn tick(&self) -> u64 {
        self.shared.clock.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn loading(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<tokio::sync::Mutex<()>>>> {
        self.shared
            .loading
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
