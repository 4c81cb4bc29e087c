//! Values by key within a weight budget, least recently used out first: what both plugin
//! caches (loaded plugins in memory, compiled artifacts on disk) keep their entries in.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

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
    /// Each eviction scans for the least recently used entry. Inserts follow a load or a
    /// compile (a millisecond at the least); a scan of 10,000 entries takes ~0.1 ms
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

    /// Drops the entry under `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<V> {
        let entry = self.entries.remove(key)?;
        self.weight -= entry.weight;
        Some(entry.value)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The weight the entries may add up to.
    pub fn budget(&self) -> u64 {
        self.budget
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
    fn a_removed_entry_no_longer_weighs() {
        let mut lru = Lru::new(10);
        lru.insert("a", 'a', 4, 1);
        assert_eq!(lru.remove("a"), Some('a'));
        assert_eq!(lru.remove("a"), None);
        assert_eq!((lru.len(), lru.weight()), (0, 0));
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
