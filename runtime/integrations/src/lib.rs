//! Integrations as plugins reach them: an operation of a configured integration (`okta`'s
//! `is_user_in_group`), called with the integration's own secrets, through the operator's
//! outbound rules (`assent-outbound`).
//!
//! - `connection`: one integration, its settings and its secrets' values;
//! - `provider`: what every provider call shares — the base URL, the auth header, recording
//!   the call, the provider's error in its own words;
//! - `okta`, `pagerduty`: each provider's operations, by the names Sym's SDK gives them;
//!   `github`: repository collaborators, for the GitHub strategy; `aws`: Lambda, IAM
//!   Identity Center and IAM, signed with Signature Version 4;
//! - `fetch`: a plain request through an `http` integration (the SDK's `requests`).
//!
//! Invariant: a secret's value goes into a request header and nowhere else — not into a
//! [`CallRecord`], a [`Failure`] or a returned value.

mod aws;
mod connection;
mod failure;
mod fetch;
mod github;
mod okta;
mod pagerduty;
mod provider;

use assent_outbound::Outbound;
use assent_types::IntegrationType;
use serde_json::Value;

pub use connection::Connection;
pub use failure::{Failure, FailureKind};
pub use fetch::{FetchRequest, FetchResponse, fetch};
pub use provider::CallRecord;

/// Calls `operation` of `connection` with `args` (a JSON object); answers JSON. Every request
/// made is pushed to `records`, failed ones included.
pub async fn call(
    outbound: &Outbound,
    connection: &Connection,
    operation: &str,
    args: &Value,
    records: &mut Vec<CallRecord>,
) -> Result<Value, Failure> {
    let mut provider = provider::Provider::new(outbound, connection, records);
    match connection.spec.integration_type {
        IntegrationType::Okta => okta::call(&mut provider, operation, args).await,
        IntegrationType::Github => github::call(&mut provider, operation, args).await,
        IntegrationType::Pagerduty => pagerduty::call(&mut provider, operation, args).await,
        IntegrationType::Aws => aws::call(&mut provider, operation, args).await,
        other => Err(Failure::NotProvided {
            integration: connection.name.clone(),
            kind: other,
        }),
    }
}
