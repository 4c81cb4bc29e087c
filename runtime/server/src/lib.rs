//! The Assent server: the doors in front of the runner (`assent-runner`), which decides
//! everything that changes state. Handlers here translate and answer; they only read.
//!
//! - [`api`]: `/api/v1`, the Events API, admin endpoints and the audit log;
//! - [`slack`]: `/slack/*`, the Slack app — slash command, buttons, the request modal,
//!   events and the OAuth install;
//! - [`notifier`]: delivers the runner's notices to Slack (cards, DMs, error reports);
//! - [`examples`]: loads the example flows into a demo organisation for `assent serve`.

pub mod api;
pub mod examples;
mod listen;
pub mod notifier;
pub mod slack;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub use assent_outbound::{HostList, Outbound, OutboundPolicy};
pub use assent_plugin_host::CacheBudget;
use assent_plugin_host::{HostConfig, PluginHost};
pub use assent_secrets::{Keyring, SecretValue};
use assent_store::Store;

pub use api::{AppState, openapi, router};
pub use assent_runner::{Runner, RuntimeError, WorkerConfig};
pub use slack::{Slack, SlackConfig};

/// How to run a server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// Where compiled plugins are cached between restarts.
    pub cache_dir: Option<PathBuf>,
    /// How much compiled plugin code is kept in memory and in `cache_dir`.
    pub plugin_cache: CacheBudget,
    pub operator_token: Option<String>,
    pub worker: WorkerConfig,
    /// The Slack app; `None` serves the API alone.
    pub slack: Option<SlackConfig>,
    /// The keys secrets and Slack bot tokens are sealed under (and, while rotating, the
    /// previous one: everything it sealed is sealed again at start).
    pub secrets: Keyring,
    /// What integrations may reach: plain http and private addresses only for the hosts the
    /// operator names, and the limits on time and size.
    pub outbound: OutboundPolicy,
}

/// Failure to start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] assent_store::StoreError),
    #[error(transparent)]
    Host(#[from] assent_plugin_host::HostError),
    #[error(transparent)]
    Slack(#[from] slack::SlackSetupError),
    #[error("cannot start the outbound HTTP client: {0}")]
    Outbound(#[from] assent_outbound::OutboundError),
    #[error("cannot seal secrets again under the new key: {0}")]
    Reseal(#[from] assent_runner::RuntimeError),
    #[error("cannot listen on `{addr}`: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// A running server's parts, for embedding and tests.
#[derive(Debug)]
pub struct Server {
    pub runner: Runner,
    pub addr: SocketAddr,
    serve: tokio::task::JoinHandle<()>,
    worker: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Opens the store, starts the plugin host, the timer worker and the HTTP listener.
    pub async fn start(config: ServerConfig) -> Result<Server, StartError> {
        let store = Store::connect(&config.database_url).await?;
        let host = PluginHost::new(HostConfig {
            cache_dir: config.cache_dir.clone(),
            cache: config.plugin_cache,
            ..HostConfig::default()
        })?;
        let outbound = Outbound::new(config.outbound.clone())?;
        let mut runner = Runner::new(store.clone(), host, config.secrets.clone(), outbound);
        if config.secrets.previous_key_id().is_some() {
            let resealed = runner.reseal_stale_secrets().await?;
            tracing::info!(
                secrets = resealed.secrets,
                slack_tokens = resealed.slack_tokens,
                "sealed again under the current secrets key; the previous key can be dropped once every server runs with the current one"
            );
        }
        // One Slack app (client, verifier, keys) serves both the notifier and the routes.
        let slack = config
            .slack
            .clone()
            .map(|slack| Slack::new(slack, config.secrets.clone()))
            .transpose()?;
        if let Some(slack) = &slack {
            let notifier = notifier::SlackNotifier::new(slack.clone(), store);
            runner = runner.with_notifier(Arc::new(notifier));
        }
        Server::serve(runner, config, slack).await
    }

    /// Starts serving with an existing runner; `slack` is the app its notifier (if any) uses.
    async fn serve(
        runner: Runner,
        config: ServerConfig,
        slack: Option<Slack>,
    ) -> Result<Server, StartError> {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartError::Listen {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Listen {
            addr: config.listen,
            source,
        })?;
        let state = AppState {
            runner: runner.clone(),
            operator_token: config.operator_token.map(Arc::from),
            slack: slack.clone(),
            throttle: Arc::default(),
        };
        let mut app = router(state);
        if let Some(slack) = slack {
            app = app.merge(slack::router(slack, runner.clone()));
        }
        let serve = tokio::spawn(listen::serve(listener, app));
        let worker = runner.spawn_worker(config.worker);
        Ok(Server {
            runner,
            addr,
            serve,
            worker,
        })
    }

    /// Waits until the server stops (it runs until the process ends).
    pub async fn wait(self) {
        let _ = self.serve.await;
        self.worker.abort();
    }

    /// Stops listening and firing timers at once, as a crash would.
    pub fn abort(&self) {
        self.serve.abort();
        self.worker.abort();
    }
}
