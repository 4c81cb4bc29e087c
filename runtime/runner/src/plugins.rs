//! Loaded plugins, kept per content hash, and per-tenant fairness for running them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use assent_plugin_host::{CallError, Plugin, PluginHost, Session};
use assent_store::Store;
use tokio::sync::{OwnedSemaphorePermit, RwLock, Semaphore};

use crate::RuntimeError;

// An organisation may run this many plugin instances at once; the rest of its calls wait.
// With the host's 256 slots, no single tenant can take more than a quarter of them, so a
// tenant whose plugins all hang until their deadline cannot starve the others.
const INSTANCES_PER_TENANT: usize = 64;

/// Loads each plugin once per process and hands out sessions.
#[derive(Debug, Clone)]
pub struct Plugins {
    host: PluginHost,
    // Keyed by content hash: the same bytes compile to the same plugin whichever tenant
    // uploaded them. Lookups go through the tenant's own store rows first, so one tenant
    // can never name another's plugin.
    loaded: Arc<RwLock<HashMap<String, Plugin>>>,
    tenants: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
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
            host,
            loaded: Arc::default(),
            tenants: Arc::default(),
        }
    }

    pub fn host(&self) -> &PluginHost {
        &self.host
    }

    /// Remembers a plugin just loaded (at upload), so its first run does not load it again.
    pub async fn remember(&self, plugin: &Plugin) {
        self.loaded
            .write()
            .await
            .insert(plugin.hash().to_owned(), plugin.clone());
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
        if let Some(plugin) = self.loaded.read().await.get(hash) {
            return Ok(plugin.clone());
        }
        let bytes = store
            .plugin_bytes(org_id, hash)
            .await?
            .ok_or_else(|| RuntimeError::NotFound(format!("plugin `{hash}`")))?;
        let plugin =
            self.host
                .load(bytes)
                .await
                .map_err(|error| RuntimeError::PluginUnavailable {
                    hash: hash.to_owned(),
                    reason: error.to_string(),
                })?;
        self.remember(&plugin).await;
        Ok(plugin)
    }

    fn tenant(&self, org_id: &str) -> Arc<Semaphore> {
        let mut tenants = self.tenants.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            tenants
                .entry(org_id.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(INSTANCES_PER_TENANT))),
        )
    }

    /// A fresh instance of `plugin` for `org_id`, once the tenant has a free permit.
    pub async fn session(&self, org_id: &str, plugin: &Plugin) -> Result<TenantSession, CallError> {
        let permit = self
            .tenant(org_id)
            .acquire_owned()
            .await
            .map_err(|_| CallError {
                plugin: plugin.name().to_owned(),
                handler: "session".to_owned(),
                cause: assent_plugin_host::CallFailure::HostClosed,
            })?;
        let session = plugin.session().await?;
        Ok(TenantSession {
            session,
            _permit: permit,
        })
    }
}
