//! Sessions instantiated and warmed ahead of time, for plugins whose instantiation is costly.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::{Plugin, Session};

// Sessions kept ready per Python plugin. Instantiating componentize-py's CPython takes
// ~0.5 ms and its first call ~0.7 ms more; a session instantiated and warmed with
// `describe` ahead of time answers its first real call in ~0.5 ms. Two cover a burst; each
// holds one instance slot while it waits, and all plugins' waiting sessions together hold at
// most the host's `prepared_slots`.
const PREPARED_SESSIONS: usize = 2;

/// Sessions instantiated and warmed in the background. Each is handed to one caller only
/// and dropped after it, so no state passes from one call to another. The next one is made
/// when a taken session is dropped — after its caller's calls, not during them: making one
/// while a call runs slowed that call down (both contend for the process's memory map).
pub(super) struct Prepared {
    ready: Mutex<Vec<Session>>,
    refilling: AtomicBool,
}

impl Prepared {
    pub(super) fn new() -> Arc<Prepared> {
        Arc::new(Prepared {
            ready: Mutex::new(Vec::new()),
            refilling: AtomicBool::new(false),
        })
    }

    fn ready(&self) -> MutexGuard<'_, Vec<Session>> {
        self.ready.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A session made ahead of time, if one is ready.
    pub(super) fn take(&self) -> Option<Session> {
        self.ready().pop()
    }

    /// Tops the sessions of `plugin` up in a background task, unless one is already at it.
    pub(super) fn refill(self: &Arc<Prepared>, plugin: &Plugin) {
        if self.refilling.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.refilling.store(false, Ordering::Release);
            return;
        };
        let plugin = plugin.clone();
        let prepared = Arc::clone(self);
        runtime.spawn(async move {
            while prepared.ready().len() < PREPARED_SESSIONS {
                // Past the host's allowance for idle sessions, this plugin's calls
                // instantiate on demand: waiting sessions must not take every slot.
                let Some(allowance) = plugin.prepared_slot() else {
                    break;
                };
                let Ok(mut session) = plugin.fresh_session().await else {
                    break;
                };
                if session.warm_up().await.is_err() {
                    break;
                }
                prepared.ready().push(session.waiting_on(allowance));
            }
            prepared.refilling.store(false, Ordering::Release);
        });
    }
}
