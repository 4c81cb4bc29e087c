//! Compiled plugins kept on disk between loads and restarts, within a byte budget: the least
//! recently used artifact goes first.
//!
//! One file per plugin, named by content hash and the engine's compatibility hash. Use is
//! recorded in the file's modification time, so the order survives a restart. Several
//! servers may share the directory: each keeps its own index and evicts what it knows of;
//! an artifact another server removed is simply compiled again.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::error::{HostError, LoadError};

const EXTENSION: &str = "cwasm";

// A temporary file older than this is left over from a crash mid-write (a compile writes its
// artifact within seconds) and is removed when the cache opens.
const ABANDONED_AFTER: Duration = Duration::from_secs(600);

/// The artifacts in one directory.
pub(crate) struct Artifacts {
    dir: PathBuf,
    /// The engine's compatibility hash, in every file name: an artifact is only ever read
    /// back by an engine that can run it, and another version's files age out unread.
    engine_key: String,
    budget: u64,
    index: Mutex<Index>,
}

/// What this process knows is on disk.
///
/// Invariant: `total` is the sum of `files`' sizes, and after every `store` it is at most
/// the budget (files are removed, oldest first, before `store` returns).
#[derive(Default)]
struct Index {
    files: HashMap<String, Entry>,
    total: u64,
    /// Orders uses; larger is more recent.
    clock: u64,
}

struct Entry {
    bytes: u64,
    last_used: u64,
}

impl Artifacts {
    /// Opens (creating) `dir`, indexes what it holds and trims it to `budget` bytes.
    pub(crate) fn open(dir: &Path, budget: u64, engine: &Engine) -> Result<Artifacts, HostError> {
        let cache_dir_error = |error: std::io::Error| HostError::CacheDir {
            path: dir.display().to_string(),
            reason: error.to_string(),
        };
        fs::create_dir_all(dir).map_err(cache_dir_error)?;
        let mut found = Vec::new();
        for entry in fs::read_dir(dir).map_err(cache_dir_error)? {
            let Ok(entry) = entry else { continue };
            let Ok(metadata) = entry.metadata() else {
                continue;
            };
            let name = entry.file_name().to_string_lossy().into_owned();
            let modified = metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            if name.ends_with(&format!(".{EXTENSION}")) {
                found.push((modified, name, metadata.len()));
            } else if name.starts_with(".tmp") && is_older_than(modified, ABANDONED_AFTER) {
                remove(&entry.path());
            }
        }
        // Oldest first, so the clock orders them as their modification times do.
        found.sort();
        let mut index = Index::default();
        for (_, name, bytes) in found {
            index.clock += 1;
            index.total += bytes;
            let last_used = index.clock;
            index.files.insert(name, Entry { bytes, last_used });
        }
        let artifacts = Artifacts {
            dir: dir.to_owned(),
            engine_key: engine_key(engine),
            budget,
            index: Mutex::new(index),
        };
        artifacts.evict_beyond_budget(&mut artifacts.index(), None);
        Ok(artifacts)
    }

    fn index(&self) -> MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn file_name(&self, hash: &str) -> String {
        format!("{hash}-{}.{EXTENSION}", self.engine_key)
    }

    /// The artifact of plugin `hash`, if one is on disk and this engine can read it.
    pub(crate) fn read(&self, engine: &Engine, hash: &str) -> Option<Component> {
        let name = self.file_name(hash);
        let path = self.dir.join(&name);
        if !path.exists() {
            return None;
        }
        // SAFETY: `deserialize_file` trusts its input to be an artifact this wasmtime wrote.
        // The cache directory belongs to the server, artifacts are written by `store` below
        // (to a temporary name, then renamed into place, so a crash never leaves a torn file
        // under the final name), and the file name carries the engine's compatibility hash,
        // so an artifact is only ever read back by an engine that can run it. Removing the
        // file later (eviction) leaves a mapping already made intact.
        #[allow(unsafe_code)]
        let read = unsafe { Component::deserialize_file(engine, &path) };
        match read {
            Ok(component) => {
                self.used(&name, &path);
                Some(component)
            }
            Err(error) => {
                tracing::warn!(path = %path.display(), error = %format!("{error:#}"), "recompiling unreadable cached plugin");
                None
            }
        }
    }

    /// Marks `name` as just used, in the index and on disk (for the next start's order).
    fn used(&self, name: &str, path: &Path) {
        {
            let mut index = self.index();
            index.clock += 1;
            let now = index.clock;
            match index.files.get_mut(name) {
                Some(entry) => entry.last_used = now,
                // Written by another server sharing the directory: ours to evict from now on.
                None => {
                    let bytes = fs::metadata(path).map_or(0, |metadata| metadata.len());
                    index.total += bytes;
                    index.files.insert(
                        name.to_owned(),
                        Entry {
                            bytes,
                            last_used: now,
                        },
                    );
                }
            }
        }
        let touched = fs::File::options()
            .write(true)
            .open(path)
            .and_then(|file| file.set_modified(SystemTime::now()));
        if let Err(error) = touched {
            tracing::debug!(path = %path.display(), %error, "could not record a cached plugin's use");
        }
    }

    /// Writes the artifact of plugin `hash`, then removes the least recently used others
    /// until the directory is within budget. An artifact larger than the whole budget is not
    /// kept: the plugin is compiled again when it is next loaded.
    pub(crate) fn store(&self, component: &Component, hash: &str) -> Result<(), LoadError> {
        let name = self.file_name(hash);
        let path = self.dir.join(&name);
        let cache_error = |reason: String| LoadError::Cache {
            path: path.display().to_string(),
            reason,
        };
        let artifact = component
            .serialize()
            .map_err(|error| cache_error(format!("{error:#}")))?;
        let bytes = artifact.len() as u64;
        if bytes > self.budget {
            tracing::warn!(
                hash,
                bytes,
                budget = self.budget,
                "compiled plugin is larger than the whole disk cache; not keeping it"
            );
            return Ok(());
        }
        // A temporary name of its own in the same directory, then an atomic rename: two loads
        // of the same plugin at once (two uploads, two servers sharing a cache) each write
        // their own file, and whichever renames last leaves an identical artifact in place.
        let mut temporary = tempfile::NamedTempFile::new_in(&self.dir)
            .map_err(|error| cache_error(error.to_string()))?;
        std::io::Write::write_all(&mut temporary, &artifact)
            .map_err(|error| cache_error(error.to_string()))?;
        temporary
            .persist(&path)
            .map_err(|error| cache_error(error.error.to_string()))?;

        let mut index = self.index();
        index.clock += 1;
        let last_used = index.clock;
        if let Some(replaced) = index.files.insert(name.clone(), Entry { bytes, last_used }) {
            index.total -= replaced.bytes;
        }
        index.total += bytes;
        self.evict_beyond_budget(&mut index, Some(&name));
        Ok(())
    }

    /// Removes the artifact of plugin `hash`, if there is one (the plugin was refused).
    pub(crate) fn forget(&self, hash: &str) {
        let name = self.file_name(hash);
        {
            let mut index = self.index();
            if let Some(entry) = index.files.remove(&name) {
                index.total -= entry.bytes;
            }
        }
        remove(&self.dir.join(name));
    }

    /// Removes least recently used artifacts (never `keep`) until the index is within budget.
    ///
    /// Each removal scans the index for its oldest entry. Eviction only follows a compile
    /// (tens of milliseconds at least), and a scan of 10,000 entries takes tens of
    /// microseconds, so an ordered structure would buy nothing measurable.
    fn evict_beyond_budget(&self, index: &mut Index, keep: Option<&str>) {
        while index.total > self.budget {
            let oldest = index
                .files
                .iter()
                .filter(|(name, _)| Some(name.as_str()) != keep)
                .min_by_key(|(_, entry)| entry.last_used)
                .map(|(name, _)| name.clone());
            let Some(oldest) = oldest else { break };
            if let Some(entry) = index.files.remove(&oldest) {
                index.total -= entry.bytes;
            }
            remove(&self.dir.join(&oldest));
            tracing::debug!(
                artifact = oldest,
                "evicted a compiled plugin from the disk cache"
            );
        }
    }

    /// Bytes of artifacts this process knows are on disk.
    pub(crate) fn bytes(&self) -> u64 {
        self.index().total
    }
}

fn is_older_than(modified: SystemTime, age: Duration) -> bool {
    SystemTime::now()
        .duration_since(modified)
        .is_ok_and(|elapsed| elapsed > age)
}

fn remove(path: &Path) {
    match fs::remove_file(path) {
        Ok(()) => {}
        // Another server sharing the directory removed it first.
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "could not remove a cached plugin");
        }
    }
}

fn engine_key(engine: &Engine) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}
