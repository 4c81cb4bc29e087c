//! `assent:flow@0.1.0`: its bindings, the `log` import, its exports, and the conversions to and
//! from the host's types. Within the host only [`crate::contract`] uses this module (the rest
//! speaks the version-neutral API there); the benchmarks use its bindings directly to compare
//! plain generated bindings with the host's calls.

mod calls;
mod convert;

use wasmtime::component::{HasSelf, Linker};

use crate::state::{CallState, LogRecord};

pub(crate) use calls::Exports;

wasmtime::component::bindgen!({
    path: "../../wit/0.1.0",
    world: "plugin",
    // The host uses these bindings for the contract's types and the `log` import; exports are
    // called through `calls::Exports`, which resolves and type-checks them once per plugin.
});

pub use assent::flow::types as wit;
pub use wit::Handler as WitHandler;

pub const VERSION: &str = "0.1.0";

/// Links this version's imports (`log`).
pub(crate) fn add_to_linker(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    assent::flow::log::add_to_linker::<CallState, HasSelf<CallState>>(linker, |state| state)
}

impl assent::flow::log::Host for CallState {
    fn log(
        &mut self,
        level: assent::flow::log::Level,
        message: String,
        fields: Vec<(String, String)>,
    ) {
        self.record_log(LogRecord {
            level: level.into(),
            message,
            fields,
        });
    }
}
