//! The one wasmtime engine a host uses, narrowed to what plugins need, and its epoch ticker.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig,
};

use crate::config::{HostConfig, Limits};
use crate::error::HostError;

/// Per-component maxima the pooling allocator reserves slots for. A Rust plugin is one or
/// two core instances with one memory; a componentize-py plugin is about ten core instances
/// (CPython, libc, the WASI adapter, the app) with several tables, so these leave headroom
/// for Python plugins.
const MAX_CORE_INSTANCES_PER_COMPONENT: u32 = 32;
const MAX_MEMORIES_PER_COMPONENT: u32 = 4;
const MAX_TABLES_PER_COMPONENT: u32 = 32;
/// CPython's function table has tens of thousands of entries.
const MAX_TABLE_ELEMENTS: usize = 100_000;
/// A core instance's VM context grows with its function count; CPython's is large.
const MAX_CORE_INSTANCE_BYTES: usize = 8 << 20;
/// Memory and table bytes reset in place (rather than handed back to the kernel) when a
/// pooled slot is reused, so the next instance does not page-fault on them again. With
/// PAGEMAP_SCAN (Linux 6.7+) only pages actually touched are reset.
const LINEAR_MEMORY_KEEP_RESIDENT: usize = 1 << 20;
const TABLE_KEEP_RESIDENT: usize = 64 << 10;
/// Pages beyond the resident part are handed back in batches: one madvise per batch of slots.
const DECOMMIT_BATCH: usize = 32;
/// Wasm stack per call. CPython recurses deeply; 1 MiB keeps its recursion limit reachable.
const MAX_WASM_STACK: usize = 1 << 20;
/// The fiber stack holds the Wasm stack plus host frames.
const ASYNC_STACK: usize = 2 << 20;

pub(crate) fn build(config: &HostConfig) -> Result<Engine, HostError> {
    let mut wasmtime = Config::new();
    wasmtime
        .wasm_component_model(true)
        .epoch_interruption(true)
        .cranelift_opt_level(OptLevel::Speed)
        .parallel_compilation(true)
        .memory_init_cow(true)
        .max_wasm_stack(MAX_WASM_STACK)
        .async_stack_size(ASYNC_STACK);

    if config.pooling {
        let instances = config.max_instances;
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(instances)
            .total_core_instances(instances.saturating_mul(MAX_CORE_INSTANCES_PER_COMPONENT / 2))
            .total_memories(instances.saturating_mul(2))
            .total_tables(instances.saturating_mul(MAX_TABLES_PER_COMPONENT / 2))
            .total_stacks(instances)
            .max_core_instances_per_component(MAX_CORE_INSTANCES_PER_COMPONENT)
            .max_memories_per_component(MAX_MEMORIES_PER_COMPONENT)
            .max_tables_per_component(MAX_TABLES_PER_COMPONENT)
            .table_elements(MAX_TABLE_ELEMENTS)
            .max_core_instance_size(MAX_CORE_INSTANCE_BYTES)
            .linear_memory_keep_resident(LINEAR_MEMORY_KEEP_RESIDENT)
            .table_keep_resident(TABLE_KEEP_RESIDENT)
            .pagemap_scan(Enabled::Auto)
            .decommit_batch_size(DECOMMIT_BATCH)
            // A slot must hold the largest memory any plugin may get; the per-call limiter
            // then enforces each plugin's own, smaller limit.
            .max_memory_size(config.limits.memory_bytes.max(Limits::PYTHON_MEMORY));
        wasmtime.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }

    Engine::new(&wasmtime).map_err(|error| HostError::Engine(format!("{error:#}")))
}

/// Advances the engine's epoch every tick so deadlines fire and async calls yield.
///
/// Invariant: the thread holds only a weak reference to the engine and stops when the
/// ticker is dropped, so dropping the host frees the engine.
#[derive(Debug)]
pub(crate) struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    pub(crate) fn start(
        engine: &Engine,
        tick: std::time::Duration,
    ) -> Result<EpochTicker, HostError> {
        let stop = Arc::new(AtomicBool::new(false));
        let weak = engine.weak();
        let stop_flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("assent-epoch".into())
            .spawn(move || {
                while !stop_flag.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .map_err(|error| {
                HostError::Engine(format!("could not start the epoch thread: {error}"))
            })?;
        Ok(EpochTicker {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
