//! The Slack app's doors, one module per interaction: the slash command and its modal
//! (`command`, `submission`), the Approve / Deny / Revoke buttons (`actions`), workspace
//! events (`events`) and the OAuth install (`oauth`); `people` finds who a Slack user is.
//! Notices go out through [`crate::notifier`].
//!
//! Every inbound request is verified against the signing secret (and its age) before it is
//! read; the team id it names selects the organisation. Handlers translate and answer;
//! whatever changes state is the runner's to decide. Slack-specific parts that know nothing
//! of runs live in `assent-slack`.
//!
//! Slack wants an answer within three seconds and shows people nothing useful on an HTTP
//! error, so once a request is verified every problem is answered in words the person can
//! act on (an ephemeral reply, errors in the modal), never with a failure status.

mod actions;
mod command;
mod events;
mod form;
mod oauth;
mod people;
mod state;
mod submission;

use std::sync::Arc;

use assent_secrets::Keyring;
use assent_slack::message::ErrorReport;
use assent_slack::{SlackApi, Verifier};
use assent_store::{FlowRecord, SlackWorkspace};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::Runner;
use state::{SlackState, verified};

pub use oauth::{InstallRequest, InstallStart, StartError, install_url};

// Slack's payloads are a few kilobytes; a modal with many fields stays well under this.
const SLACK_BODY_LIMIT: usize = 256 * 1024;

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
    /// The server's keys: bot tokens at rest and the OAuth state are sealed with them.
    secrets: Keyring,
}

impl Slack {
    pub fn new(config: SlackConfig, secrets: Keyring) -> Result<Slack, SlackSetupError> {
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

    pub(crate) fn secrets(&self) -> &Keyring {
        &self.inner.secrets
    }

    /// Posts `report` to the environment's error-logger `channel`, if it has one. A channel
    /// Slack refuses is logged, not retried: the report is a courtesy to the flow's author.
    pub(crate) async fn report_error(
        &self,
        token: &str,
        flow: &FlowRecord,
        channel: Option<String>,
        report: &ErrorReport,
    ) {
        let Some(channel) = channel else {
            return;
        };
        if let Err(error) = self
            .api()
            .post_message(token, &channel, report.content())
            .await
        {
            tracing::warn!(flow = %flow.name, %channel, %error, "the error logger could not be told");
        }
    }

    /// The workspace's bot token, unsealed.
    pub(crate) fn bot_token(&self, workspace: &SlackWorkspace) -> Option<String> {
        match self.secrets().open(&workspace.sealed_token) {
            Ok(token) => String::from_utf8(token.plaintext).ok(),
            Err(error) => {
                tracing::error!(team = %workspace.team_id, %error, "cannot unseal the workspace's bot token; install the app again");
                None
            }
        }
    }
}

/// The routes Slack calls, under `/slack`.
pub fn router(slack: Slack, runner: Runner) -> Router {
    Router::new()
        .route("/slack/commands", post(command::command))
        .route("/slack/interactions", post(interaction))
        .route("/slack/events", post(events::events))
        .route("/slack/oauth/callback", get(oauth::oauth_callback))
        .layer(DefaultBodyLimit::max(SLACK_BODY_LIMIT))
        .with_state(SlackState { slack, runner })
}

/// Buttons and the request modal's submissions come to one URL.
async fn interaction(State(state): State<SlackState>, headers: HeaderMap, body: Bytes) -> Response {
    use assent_slack::slack_morphism::prelude::SlackInteractionEvent;
    let text = match verified(&state, &headers, &body) {
        Ok(text) => text,
        Err(refused) => return refused,
    };
    let interaction = match assent_slack::inbound::interaction(text) {
        Ok(interaction) => interaction,
        Err(error) => return (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    };
    match interaction.event {
        SlackInteractionEvent::BlockActions(event) => {
            actions::block_actions(&state, event, interaction.view_state).await
        }
        SlackInteractionEvent::ViewSubmission(event) => {
            submission::view_submission(&state, event).await
        }
        _ => StatusCode::OK.into_response(),
    }
}
