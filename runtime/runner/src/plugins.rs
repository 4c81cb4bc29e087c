//! Loaded plugins, kept per content hash, and per-tenant fairness for running them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use assent_plugin_host::{CallError, CpuShare, LoadedPlugins, Plugin, PluginHost, Session};
use assent_store::Store;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::RuntimeError;

// An organisation may hold this many plugin instances at once; the rest of its calls wait.
// With the host's 256 slots, no single tenant can take more than a quarter of them, so a
// tenant whose plugins all hang until their deadline cannot starve the others of memory.
const INSTANCES_PER_TENANT: usize = 64;

// New requests of an organisation with this many of its requests already in progress are
// turned away (429) until some finish. Counted from arrival, not from when a call starts to
// wait: a burst arrives faster than any call queues. A healthy plugin answers in
// milliseconds, so even 32 clients at full speed keep fewer in progress; a plugin that spins
// until its 100 ms deadline makes 48 queued requests nearly five seconds of the tenant's own
// waiting, and a longer queue only holds instances and connections.
const REQUESTS_IN_PROGRESS_PER_TENANT: usize = 48;

// How long a turned-away client is told to wait: about the time a few queued calls take.
const BUSY_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// How many of an organisation's plugin calls run at once: half the cores (at least one), so a
/// tenant whose every call spins until its deadline keeps at most half the machine busy and
/// the other half serves everyone else. Its other calls queue behind its own.
fn calls_at_once_per_tenant() -> usize {
    std::thread::available_parallelism().map_or(1, |cores| (cores.get() / 2).max(1))
}

/// Loads each plugin once per process and hands out sessions.
#[derive(Debug, Clone)]
pub struct Plugins {
    host: PluginHost,
    // Keyed by content hash: the same bytes compile to the same plugin whichever tenant
    // uploaded them. Lookups go through the tenant's own store rows first, so one tenant
    // can never name another's plugin.
    loaded: LoadedPlugins,
    tenants: Arc<Mutex<HashMap<String, Tenant>>>,
    calls_at_once: usize,
}

/// What one organisation's plugin calls share.
#[derive(Debug, Clone)]
struct Tenant {
    instances: Arc<Semaphore>,
    cores: CpuShare,
    requests_in_progress: Arc<AtomicUsize>,
}

/// A new request let in: counted among its organisation's requests in progress until dropped.
#[derive(Debug)]
pub struct Admission {
    in_progress: Arc<AtomicUsize>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.in_progress.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A session that also holds its tenant's permit until it is dropped.
#[derive(Debug)]
pub struct TenantSession {
    pub session: Session,
    _permit: OwnedSemaphorePermit,
}

impl Plugins {
    pub fn new(host: PluginHost) -> Plugins {
        Plugins {
            loaded: LoadedPlugins::new(host.config().cache.memory_bytes),
            host,
            tenants: Arc::default(),
            calls_at_once: calls_at_once_per_tenant(),
        }
    }

    pub fn host(&self) -> &PluginHost {
        &self.host
    }

    /// Remembers a plugin just loaded (at upload), so its first run does not load it again.
    pub fn remember(&self, plugin: &Plugin) {
        self.loaded.insert(plugin);
    }

    /// How many plugins are loaded in memory, and their footprints' sum in bytes.
    pub fn loaded(&self) -> (usize, u64) {
        self.loaded.usage()
    }

    /// Plugin `hash` of a flow of `org_id`, loading it from the store on first use.
    ///
    /// Only for hashes read from the organisation's own flow rows: a flow can only name its
    /// organisation's plugins (checked at `PUT /flows`, and a foreign key on `(org_id,
    /// plugin_hash)`), so a cached plugin needs no second ownership check.
    pub async fn get(
        &self,
        store: &Store,
        org_id: &str,
        hash: &str,
    ) -> Result<Plugin, RuntimeError> {
        self.loaded
            .get_or_load(hash, || async {
                let bytes = store
                    .plugin_bytes(org_id, hash)
                    .await?
                    .ok_or_else(|| RuntimeError::NotFound(format!("plugin `{hash}`")))?;
                self.host
                    .load(bytes)
                    .await
                    .map_err(|error| RuntimeError::PluginUnavailable {
                        hash: hash.to_owned(),
                        reason: error.to_string(),
                    })
            })
            .await
    }

    fn tenant(&self, org_id: &str) -> Tenant {
        let mut tenants = self.tenants.lock().unwrap_or_else(PoisonError::into_inner);
        tenants
            .entry(org_id.to_owned())
            .or_insert_with(|| Tenant {
                instances: Arc::new(Semaphore::new(INSTANCES_PER_TENANT)),
                cores: CpuShare::new(self.calls_at_once),
                requests_in_progress: Arc::default(),
            })
            .clone()
    }

    /// Lets a new request of `org_id` in, unless too many of its requests are in progress.
    pub fn admit(&self, org_id: &str) -> Result<Admission, RuntimeError> {
        let in_progress = self.tenant(org_id).requests_in_progress;
        if in_progress.fetch_add(1, Ordering::Relaxed) >= REQUESTS_IN_PROGRESS_PER_TENANT {
            in_progress.fetch_sub(1, Ordering::Relaxed);
            return Err(RuntimeError::TenantBusy {
                retry_after: BUSY_RETRY_AFTER,
            });
        }
        Ok(Admission { in_progress })
    }

    /// A fresh instance of `plugin` for `org_id`, once the tenant has a free permit; its calls
    /// take turns in the tenant's share of the cores.
    pub async fn session(&self, org_id: &str, plugin: &Plugin) -> Result<TenantSession, CallError> {
        let tenant = self.tenant(org_id);
        let permit = tenant
            .instances
            .acquire_owned()
            .await
            .map_err(|_| CallError {
                plugin: plugin.name().to_owned(),
                handler: "session".to_owned(),
                cause: assent_plugin_host::CallFailure::HostClosed,
            })?;
        let session = plugin.session().await?.with_share(tenant.cores);
        Ok(TenantSession {
            session,
            _permit: permit,
        })
    }
}
