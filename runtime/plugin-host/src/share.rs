//! A share of the machine's cores. The calls of every session holding the same share run at
//! most so many at once; the rest wait their turn, first come first served. A host serving
//! many tenants gives each its own share, so a tenant whose plugin spins until its deadline
//! queues behind its own calls, not everyone's.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug, Clone)]
pub struct CpuShare {
    turns: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
}

/// A call's turn: while it is held, the call may run.
#[derive(Debug)]
pub(crate) struct Turn {
    _permit: OwnedSemaphorePermit,
}

impl CpuShare {
    /// A share in which `at_once` calls run at a time (at least one).
    pub fn new(at_once: usize) -> CpuShare {
        CpuShare {
            turns: Arc::new(Semaphore::new(at_once.max(1))),
            waiting: Arc::default(),
        }
    }

    /// Calls now waiting for a turn.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Waits for a turn; `None` only if the share was closed, which it never is.
    pub(crate) async fn turn(&self) -> Option<Turn> {
        let _counted = Waiting::count(&self.waiting);
        let permit = Arc::clone(&self.turns).acquire_owned().await.ok()?;
        Some(Turn { _permit: permit })
    }
}

/// Counts a waiter for as long as it waits, even if its call is dropped meanwhile.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn count(waiting: &'a AtomicUsize) -> Waiting<'a> {
        waiting.fetch_add(1, Ordering::Relaxed);
        Waiting(waiting)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn calls_beyond_the_share_wait_and_are_counted() {
        let share = CpuShare::new(1);
        let first = share.turn().await.unwrap();
        let waiter = tokio::spawn({
            let share = share.clone();
            async move { share.turn().await.is_some() }
        });
        while share.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        assert!(!waiter.is_finished());
        drop(first);
        assert!(waiter.await.unwrap());
        assert_eq!(share.waiting(), 0);
    }
}
