//! The runner: the one door for every change of state.
//!
//! Handlers (HTTP, Slack, the CLI's demo) translate what came in and call the runner; the
//! runner decides, with the state machine (`assent-engine`) and the flow's plugins
//! (`assent-plugin-host`), and the store (`assent-store`) keeps what it decided. A rule kept
//! here cannot be skipped by a handler, because handlers only read from the store.
//!
//! The rooms, in the order a request meets them:
//! - `form`: what a person is offered (`on_prompt`, the flows filter) and a flow's form as
//!   they fill it in (`prefetch`, `on_change`);
//! - [`request`]: a new request — inputs checked and completed, the plugin's plan (where the
//!   request goes, how long it waits), `on_prompt` for the request form;
//! - [`step`]: every step of a run as one pipeline, *choose → authorize → hooks → apply →
//!   commit*, the same for people, timers and queued steps;
//! - [`apply`]: what a decided step does to the run and what it writes — pure, unit-tested;
//! - [`timers`]: firing durable timers and queued steps, and the worker loop; `jobs`: the
//!   rows a step schedules (pure);
//! - `strategy`: a flow's strategy at escalation and deescalation — a plugin, or one of the
//!   host's own (`assent-strategies`) through an integration;
//! - [`failure`]: a plugin or strategy that fails moves its run to `errored` and is reported,
//!   or, when its provider is down, its step is tried again;
//! - [`notify`]: notices (Slack cards, DMs, error reports) as jobs of the step's commit;
//! - [`flows`]: plugins installed and flows validated and stored — one path for the API, the
//!   demo and configuration;
//! - [`admin`]: people, tokens, environments, organisations and Slack workspaces;
//! - `secrets` and `integrations`: an environment's secrets (sealed, never shown) and the
//!   integrations that use them;
//! - `config`: configuration as code — a file's environments, flows and flows filter
//!   planned against what is stored and applied in one transaction;
//! - [`idempotency`]: retried API calls answered once; `views`: who may see a run;
//! - [`plugins`]: loaded plugins and per-tenant fairness; `directory`: the organisation's
//!   people as its plugins reach them (event counts, identities, people by email);
//!   [`Reads`]: the store, read-only, for handlers.

pub mod admin;
pub mod apply;
mod config;
mod context;
mod directory;
mod error;
mod failure;
pub mod flows;
mod form;
pub mod idempotency;
mod integrations;
mod jobs;
pub mod notify;
pub mod plugins;
mod reach;
mod reads;
pub mod request;
mod secrets;
pub mod step;
mod strategy;
pub mod timers;
mod views;

use std::sync::Arc;

use assent_outbound::Outbound;
use assent_plugin_host::PluginHost;
use assent_secrets::Keyring;
use assent_store::{Store, new_id};
use tokio::sync::Notify;

pub use admin::{Admission, SlackProfile};
pub use assent_engine::{FlowDefinition, FlowError};
pub use config::{ChangeAction, ConfigChange, ConfigKind, ConfigPlan, ConfigSpec};
pub use context::system_user;
pub use error::RuntimeError;
pub use failure::StepFailure;
pub use flows::InstalledPlugin;
pub use form::{FLOWS_FILTER, Form, FormAnswer, OfferFailure, Offered, PromptAnswer};
pub use notify::{Delivery, Notifier};
pub use plugins::{Plugins, TenantSession};
pub use reads::Reads;
pub use request::NewRequest;
pub use secrets::Resealed;
pub use step::{Action, StepResult};
pub use timers::WorkerConfig;

/// Drives runs through their flows. Cheap to clone; one per process.
#[derive(Debug, Clone)]
pub struct Runner {
    store: Store,
    plugins: Plugins,
    /// This process's name on the timer leases it takes.
    owner: Arc<str>,
    /// Woken when a step schedules a timer, so the worker can look again.
    wake: Arc<Notify>,
    /// Where notices go (Slack); without one, steps schedule none.
    notifier: Option<Arc<dyn Notifier>>,
    /// The server's keys, which secrets are sealed under.
    keys: Keyring,
    /// Requests to integrations, under the operator's outbound rules.
    outbound: Outbound,
}

impl Runner {
    pub fn new(store: Store, host: PluginHost, keys: Keyring, outbound: Outbound) -> Runner {
        Runner {
            store,
            plugins: Plugins::new(host),
            owner: format!("worker-{}", new_id()).into(),
            wake: Arc::new(Notify::new()),
            notifier: None,
            keys,
            outbound,
        }
    }

    /// Tells people about steps through `notifier`.
    pub fn with_notifier(mut self, notifier: Arc<dyn Notifier>) -> Runner {
        self.notifier = Some(notifier);
        self
    }

    /// The store for reads that carry no rule (views, lists, lookups). Every write goes
    /// through a method of the runner.
    pub fn store(&self) -> Reads<'_> {
        Reads(&self.store)
    }

    /// The plugin host's settings (upload limits), for handlers.
    pub fn host(&self) -> &PluginHost {
        self.plugins.host()
    }

    /// How many plugins are loaded in memory, and their footprints' sum in bytes.
    pub fn loaded_plugins(&self) -> (usize, u64) {
        self.plugins.loaded()
    }
}
