//! Telling people about steps. The runner schedules each notice as a job in the step's own
//! transaction and delivers it straight after the commit; a process that dies first leaves
//! the job for any replica's worker. Delivery is at least once: a notifier must make a
//! repeated notice harmless (the Slack notifier remembers what it posted).

use std::fmt::Debug;

use assent_engine::Notice;
use assent_store::{FlowRecord, RunRecord};
use futures::future::BoxFuture;

use crate::RuntimeError;

/// How a notice went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Delivered, or nothing to deliver (the organisation has no Slack, say).
    Done,
    /// A request could reach none of its destinations: the run moves on as on a timeout.
    Undeliverable,
}

/// Delivers notices somewhere people see them.
pub trait Notifier: Send + Sync + Debug + 'static {
    /// Delivers `notice` about `run` (as it is now, which may be later than the step that
    /// sent the notice). `attempts` counts deliveries of this notice, this one included.
    fn deliver<'a>(
        &'a self,
        flow: &'a FlowRecord,
        run: &'a RunRecord,
        notice: &'a Notice,
        attempts: i64,
    ) -> BoxFuture<'a, Result<Delivery, RuntimeError>>;
}
