//! Compiled plugins kept on disk between loads and restarts, within a byte budget: the least
//! recently used artifact goes first.
//!
//! One file per plugin, named by content hash and the engine's compatibility hash. Use is
//! recorded in the file's modification time, so the order survives a restart. Several
//! servers may share the directory: each keeps its own index and evicts what it knows of;
//! an artifact another server removed is simply compiled again.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::error::{HostError, LoadError};
use crate::lru::Lru;

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
    index: Mutex<Index>,
}

/// What this process knows is on disk: file names weighed by their size, within the budget
/// after every `store` and at start (files are removed, oldest first, before either returns).
struct Index {
    files: Lru<()>,
    /// Orders uses; larger is more recent.
    clock: u64,
}

impl Index {
    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }
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
        // Oldest first, so the clock orders them as their modification times do, and a
        // directory over budget loses its oldest files.
        found.sort();
        let artifacts = Artifacts {
            dir: dir.to_owned(),
            engine_key: engine_key(engine),
            index: Mutex::new(Index {
                files: Lru::new(budget),
                clock: 0,
            }),
        };
        {
            let mut index = artifacts.index();
            for (_, name, bytes) in found {
                let now = index.tick();
                let evicted = index.files.insert(&name, (), bytes, now);
                artifacts.remove_evicted(evicted);
            }
        }
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
            let now = index.tick();
            if index.files.get(name, now).is_none() {
                // Written by another server sharing the directory: ours to evict from now on.
                let bytes = fs::metadata(path).map_or(0, |metadata| metadata.len());
                let evicted = index.files.insert(name, (), bytes, now);
                self.remove_evicted(evicted);
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
        let budget = self.index().files.budget();
        if bytes > budget {
            tracing::warn!(
                hash,
                bytes,
                budget,
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
        let now = index.tick();
        let evicted = index.files.insert(&name, (), bytes, now);
        self.remove_evicted(evicted);
        Ok(())
    }

    /// Removes the artifact of plugin `hash`, if there is one (the plugin was refused).
    pub(crate) fn forget(&self, hash: &str) {
        let name = self.file_name(hash);
        self.index().files.remove(&name);
        remove(&self.dir.join(name));
    }

    /// Removes the files the index let go to stay within budget.
    fn remove_evicted(&self, evicted: Vec<(String, ())>) {
        for (name, ()) in evicted {
            remove(&self.dir.join(&name));
            tracing::debug!(
                artifact = name,
                "evicted a compiled plugin from the disk cache"
            );
        }
    }

    /// Bytes of artifacts this process knows are on disk.
    pub(crate) fn bytes(&self) -> u64 {
        self.index().files.weight()
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
