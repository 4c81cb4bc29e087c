//! Connecting a workspace: an organisation's admin asks the API for an install link, Slack
//! sends the person back to `/slack/oauth/callback` with a code, and the code becomes the
//! workspace's bot token, stored sealed. The link's `state` is sealed too, so the callback
//! knows which organisation asked and that nobody forged or replayed an old link.

use assent_store::{NewEvent, SlackWorkspace, Store, now_millis};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Slack;

// An install link works for this long: enough to click through Slack's consent screen.
const INSTALL_LINK_MS: i64 = 30 * 60 * 1000;

/// `POST /api/v1/slack/install`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct InstallRequest {
    /// Email domains whose Slack users become members on first use (`example.com`).
    #[serde(default)]
    pub domains: Vec<String>,
}

/// The link an admin opens to connect a workspace.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InstallStart {
    pub url: String,
    /// Unix milliseconds after which the link no longer works.
    pub expires_at: i64,
}

#[derive(Debug, Serialize, Deserialize)]
struct InstallState {
    org_id: String,
    domains: Vec<String>,
    expires_at: i64,
}

/// Why an install could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the install link is not valid; ask for a new one")]
    BadState,
    #[error("the install link expired; ask for a new one")]
    Expired,
    #[error("slack did not grant the install: {0}")]
    Denied(String),
    #[error("`{0}` is not an email domain")]
    BadDomain(String),
    #[error(transparent)]
    Slack(#[from] assent_slack::SlackApiError),
    #[error(transparent)]
    Secrets(#[from] assent_slack::SecretError),
    #[error(transparent)]
    Store(#[from] assent_store::StoreError),
}

pub(crate) fn redirect_uri(slack: &Slack) -> String {
    format!(
        "{}/slack/oauth/callback",
        slack.config().public_url.trim_end_matches('/')
    )
}

/// The Slack consent link for `org_id`.
pub fn install_url(
    slack: &Slack,
    org_id: &str,
    request: &InstallRequest,
) -> Result<InstallStart, StartError> {
    let mut domains = Vec::with_capacity(request.domains.len());
    for domain in &request.domains {
        let domain = domain.trim().trim_start_matches('@').to_lowercase();
        if domain.is_empty() || !domain.contains('.') || domain.contains(['@', '/', ' ']) {
            return Err(StartError::BadDomain(domain));
        }
        domains.push(domain);
    }
    let expires_at = now_millis() + INSTALL_LINK_MS;
    let state = InstallState {
        org_id: org_id.to_owned(),
        domains,
        expires_at,
    };
    let sealed = slack
        .secrets()
        .seal_hex(&serde_json::to_vec(&state).unwrap_or_default())?;
    let query = serde_urlencoded::to_string([
        ("client_id", slack.config().client_id.as_str()),
        ("scope", &assent_slack::BOT_SCOPES.join(",")),
        ("redirect_uri", &redirect_uri(slack)),
        ("state", &sealed),
    ])
    .unwrap_or_default();
    Ok(InstallStart {
        url: format!("{}?{query}", slack.config().authorize_url),
        expires_at,
    })
}

/// Exchanges the callback's code for the bot token and connects the workspace.
pub(crate) async fn finish(
    slack: &Slack,
    store: &Store,
    code: &str,
    state: &str,
) -> Result<SlackWorkspace, StartError> {
    let state: InstallState = slack
        .secrets()
        .open_hex(state)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(StartError::BadState)?;
    if state.expires_at < now_millis() {
        return Err(StartError::Expired);
    }
    let config = slack.config();
    let installation = slack
        .api()
        .oauth_access(
            &config.client_id,
            &config.client_secret,
            code,
            Some(&redirect_uri(slack)),
        )
        .await?;
    let workspace = SlackWorkspace {
        team_id: installation.team_id,
        org_id: state.org_id,
        team_name: installation.team_name,
        bot_user_id: installation.bot_user_id,
        sealed_token: slack.secrets().seal(installation.bot_token.as_bytes())?,
        domains: state.domains,
        installed_at: now_millis(),
    };
    store.put_slack_workspace(&workspace).await?;
    store
        .append(
            &workspace.org_id,
            &[NewEvent {
                run_id: None,
                kind: "slack.connected".into(),
                actor: None,
                data: json!({
                    "team_id": workspace.team_id,
                    "team_name": workspace.team_name,
                    "domains": workspace.domains,
                }),
            }],
        )
        .await?;
    Ok(workspace)
}
