//! Connecting a workspace: an organisation's admin asks the API for an install link, Slack
//! sends the person back to `/slack/oauth/callback` with a code, and the code becomes the
//! workspace's bot token, stored sealed. The link's `state` is sealed too, so the callback
//! knows which organisation asked and that nobody forged an old link; its nonce is spent on
//! use, so a link connects one workspace once.

use assent_runner::Runner;
use assent_store::{SlackWorkspace, new_id, now_millis};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::Slack;
use super::state::SlackState;

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
    /// Spent when the link is used, so it connects one workspace only. Links made before
    /// links had one carry none and cannot be used.
    #[serde(default)]
    nonce: String,
}

/// Why an install could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the install link is not valid; ask for a new one")]
    BadState,
    #[error("the install link expired; ask for a new one")]
    Expired,
    #[error("the install link was already used; ask for a new one")]
    Used,
    #[error("slack did not grant the install: {0}")]
    Denied(String),
    #[error("`{0}` is not an email domain")]
    BadDomain(String),
    #[error(transparent)]
    Slack(#[from] assent_slack::SlackApiError),
    #[error(transparent)]
    Secrets(#[from] assent_secrets::SecretError),
    #[error(transparent)]
    Runtime(#[from] assent_runner::RuntimeError),
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
        nonce: new_id(),
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
async fn finish(
    slack: &Slack,
    runner: &Runner,
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
    // Spent before Slack is asked: a link someone else saw connects nothing of theirs.
    if state.nonce.is_empty()
        || !runner
            .redeem_install_link(&state.org_id, &state.nonce, state.expires_at)
            .await?
    {
        return Err(StartError::Used);
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
        sealed_token: slack
            .secrets()
            .seal(installation.bot_token.as_bytes())?
            .bytes,
        domains: state.domains,
        installed_at: now_millis(),
    };
    runner.connect_slack_workspace(&workspace).await?;
    Ok(workspace)
}

#[derive(Debug, Deserialize)]
pub(super) struct OauthCallback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    (
        status,
        Html(format!(
            "<!doctype html><meta charset=utf-8><title>{0}</title><h1>{0}</h1><p>{1}</p>",
            escape(title),
            escape(text)
        )),
    )
        .into_response()
}

pub(super) async fn oauth_callback(
    State(state): State<SlackState>,
    Query(callback): Query<OauthCallback>,
) -> Response {
    if let Some(error) = callback.error {
        return page(
            StatusCode::BAD_REQUEST,
            "Assent was not installed",
            &format!(
                "Slack said: {error}. Ask your Assent admin for a new install link to try again."
            ),
        );
    }
    let (Some(code), Some(sealed)) = (callback.code, callback.state) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Assent was not installed",
            "This link is missing its code or state; start the install again from the install link.",
        );
    };
    match finish(&state.slack, &state.runner, &code, &sealed).await {
        Ok(workspace) => page(
            StatusCode::OK,
            "Assent is installed",
            &format!(
                "Assent is connected to the Slack workspace {}. Type {} in Slack to request access.",
                if workspace.team_name.is_empty() {
                    &workspace.team_id
                } else {
                    &workspace.team_name
                },
                state.slack.config().command
            ),
        ),
        Err(error) => page(
            StatusCode::BAD_REQUEST,
            "Assent was not installed",
            &error.to_string(),
        ),
    }
}
