//! Fires due timers: claims them from the store (leased, so two processes never fire the
//! same one) and hands each to the runner.

use std::sync::Arc;
use std::time::Duration;

use assent_store::now_millis;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use crate::runner::{LEASE_MS, Runner};

/// How the worker looks for due timers.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The longest the worker sleeps between looks. Timers scheduled by this process wake it
    /// at once; this bounds how late it notices timers other replicas scheduled, and timers
    /// whose lease ran out after a crash.
    pub poll: Duration,
    /// Timers fired at once. Each holds a plugin instance while it runs hooks.
    pub concurrency: usize,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            poll: Duration::from_millis(500),
            concurrency: 16,
        }
    }
}

/// Starts the worker on the current runtime; it runs until the task is aborted.
pub fn spawn(runner: Runner, config: WorkerConfig) -> JoinHandle<()> {
    tokio::spawn(async move { run(runner, config).await })
}

async fn run(runner: Runner, config: WorkerConfig) {
    let slots = Arc::new(Semaphore::new(config.concurrency.max(1)));
    loop {
        let free = u32::try_from(slots.available_permits())
            .unwrap_or(u32::MAX)
            .max(1);
        let claimed = match runner
            .store()
            .claim_due(runner.owner(), LEASE_MS, free)
            .await
        {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(%error, "could not claim due timers; retrying");
                tokio::time::sleep(config.poll).await;
                continue;
            }
        };
        let busy = !claimed.is_empty();
        for job in claimed {
            let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
                return;
            };
            let runner = runner.clone();
            tokio::spawn(async move {
                if let Err(error) = runner.fire(&job).await {
                    tracing::warn!(job = %job.id, run = %job.run_id, %error, "timer failed; it will be retried");
                    // Back off a little so a persistent failure does not spin.
                    let retry_at = now_millis() + 1_000 * job.attempts.clamp(1, 60);
                    let _ = runner
                        .store()
                        .release_job(&job.id, runner.owner(), retry_at)
                        .await;
                }
                drop(permit);
            });
        }
        if busy {
            continue;
        }
        let sleep = match runner.store().next_job_at().await {
            Ok(Some(next)) => {
                let wait = u64::try_from((next - now_millis()).max(0)).unwrap_or(0);
                Duration::from_millis(wait).min(config.poll)
            }
            _ => config.poll,
        };
        tokio::select! {
            () = tokio::time::sleep(sleep) => {}
            () = runner.wake().notified() => {}
        }
    }
}
