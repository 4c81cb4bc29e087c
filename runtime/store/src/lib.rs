//! Durable state for the approval runtime, on SQLite (a local file, the default) or
//! PostgreSQL (hosted, and several replicas on one database).
//!
//! One schema and one set of migrations serve both (`migrations/`): the queries go through
//! sqlx's `Any` driver and use only what both databases share. The one place they differ —
//! how a worker claims due timers — is chosen by [`Backend`].
//!
//! Invariants kept here:
//! - every read and write of tenant data names its organisation; no function looks a row up
//!   by id alone (save a Slack workspace by team id: the team is what names the organisation);
//! - a run's row changes only through [`Tx::update_run`], which checks the version it was
//!   read at, so two steps racing on one run cannot both commit;
//! - a timer's row is deleted in the transaction of the step it fired ([`Tx::complete_job`]),
//!   and only by the worker holding its lease, so a timer fires its step once.

mod audit;
mod batch;
mod config;
mod db;
mod error;
mod flows;
mod idempotency;
mod jobs;
mod orgs;
mod plugins;
mod runs;
mod secrets;
mod slack;
mod users;

pub use assent_types::FlowParams;
pub use audit::{AuditEvent, AuditPage, EventCount, EventKind, NewEvent};
pub use batch::{RunWrite, StepCommit, StepWrite};
pub use config::ConfigWrite;
pub use db::{Backend, Store, Tx, new_id, now_millis};
pub use error::StoreError;
pub use flows::{FlowRecord, FlowsFilter, NewFlow};
pub use idempotency::{Idempotency, StoredResponse};
pub use jobs::{Job, NewJob, Task};
pub use orgs::{DEFAULT_ENVIRONMENT, Organization, Provisioned};
pub use plugins::PluginRecord;
pub use runs::{RunBody, RunError, RunRecord};
pub use secrets::{IntegrationRecord, SealedSecret, SecretDeletion, SecretRecord, StaleSecret};
pub use slack::{SlackMessage, SlackWorkspace};
pub use users::{NewUser, Principal};
