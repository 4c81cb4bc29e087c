//! What every Slack handler shares: the app and the runner, the signature check, and the
//! workspace an inbound payload names.

use assent_store::SlackWorkspace;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::Slack;
use crate::Runner;

pub(super) const NOT_CONNECTED: &str = "This Slack workspace is not connected to Assent yet, so there is nothing to request here. An Assent admin can connect it with `POST /api/v1/slack/install`.";

/// What every Slack handler gets.
#[derive(Debug, Clone)]
pub(super) struct SlackState {
    pub(super) slack: Slack,
    pub(super) runner: Runner,
}

/// A verified body, or the 401 that refuses it.
#[allow(clippy::result_large_err)] // The refusal is the handler's whole response.
pub(super) fn verified<'b>(
    state: &SlackState,
    headers: &HeaderMap,
    body: &'b Bytes,
) -> Result<&'b str, Response> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    state
        .slack
        .inner
        .verifier
        .verify(
            header("x-slack-signature"),
            header("x-slack-request-timestamp"),
            body,
        )
        .map_err(|error| {
            tracing::warn!(%error, "refused an unverified Slack request");
            (StatusCode::UNAUTHORIZED, error.to_string()).into_response()
        })
}

/// An answer only the person who typed the command sees.
pub(super) fn ephemeral(text: impl Into<String>) -> Response {
    axum::Json(json!({ "response_type": "ephemeral", "text": text.into() })).into_response()
}

impl SlackState {
    /// The organisation's workspace for `team_id` and its bot token.
    pub(super) async fn workspace(
        &self,
        team_id: &str,
    ) -> Result<Option<(SlackWorkspace, String)>, String> {
        let workspace = self
            .runner
            .store()
            .slack_workspace(team_id)
            .await
            .map_err(|error| format!("Assent could not look up this workspace ({error})."))?;
        Ok(workspace.and_then(|workspace| {
            let token = self.slack.bot_token(&workspace)?;
            Some((workspace, token))
        }))
    }
}
