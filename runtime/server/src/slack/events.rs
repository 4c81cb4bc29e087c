//! Workspace events: Slack's URL check, and the app being uninstalled or its token revoked,
//! which disconnects the workspace.

use assent_slack::inbound::{self, EventEnvelope};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::state::{SlackState, verified};

pub(super) async fn events(
    State(state): State<SlackState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let text = match verified(&state, &headers, &body) {
        Ok(text) => text,
        Err(refused) => return refused,
    };
    match inbound::event(text) {
        Ok(EventEnvelope::UrlVerification { challenge }) => {
            axum::Json(json!({ "challenge": challenge })).into_response()
        }
        // Slack retries a callback it got no 200 for, so every event is acknowledged; the
        // only ones Assent acts on say the workspace is gone.
        Ok(EventEnvelope::EventCallback { team_id, event }) => {
            if let Some(why) = inbound::disconnects(&event)
                && let Err(error) = state.runner.disconnect_slack_workspace(&team_id, why).await
            {
                tracing::warn!(%team_id, %error, "could not disconnect a workspace");
                // Not acknowledged, so Slack sends it again.
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
            StatusCode::OK.into_response()
        }
        Ok(EventEnvelope::Other) => StatusCode::OK.into_response(),
        Err(error) => (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    }
}
