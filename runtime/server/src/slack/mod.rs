//! The Slack app: the slash command and its modal, the Approve / Deny / Revoke buttons, the
//! OAuth install, and delivery of every notice to Slack.
//!
//! Every inbound request is verified against the signing secret (and its age) before it is
//! read; the team id it names selects the organisation. Slack-specific parts that know
//! nothing of runs live in `assent-slack`; this module wires them to the runner.

mod delivery;
mod install;
mod people;
mod routes;

use std::sync::Arc;

use assent_slack::{SecretBox, SlackApi, Verifier};
use assent_store::{SlackWorkspace, Store};
use axum::Router;

use crate::Runner;

pub use delivery::SlackNotifier;
pub use install::{InstallRequest, InstallStart, StartError, install_url};

/// How the Slack app is set up.
#[derive(Debug, Clone)]
pub struct SlackConfig {
    /// Checks that inbound requests come from Slack (Basic Information → Signing Secret).
    pub signing_secret: String,
    /// The app's OAuth client id and secret, for installs.
    pub client_id: String,
    pub client_secret: String,
    /// The Web API base, `https://slack.com/api`; a local fake in tests.
    pub api_url: String,
    /// Where people are sent to approve an install.
    pub authorize_url: String,
    /// This server as Slack reaches it, for the OAuth redirect (`https://assent.example.com`).
    pub public_url: String,
    /// 64 hex digits sealing bot tokens at rest and the OAuth state.
    pub secrets_key: String,
    /// The slash command's name, shown in help (`/assent`).
    pub command: String,
}

impl SlackConfig {
    pub const DEFAULT_AUTHORIZE_URL: &'static str = "https://slack.com/oauth/v2/authorize";
    pub const DEFAULT_COMMAND: &'static str = "/assent";
}

/// Why the Slack app could not start.
#[derive(Debug, thiserror::Error)]
pub enum SlackSetupError {
    #[error("slack secrets key: {0}")]
    Secrets(#[from] assent_slack::SecretError),
    #[error(transparent)]
    Api(#[from] assent_slack::SlackApiError),
}

/// The Slack app's shared parts. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Slack {
    inner: Arc<SlackParts>,
}

#[derive(Debug)]
struct SlackParts {
    config: SlackConfig,
    api: SlackApi,
    verifier: Verifier,
    secrets: SecretBox,
}

impl Slack {
    pub fn new(config: SlackConfig) -> Result<Slack, SlackSetupError> {
        let secrets = SecretBox::from_hex(&config.secrets_key)?;
        let api = SlackApi::new(&config.api_url)?;
        let verifier = Verifier::new(&config.signing_secret);
        Ok(Slack {
            inner: Arc::new(SlackParts {
                config,
                api,
                verifier,
                secrets,
            }),
        })
    }

    pub fn config(&self) -> &SlackConfig {
        &self.inner.config
    }

    pub(crate) fn api(&self) -> &SlackApi {
        &self.inner.api
    }

    pub(crate) fn secrets(&self) -> &SecretBox {
        &self.inner.secrets
    }

    /// The notifier that delivers notices of `store`'s runs to Slack.
    pub fn notifier(&self, store: Store) -> SlackNotifier {
        SlackNotifier::new(self.clone(), store)
    }

    /// The workspace's bot token, unsealed.
    pub(crate) fn bot_token(&self, workspace: &SlackWorkspace) -> Option<String> {
        match self.secrets().open(&workspace.sealed_token) {
            Ok(token) => String::from_utf8(token).ok(),
            Err(error) => {
                tracing::error!(team = %workspace.team_id, %error, "cannot unseal the workspace's bot token; install the app again");
                None
            }
        }
    }
}

/// The routes Slack calls, under `/slack`.
pub fn router(slack: Slack, runner: Runner) -> Router {
    routes::router(routes::SlackState { slack, runner })
}
