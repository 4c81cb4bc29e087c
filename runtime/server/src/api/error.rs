//! API errors: JSON with a stable `code`, a message saying what was wrong and what to do,
//! and for invalid inputs the problem with each field. 4xx for the caller's mistakes; 5xx only
//! when the server itself failed.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::RuntimeError;
use assent_engine::IntegrationError;
use assent_runner::StepFailure;
use assent_store::StoreError;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    /// Stable, for programs: `not_found`, `invalid_inputs`, `conflict`, …
    pub code: &'static str,
    /// For people.
    pub message: String,
    pub details: Option<Value>,
    /// Sent as `Retry-After` (seconds), with `429`.
    pub retry_after: Option<std::time::Duration>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    /// Too many failed attempts from this address or with this token; `wait` says how long.
    pub fn too_many_attempts(wait: std::time::Duration) -> ApiError {
        // Whole seconds, rounded up: `Retry-After: 0` would invite an immediate retry.
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        ApiError {
            retry_after: Some(std::time::Duration::from_secs(seconds)),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                format!("too many invalid tokens from here; try again in {seconds} s"),
            )
        }
    }

    pub fn not_found(what: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} does not exist"),
        )
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn admin_only() -> ApiError {
        ApiError::forbidden("only an admin of the organisation may do this; use an admin's token")
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorContent<'a>,
}

#[derive(Serialize)]
struct ErrorContent<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a Value>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorContent {
                code: self.code,
                message: &self.message,
                details: self.details.as_ref(),
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(wait) = self.retry_after
            && let Ok(value) = axum::http::HeaderValue::from_str(&wait.as_secs().to_string())
        {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, value);
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::Conflict(what) => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("{what} already exists"),
            ),
            other => {
                tracing::error!(error = %other, "storage failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "storage_failed",
                    "the server could not read or write its database; try again shortly",
                )
            }
        }
    }
}

impl From<RuntimeError> for ApiError {
    fn from(error: RuntimeError) -> ApiError {
        let message = error.to_string();
        match error {
            RuntimeError::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, "not_found", message),
            RuntimeError::Forbidden(_) | RuntimeError::RevokeNotAllowed(_) => {
                ApiError::forbidden(message)
            }
            RuntimeError::SourceNotAllowed { .. } => {
                ApiError::new(StatusCode::FORBIDDEN, "source_not_allowed", message)
            }
            RuntimeError::Rejected(_) => ApiError::new(StatusCode::CONFLICT, "conflict", message),
            RuntimeError::InvalidInputs(errors) => ApiError {
                details: Some(Value::Array(
                    errors
                        .iter()
                        .map(
                            |error| json!({ "field": error.field(), "message": error.to_string() }),
                        )
                        .collect(),
                )),
                ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_inputs", message)
            },
            RuntimeError::DeescalationRetrying(StepFailure::Strategy { .. })
            | RuntimeError::Retrying(StepFailure::Strategy { .. }) => {
                ApiError::new(StatusCode::BAD_GATEWAY, "strategy_failed", message)
            }
            RuntimeError::PluginUnavailable { .. }
            | RuntimeError::Plugin(_)
            | RuntimeError::Retrying(_)
            | RuntimeError::DeescalationRetrying(_) => {
                ApiError::new(StatusCode::BAD_GATEWAY, "plugin_failed", message)
            }
            RuntimeError::InvalidInput(_) => ApiError::bad_request(message),
            RuntimeError::LastAdmin(_) => {
                ApiError::new(StatusCode::CONFLICT, "last_admin", message)
            }
            RuntimeError::InvalidFlow(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_flow", message)
            }
            RuntimeError::InvalidIntegration(IntegrationError::SecretInUse { .. }) => {
                ApiError::new(StatusCode::CONFLICT, "secret_in_use", message)
            }
            RuntimeError::InvalidIntegration(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_integration",
                message,
            ),
            RuntimeError::Sealing(_) => {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "sealing_failed", message)
            }
            RuntimeError::InvalidConfig { .. } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_config", message)
            }
            RuntimeError::InvalidPlugin(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_plugin", message)
            }
            RuntimeError::Busy => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", message),
            RuntimeError::TenantBusy { retry_after } => ApiError {
                retry_after: Some(retry_after),
                ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "tenant_busy", message)
            },
            RuntimeError::Unavailable(_) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
            }
            RuntimeError::Store(error) => error.into(),
        }
    }
}

/// A JSON body whose problems become `invalid_request` errors naming the field, e.g.
/// "`flow_inputs.duration`: invalid type: integer `3`, expected a string".
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// Query parameters whose problems become `invalid_request` errors, e.g.
/// "the query does not fit: limit: invalid digit found in string".
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Params(value))
            .map_err(|rejection| {
                let text = rejection.body_text();
                let detail = text
                    .split_once("Failed to deserialize query string: ")
                    .map_or(text.as_str(), |(_, detail)| detail);
                ApiError::bad_request(format!("the query does not fit: {detail}"))
            })
    }
}

/// A JSON body that may be left out (then it is `T::default()`).
#[derive(Debug)]
pub struct OptionalBody<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                ApiError::bad_request(format!(
                    "the body could not be read: {}",
                    rejection.body_text()
                ))
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalBody(T::default()));
        }
        serde_json::from_slice(&bytes)
            .map(OptionalBody)
            .map_err(|error| ApiError::bad_request(format!("the body does not fit: {error}")))
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with `Content-Type: application/json`",
        ),
        JsonRejection::JsonSyntaxError(error) => ApiError::bad_request(format!(
            "the body is not valid JSON: {}",
            inner(&error.body_text())
        )),
        JsonRejection::JsonDataError(error) => ApiError::bad_request(format!(
            "the body does not fit: {}",
            inner(&error.body_text())
        )),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => too_large(),
        other => {
            ApiError::bad_request(format!("the body could not be read: {}", other.body_text()))
        }
    }
}

/// A body over the route's limit.
pub fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "the body is larger than this endpoint accepts (1 MiB for JSON; for plugins, the host's component limit)",
    )
}

/// A raw body (a plugin upload), with a too-large body reported as JSON like every error.
pub fn raw_body(
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<axum::body::Bytes, ApiError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            ApiError::bad_request(format!(
                "the body could not be read: {}",
                rejection.body_text()
            ))
        }
    })
}

/// axum's text is "Failed to deserialize …: path: message"; keep the useful tail.
fn inner(text: &str) -> String {
    let tail = text
        .split_once("body into the target type: ")
        .map_or(text, |(_, tail)| tail);
    match tail.split_once(": ") {
        Some((path, message)) if !path.contains(' ') => format!("`{path}`: {message}"),
        _ => tail.to_owned(),
    }
}
