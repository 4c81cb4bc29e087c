//! `Idempotency-Key` on the API's POSTs: a retry with the same key and body, by the same
//! caller, gets the first response again (marked `Idempotent-Replayed: true`) instead of
//! acting twice.

use std::future::Future;

use assent_types::idempotency::{IdempotencyKey, fingerprint};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::{ApiError, AppState, Tenant};
use assent_store::{Idempotency, StoredResponse};

const HEADER: &str = "idempotency-key";

fn json_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// The request's `Idempotency-Key`, if it sent one.
#[allow(clippy::result_large_err)] // The refusal is the handler's whole response.
fn key_of(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(key) = headers.get(HEADER) else {
        return Ok(None);
    };
    IdempotencyKey::parse(key.as_bytes())
        .map(Some)
        .map_err(|error| ApiError::bad_request(error.to_string()))
}

/// The route and the body as sent, as a fingerprint.
fn request_fingerprint(what: &str, body: &impl Serialize) -> String {
    fingerprint(what, &serde_json::to_vec(body).unwrap_or_default())
}

/// The answer a key already has, or why the request may not go ahead; `None` to proceed.
fn earlier_answer(begun: Idempotency, key: &IdempotencyKey) -> Option<Response> {
    match begun {
        Idempotency::Proceed => None,
        Idempotency::Replay(stored) => {
            let mut response = json_response(
                StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK),
                stored.body,
            );
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            Some(response)
        }
        Idempotency::InProgress => Some(
            ApiError::new(
                StatusCode::CONFLICT,
                "request_in_progress",
                format!("a request with `Idempotency-Key: {key}` is still being handled; retry in a moment"),
            )
            .into_response(),
        ),
        Idempotency::Mismatch => Some(
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                format!("`Idempotency-Key: {key}` was already used for a different request; use a new key"),
            )
            .into_response(),
        ),
    }
}

/// Runs `handle` once per key; `what` (the route) and `body` identify the request.
pub async fn idempotent<B, F, Fut>(
    state: &AppState,
    tenant: &Tenant,
    headers: &HeaderMap,
    what: &str,
    body: &B,
    handle: F,
) -> Response
where
    B: Serialize,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(StatusCode, String), ApiError>>,
{
    let key = match key_of(headers) {
        Ok(Some(key)) => key,
        Ok(None) => {
            return match handle().await {
                Ok((status, body)) => json_response(status, body),
                Err(error) => error.into_response(),
            };
        }
        Err(error) => return error.into_response(),
    };
    let runner = &state.runner;
    let org_id = tenant.org_id();
    let caller = &tenant.0.user;
    match runner
        .begin_idempotent(
            org_id,
            caller,
            key.as_str(),
            &request_fingerprint(what, body),
        )
        .await
    {
        Ok(begun) => {
            if let Some(answer) = earlier_answer(begun, &key) {
                return answer;
            }
        }
        Err(error) => return ApiError::from(error).into_response(),
    }
    let (status, body) = match handle().await {
        Ok(done) => done,
        Err(error) if error.status.is_server_error() => {
            // Not the caller's fault, so a retry must really run again.
            let _ = runner
                .abandon_idempotent(org_id, caller, key.as_str())
                .await;
            return error.into_response();
        }
        Err(error) => {
            let status = error.status;
            let (_, body) = error.into_response().into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            (status, String::from_utf8_lossy(&bytes).into_owned())
        }
    };
    let stored = StoredResponse {
        status: status.as_u16(),
        body,
    };
    if let Err(error) = runner
        .finish_idempotent(org_id, caller, key.as_str(), &stored)
        .await
    {
        tracing::warn!(%error, "could not keep the response for an idempotency key");
    }
    json_response(status, stored.body)
}
