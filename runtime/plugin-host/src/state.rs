//! What each plugin instance's store holds: its WASI context (sealed), memory limiter and log.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::config::Limits;
use crate::meter::{CpuMeter, NetworkClock};
use crate::output::CapturedOutput;
use crate::services::{
    self, Directory, IntegrationError, IntegrationErrorKind, Integrations, ServiceError,
};

/// One line a plugin wrote through the `log` import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogRecord {
    pub level: LogLevel,
    pub message: String,
    pub fields: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// Refuses memory growth past the plugin's limit and remembers that it did, so the host can
/// report "out of memory" rather than a generic trap.
#[derive(Debug)]
pub(crate) struct MemoryLimiter {
    pub(crate) limit: usize,
    pub(crate) hit: bool,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.hit = true;
            return Err(wasmtime::Error::new(OutOfMemory { limit: self.limit }));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

/// The error a refused memory growth raises; found again by downcasting.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OutOfMemory {
    pub(crate) limit: usize,
}

impl std::fmt::Display for OutOfMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "memory limit of {} bytes reached", self.limit)
    }
}

impl std::error::Error for OutOfMemory {}

/// The error the epoch callback raises when a call has used up its CPU time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DeadlineExceeded {
    pub(crate) deadline: Duration,
}

impl std::fmt::Display for DeadlineExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "deadline of {} ms of CPU time exceeded",
            self.deadline.as_millis()
        )
    }
}

impl std::error::Error for DeadlineExceeded {}

/// The data of one plugin store.
pub(crate) struct CallState {
    /// Built on the first WASI call only: most handler calls never touch WASI, and building
    /// a context (RNG seeding, clocks) is a measurable share of a call.
    wasi: Option<WasiCtx>,
    table: ResourceTable,
    pub(crate) stdout: CapturedOutput,
    pub(crate) stderr: CapturedOutput,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) logs: Vec<LogRecord>,
    /// The CPU time the current call has used; shared with the future that polls it.
    pub(crate) meter: Arc<CpuMeter>,
    /// CPU time a call may use.
    pub(crate) deadline: Duration,
    /// Time a call may take in all.
    pub(crate) wall_clock: Duration,
    /// The organisation's people, for the `users` import; none outside a served flow.
    pub(crate) directory: Option<Arc<dyn Directory>>,
    /// Directory calls the current handler call has made.
    pub(crate) directory_calls: u32,
    /// The flow environment's integrations, for the `integrations` import; none outside a
    /// served flow.
    pub(crate) integrations: Option<Arc<dyn Integrations>>,
    /// Integration calls the current handler call has made.
    pub(crate) integration_calls: u32,
    /// Time the current call has waited on integrations; shared with the future that polls it.
    pub(crate) network: Arc<NetworkClock>,
    /// Network time a call may spend.
    pub(crate) network_budget: Duration,
}

impl CallState {
    pub(crate) fn new(limits: &Limits) -> CallState {
        CallState {
            wasi: None,
            table: ResourceTable::new(),
            stdout: CapturedOutput::new(limits.captured_output_bytes),
            stderr: CapturedOutput::new(limits.captured_output_bytes),
            limiter: MemoryLimiter {
                limit: limits.memory_bytes,
                hit: false,
            },
            logs: Vec::new(),
            meter: Arc::default(),
            deadline: limits.deadline,
            wall_clock: limits.wall_clock,
            directory: None,
            directory_calls: 0,
            integrations: None,
            integration_calls: 0,
            network: Arc::default(),
            network_budget: limits.network,
        }
    }

    /// The integrations for one more call of the current handler and the network time left,
    /// or why the call may not be made.
    pub(crate) fn integrations(&mut self) -> Result<NetworkCall, IntegrationError> {
        let integrations = self
            .integrations
            .clone()
            .ok_or_else(services::no_integrations)?;
        if self.integration_calls >= services::MAX_INTEGRATION_CALLS_PER_HANDLER {
            return Err(IntegrationError::new(
                IntegrationErrorKind::Budget,
                format!(
                    "a handler may make at most {} integration calls; make fewer (one call per person or group, not per item)",
                    services::MAX_INTEGRATION_CALLS_PER_HANDLER
                ),
            ));
        }
        let left = self.network_budget.saturating_sub(self.network.used());
        if left.is_zero() {
            return Err(network_budget_spent(self.network_budget));
        }
        self.integration_calls += 1;
        Ok(NetworkCall {
            integrations,
            network: Arc::clone(&self.network),
            left,
        })
    }

    /// The directory for one more call of the current handler, or why there is none.
    pub(crate) fn directory(&mut self) -> Result<Arc<dyn Directory>, ServiceError> {
        let directory = self.directory.clone().ok_or_else(services::no_directory)?;
        if self.directory_calls >= services::MAX_CALLS_PER_HANDLER {
            return Err(services::too_many_calls());
        }
        self.directory_calls += 1;
        Ok(directory)
    }

    /// Keeps a line the plugin logged (through any contract version's `log` import).
    pub(crate) fn record_log(&mut self, record: LogRecord) {
        // A plugin may log in a loop; keep a bounded number of records (a thousand is far
        // more than any handler's useful log and a few hundred kilobytes at most).
        const MAX_RECORDS: usize = 1_000;
        if self.logs.len() < MAX_RECORDS {
            self.logs.push(record);
        }
    }
}

/// What one integration call of a handler may use: the integrations, the call's network
/// clock, and the network time it has left.
pub(crate) struct NetworkCall {
    pub(crate) integrations: Arc<dyn Integrations>,
    pub(crate) network: Arc<NetworkClock>,
    pub(crate) left: Duration,
}

/// The error once a call has waited `budget` on integrations.
pub(crate) fn network_budget_spent(budget: Duration) -> IntegrationError {
    IntegrationError::new(
        IntegrationErrorKind::Budget,
        format!(
            "this handler has used its network budget of {} ms waiting on integrations; make fewer or faster calls",
            budget.as_millis()
        ),
    )
}

/// A sealed WASI context: no files, no sockets, no environment, no arguments, no stdin;
/// stdout and stderr go to bounded buffers.
fn sealed_wasi(stdout: &CapturedOutput, stderr: &CapturedOutput) -> WasiCtx {
    let mut builder = WasiCtx::builder();
    builder
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false);
    builder.build()
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        let CallState {
            wasi,
            table,
            stdout,
            stderr,
            ..
        } = self;
        let ctx = wasi.get_or_insert_with(|| sealed_wasi(stdout, stderr));
        WasiCtxView { ctx, table }
    }
}
