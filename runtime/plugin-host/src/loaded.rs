//! Loaded plugins kept in memory by content hash, within a byte budget: the least recently
//! used goes first, and a plugin several callers need at once is loaded once.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

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

/// Values by key within a weight budget, least recently used evicted first.
///
/// Invariant: `weight` is the sum of the entries' weights, and at most the budget after
/// every insert unless the entry just inserted alone exceeds it (then it is the only one).
#[doc(hidden)]
#[derive(Debug)]
pub struct Lru<V> {
    entries: HashMap<String, Entry<V>>,
    weight: u64,
    budget: u64,
}

#[derive(Debug)]
struct Entry<V> {
    value: V,
    weight: u64,
    /// Stored through a shared reference: lookups hold only a read lock.
    last_used: AtomicU64,
}

impl<V> Lru<V> {
    pub fn new(budget: u64) -> Lru<V> {
        Lru {
            entries: HashMap::new(),
            weight: 0,
            budget,
        }
    }

    /// The value under `key`, marked as used at `now`.
    pub fn get(&self, key: &str, now: u64) -> Option<&V> {
        let entry = self.entries.get(key)?;
        entry.last_used.store(now, Ordering::Relaxed);
        Some(&entry.value)
    }

    /// Keeps `value` under `key`, used at `now`; returns what was evicted to make room.
    ///
    /// Each eviction scans for the least recently used entry. Inserts follow a load (a
    /// millisecond at the least); a scan of 10,000 entries takes ~0.1 ms
    /// (`cargo bench -p assent-plugin-host --bench plugin_calls -- cache`), so an ordered
    /// structure, which every lookup would have to update under a write lock, buys nothing.
    pub fn insert(&mut self, key: &str, value: V, weight: u64, now: u64) -> Vec<(String, V)> {
        let entry = Entry {
            value,
            weight,
            last_used: AtomicU64::new(now),
        };
        if let Some(replaced) = self.entries.insert(key.to_owned(), entry) {
            self.weight -= replaced.weight;
        }
        self.weight += weight;
        let mut evicted = Vec::new();
        while self.weight > self.budget {
            let oldest = self
                .entries
                .iter()
                .filter(|(other, _)| other.as_str() != key)
                .min_by_key(|(_, entry)| entry.last_used.load(Ordering::Relaxed))
                .map(|(other, _)| other.clone());
            let Some(oldest) = oldest else { break };
            if let Some(entry) = self.entries.remove(&oldest) {
                self.weight -= entry.weight;
                evicted.push((oldest, entry.value));
            }
        }
        evicted
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries' weights added up.
    pub fn weight(&self) -> u64 {
        self.weight
    }
}

#[cfg(test)]
mod tests {
    use super::Lru;

    #[test]
    fn the_least_recently_used_goes_first() {
        let mut lru = Lru::new(10);
        assert!(lru.insert("a", 'a', 4, 1).is_empty());
        assert!(lru.insert("b", 'b', 4, 2).is_empty());
        assert_eq!(lru.get("a", 3), Some(&'a'));
        let evicted = lru.insert("c", 'c', 4, 4);
        assert_eq!(evicted, vec![("b".to_owned(), 'b')]);
        assert_eq!((lru.len(), lru.weight()), (2, 8));
        assert_eq!(lru.get("b", 5), None);
    }

    #[test]
    fn a_replaced_entry_is_weighed_once() {
        let mut lru = Lru::new(10);
        lru.insert("a", 1, 6, 1);
        assert!(lru.insert("a", 2, 6, 2).is_empty());
        assert_eq!((lru.len(), lru.weight()), (1, 6));
        assert_eq!(lru.get("a", 3), Some(&2));
    }

    #[test]
    fn an_entry_heavier_than_the_budget_is_kept_alone() {
        let mut lru = Lru::new(10);
        lru.insert("a", 'a', 3, 1);
        lru.insert("b", 'b', 3, 2);
        let evicted = lru.insert("huge", 'h', 50, 3);
        assert_eq!(evicted.len(), 2);
        assert_eq!((lru.len(), lru.weight()), (1, 50));
        assert_eq!(lru.get("huge", 4), Some(&'h'));
    }
}
