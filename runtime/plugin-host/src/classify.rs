//! Turns the errors wasmtime raises during a call into the [`CallFailure`] a plugin author can
//! act on.

use crate::error::CallFailure;
use crate::state::{CallState, DeadlineExceeded, OutOfMemory};

/// How much of the end of a trapped plugin's stderr goes into the error, in characters: enough
/// for a Rust panic message or the last frames of a Python traceback, short enough for a log
/// line.
const STDERR_TAIL: usize = 800;

/// Turns a wasmtime error into what the author needs to hear: the deadline, the memory
/// limit, or the trap with the last lines the plugin printed to stderr (a Rust panic
/// message or a Python traceback lands there).
pub(crate) fn classify(error: wasmtime::Error, state: &CallState) -> CallFailure {
    if let Some(deadline) = error.downcast_ref::<DeadlineExceeded>() {
        return CallFailure::DeadlineExceeded {
            deadline: deadline.deadline,
        };
    }
    if state.limiter.hit || error.downcast_ref::<OutOfMemory>().is_some() {
        return CallFailure::OutOfMemory {
            limit: state.limiter.limit,
        };
    }
    let mut trap = match error.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => trap.to_string(),
        None => format!("{error:#}"),
    };
    let stderr = state.stderr.text();
    let stderr = stderr.trim();
    if !stderr.is_empty() {
        let start = stderr
            .char_indices()
            .rev()
            .nth(STDERR_TAIL)
            .map_or(0, |(index, _)| index);
        trap.push_str(&format!("; the plugin printed: {}", &stderr[start..]));
    }
    CallFailure::Trap { trap }
}
