//! A call's own CPU time. A plugin's call runs as a future on a shared tokio worker and yields
//! every epoch tick; the time it then spends waiting for its turn, or that the operating
//! system gives to other processes, is not the plugin's doing and must not count against its
//! deadline. So a call is charged only inside its polls, by the polling thread's CPU clock
//! (user and system time of that thread alone).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

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

/// Time a call spends waiting on integrations (the network), which counts against its
/// network budget rather than its wall clock.
///
/// Invariant: `open` is set while an integration call is in flight and cleared when it
/// ends, adding its length to `done`; only the call's own future starts and ends waits.
#[derive(Debug, Default)]
pub(crate) struct NetworkClock {
    state: std::sync::Mutex<NetworkState>,
}

#[derive(Debug, Default)]
struct NetworkState {
    done: Duration,
    open: Option<Instant>,
}

impl NetworkClock {
    pub(crate) fn reset(&self) {
        *self.lock() = NetworkState::default();
    }

    /// Network time so far, a wait in flight included.
    pub(crate) fn used(&self) -> Duration {
        let state = self.lock();
        state.done + state.open.map_or(Duration::ZERO, |since| since.elapsed())
    }

    /// Runs `wait` (an integration call) on the network clock.
    pub(crate) async fn wait<F: Future>(&self, wait: F) -> F::Output {
        self.lock().open = Some(Instant::now());
        let output = wait.await;
        let mut state = self.lock();
        if let Some(since) = state.open.take() {
            state.done += since.elapsed();
        }
        output
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, NetworkState> {
        // The state is two plain values, valid whatever a panicking holder left.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Runs `future` metered, for at most `wall_clock` plus whatever it spends waiting on
/// `network`; `None` when that ran out first (the future is dropped where it stood).
pub(crate) async fn limited<F: Future>(
    meter: &CpuMeter,
    wall_clock: Duration,
    network: &NetworkClock,
    future: F,
) -> Option<F::Output> {
    let start = Instant::now();
    let mut future = std::pin::pin!(metered(meter, future));
    loop {
        let deadline = start + wall_clock + network.used();
        match tokio::time::timeout_at(deadline.into(), &mut future).await {
            Ok(output) => return Some(output),
            // Network time spent meanwhile moved the deadline: keep going until it is reached.
            Err(_) if start + wall_clock + network.used() > Instant::now() => continue,
            Err(_) => return None,
        }
    }
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
    async fn network_waits_move_the_wall_clock_deadline() {
        let (meter, network) = (CpuMeter::default(), NetworkClock::default());
        let waited = limited(&meter, Duration::from_millis(50), &network, async {
            network
                .wait(tokio::time::sleep(Duration::from_millis(150)))
                .await;
            "done"
        })
        .await;
        assert_eq!(waited, Some("done"));
        assert!(network.used() >= Duration::from_millis(150));
        network.reset();
        let slept = limited(&meter, Duration::from_millis(50), &network, async {
            tokio::time::sleep(Duration::from_millis(150)).await;
        })
        .await;
        assert_eq!(
            slept, None,
            "a wait off the network clock still ends at the wall clock"
        );
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
