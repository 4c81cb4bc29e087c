//! Who is calling: an organisation's API token, or the operator's.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};

use super::{ApiError, AppState};
use assent_store::Principal;
use assent_types::Role;

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let missing = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send an API token as `Authorization: Bearer <token>`",
        )
    };
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(missing)?;
    let value = header.to_str().map_err(|_| missing())?;
    value
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(missing)
}

/// A caller with an organisation's token. Everything it reaches is scoped to that organisation.
#[derive(Debug, Clone)]
pub struct Tenant(pub Principal);

impl Tenant {
    pub fn org_id(&self) -> &str {
        &self.0.org_id
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.0.user.role == Role::Admin {
            Ok(())
        } else {
            Err(ApiError::admin_only())
        }
    }
}

impl FromRequestParts<AppState> for Tenant {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?;
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(address)| address.ip());
        if let Err(wait) = state.throttle.check(address, token) {
            return Err(ApiError::too_many_attempts(wait));
        }
        match state.runner.store().authenticate(token).await? {
            Some(principal) => Ok(Tenant(principal)),
            None => {
                state.throttle.failed(address, token);
                Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "the API token is not valid; ask an admin of your organisation for a new one",
                ))
            }
        }
    }
}

/// The operator of the installation, who creates organisations.
#[derive(Debug, Clone, Copy)]
pub struct Operator;

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(expected) = &state.operator_token else {
            return Err(ApiError::forbidden(
                "operator endpoints are off; start the server with ASSENT_OPERATOR_TOKEN set",
            ));
        };
        let token = bearer(parts)?;
        // Compare digests so the time taken does not depend on how much of the token matched.
        if Sha256::digest(token.as_bytes()) == Sha256::digest(expected.as_bytes()) {
            Ok(Operator)
        } else {
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "the operator token is not valid",
            ))
        }
    }
}
