//! A call's own CPU time. A plugin's call runs as a future on a shared tokio worker and yields
//! every epoch tick; the time it then spends waiting for its turn, or that the operating
//! system gives to other processes, is not the plugin's doing and must not count against its
//! deadline. So a call is charged only inside its polls, by the polling thread's CPU clock
//! (user and system time of that thread alone).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rustix::time::{ClockId, clock_gettime};

/// CPU time charged to the current call of one instance.
///
/// Invariant: `slice_started` is the polling thread's CPU clock when the poll in progress
/// began, and zero between polls; only the thread polling the call touches it, so the
/// orderings can be relaxed (the atomics make the meter `Sync`, not ordered).
#[derive(Debug, Default)]
pub(crate) struct CpuMeter {
    charged: AtomicU64,
    slice_started: AtomicU64,
}

impl CpuMeter {
    /// Starts a new call at zero.
    pub(crate) fn reset(&self) {
        self.charged.store(0, Ordering::Relaxed);
        self.slice_started.store(0, Ordering::Relaxed);
    }

    /// CPU time the call has used so far, the poll in progress included.
    pub(crate) fn used(&self) -> Duration {
        let mut nanos = self.charged.load(Ordering::Relaxed);
        let started = self.slice_started.load(Ordering::Relaxed);
        if started != 0 {
            nanos += thread_cpu_nanos().saturating_sub(started);
        }
        Duration::from_nanos(nanos)
    }

    fn begin_slice(&self) {
        // `max(1)`: zero means "not in a poll"; a thread's clock is past zero by the time it
        // polls anything, and one nanosecond of error would not matter if it were not.
        self.slice_started
            .store(thread_cpu_nanos().max(1), Ordering::Relaxed);
    }

    fn end_slice(&self) {
        let started = self.slice_started.swap(0, Ordering::Relaxed);
        if started != 0 {
            let spent = thread_cpu_nanos().saturating_sub(started);
            self.charged.fetch_add(spent, Ordering::Relaxed);
        }
    }
}

/// Runs `future`, charging `meter` for the CPU time of each of its polls.
pub(crate) async fn metered<F: Future>(meter: &CpuMeter, future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(|context| {
        meter.begin_slice();
        let poll = future.as_mut().poll(context);
        meter.end_slice();
        poll
    })
    .await
}

/// Runs `future` metered, for at most `wall_clock`; `None` when that ran out first (the future
/// is dropped where it stood).
pub(crate) async fn limited<F: Future>(
    meter: &CpuMeter,
    wall_clock: Duration,
    future: F,
) -> Option<F::Output> {
    tokio::time::timeout(wall_clock, metered(meter, future))
        .await
        .ok()
}

fn thread_cpu_nanos() -> u64 {
    let now = clock_gettime(ClockId::ThreadCPUTime);
    let seconds = u64::try_from(now.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(now.tv_nsec).unwrap_or(0);
    seconds.saturating_mul(1_000_000_000).saturating_add(nanos)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn spin(duration: Duration) {
        let start = std::time::Instant::now();
        while start.elapsed() < duration {
            std::hint::black_box(0u64);
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn waiting_between_polls_is_not_charged() {
        let meter = CpuMeter::default();
        metered(&meter, async {
            spin(Duration::from_millis(20));
            tokio::task::yield_now().await;
            spin(Duration::from_millis(20));
        })
        .await;
        let busy = meter.used();
        assert!(busy >= Duration::from_millis(30), "{busy:?}");

        meter.reset();
        metered(&meter, tokio::time::sleep(Duration::from_millis(200))).await;
        let idle = meter.used();
        assert!(idle < Duration::from_millis(20), "{idle:?}");
    }
}
