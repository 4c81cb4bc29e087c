//! Every knob of the plugin host, with the reason for its default.

use std::path::PathBuf;
use std::time::Duration;

/// Per-call limits. The host applies them to every instance it creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// CPU time one handler call (instantiation included) may use: the plugin's own work,
    /// not the time it waits for a worker thread behind other calls. A reducer or hook is a
    /// few microseconds of real work; 100 ms leaves room for a slow one while keeping a
    /// looping plugin from holding a request, or a core, for long.
    pub deadline: Duration,
    /// Wall-clock time one call may take in all, waiting included (behind other work, or in
    /// a sleep or any other host wait the plugin starts). It only stops a plugin that waits
    /// for ever, so it is generous: 10 s is longer than any provider's API takes to answer,
    /// and shorter than a person waiting on a request would bear.
    pub wall_clock: Duration,
    /// Time one call may spend waiting on integrations (the network), on top of its wall
    /// clock. A provider answers in well under a second; 30 s lets a strategy page through a
    /// large group or wait out one slow provider, and stops a plugin from holding a request
    /// for minutes on a provider that is down.
    pub network: Duration,
    /// Linear memory one instance may grow to. 64 MiB is far beyond what a Rust plugin needs;
    /// Python plugins carry an interpreter and get [`Limits::PYTHON_MEMORY`].
    pub memory_bytes: usize,
    /// Bytes of guest stdout/stderr kept per call; the rest is dropped and counted.
    pub captured_output_bytes: usize,
}

impl Limits {
    /// Memory for plugins built with the Python SDK: CPython's heap after start-up is
    /// ~30 MiB, and user code gets the rest.
    pub const PYTHON_MEMORY: usize = 256 << 20;

    /// Deadline for the one `describe` call when a plugin is loaded. The first instance of a
    /// component maps its memory image and faults in its pages (tens of MiB for a Python
    /// plugin); on a busy two-core machine that alone was seen to pass 100 ms. Loading is
    /// off the request path, and a plugin that loops is still stopped.
    pub const LOAD_DEADLINE: Duration = Duration::from_secs(2);

    /// Least per-call deadline for Python plugins. A warm call is under a millisecond, but a
    /// cold instance (no prepared session free) faults in tens of MiB of CPython heap; with
    /// eight of them starting at once on a busy two-core machine such calls were seen to
    /// pass 100 ms. A looping Python plugin is still stopped within half a second.
    pub const PYTHON_DEADLINE: Duration = Duration::from_millis(500);

    /// The limits for a plugin built by `sdk`, as its manifest names it.
    pub fn for_sdk(self, sdk: &str) -> Limits {
        if sdk.contains("python") {
            Limits {
                memory_bytes: self.memory_bytes.max(Self::PYTHON_MEMORY),
                deadline: self.deadline.max(Self::PYTHON_DEADLINE),
                ..self
            }
        } else {
            self
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            deadline: Duration::from_millis(100),
            wall_clock: Duration::from_secs(10),
            network: Duration::from_secs(30),
            memory_bytes: 64 << 20,
            // 16 KiB of stdout/stderr: a traceback or a panic message with room to spare;
            // more is a plugin printing in a loop, cut rather than kept.
            captured_output_bytes: 16 << 10,
        }
    }
}

/// Configuration of a [`PluginHost`](crate::PluginHost).
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Default limits for every call; a plugin may be given its own.
    pub limits: Limits,
    /// Largest component accepted. A Python plugin embeds CPython and is ~20 MiB;
    /// 64 MiB leaves room for large user code and refuses obvious junk before parsing it.
    pub max_component_bytes: usize,
    /// Where precompiled artifacts are kept, keyed by content hash and engine version.
    /// `None` compiles in memory every time (tests, one-off CLI calls).
    pub cache_dir: Option<PathBuf>,
    /// How much compiled code is kept in memory and in `cache_dir`.
    pub cache: CacheBudget,
    /// Reuse pre-reserved instance slots and copy-on-write memory images instead of
    /// mapping fresh memory per call. Off only to measure what it saves.
    pub pooling: bool,
    /// Instances that may exist at once; callers beyond this wait for a slot. Each slot
    /// reserves address space only, so this can be generous; it bounds memory actually
    /// committed to `max_instances * limits.memory_bytes` in the worst case.
    pub max_instances: u32,
    /// How often the epoch ticker advances. CPU deadlines are checked at this granularity, and a
    /// running plugin yields its tokio worker this often, so a busy plugin delays other tasks
    /// on the same worker by at most one tick.
    pub epoch_tick: Duration,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            limits: Limits::default(),
            max_component_bytes: 64 << 20,
            cache_dir: None,
            cache: CacheBudget::default(),
            pooling: true,
            // 256 slots: a few hundred concurrent calls is far beyond what two cores run at
            // once, and at Rust plugins' 64 MiB each the reserved address space stays at
            // 16 GiB, well inside what the kernel hands out without committing it.
            max_instances: 256,
            // 5 ms: deadlines of 100 ms are checked to within 5%, and a busy plugin holds a
            // worker thread no longer than a typical request's own latency.
            epoch_tick: Duration::from_millis(5),
        }
    }
}

/// How much compiled plugin code is kept, least recently used going first.
///
/// A plugin used again after eviction is loaded from the next level down: from disk (a
/// millisecond for a Rust plugin, tens for a Python one), or, evicted from disk too,
/// compiled again from the stored component (a tenth of a second; seconds for Python).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheBudget {
    /// Loaded plugins kept in memory, by their [footprint](crate::Plugin::footprint).
    pub memory_bytes: u64,
    /// Compiled artifacts kept in the cache directory.
    pub disk_bytes: u64,
}

impl Default for CacheBudget {
    fn default() -> Self {
        CacheBudget {
            // 1 GiB: a Rust plugin's footprint is ~0.6 MiB and a Python plugin's ~52 MiB
            // (measured on the test plugins), so this keeps ~1,800 Rust or ~19 Python
            // plugins loaded; the rest load from disk in ~0.6 ms (Rust) or ~19 ms (Python)
            // when next used.
            memory_bytes: 1 << 30,
            // 16 GiB: a Rust plugin's artifact is ~0.45 MiB, so every plugin of 10,000
            // organisations fits three times over; of Python plugins (~34 MiB each) the ~480
            // most recently used. Beyond that, a plugin unused for longest compiles again on
            // its next use (~0.1 s for Rust, ~4 s for Python).
            disk_bytes: 16 << 30,
        }
    }
}
