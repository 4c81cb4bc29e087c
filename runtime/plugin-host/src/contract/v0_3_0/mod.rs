//! `assent:flow@0.3.0`: its bindings, the `log`, `users` and `integrations` imports, and its
//! exports.
//!
//! Beside 0.2.0 it adds the `integrations` import (integration calls, `http` fetches and
//! secrets, all answered by the runner's [`Integrations`](crate::Integrations)), and gives
//! `on-change` the whole `prompt` event (the flow's vars and environment) rather than the
//! person alone. Its `types` interface is 0.2.0's, unchanged, so the host's conversions are
//! 0.2.0's. Within the host only [`crate::contract`] uses this module.

mod calls;

use std::time::Duration;

use wasmtime::component::{HasSelf, Linker};

use crate::services::{HttpRequest, IntegrationError, IntegrationErrorKind};
use crate::state::{CallState, LogRecord, NetworkCall, network_budget_spent};

pub(crate) use calls::Exports;

wasmtime::component::bindgen!({
    path: "../../wit/0.3.0",
    world: "plugin",
    // `users` waits on the organisation's database and `integrations` on the network; `log`
    // only records a line.
    imports: { "assent:flow/users": async, "assent:flow/integrations": async },
    // The same types as 0.2.0 (a component's types are checked by their structure), so one
    // set of conversions serves both versions.
    with: { "assent:flow/types": crate::contract::v0_2_0::wit },
});

use crate::contract::v0_2_0::wit;
use assent::flow::integrations;
use assent::flow::users;

pub const VERSION: &str = "0.3.0";

/// Links this version's imports (`log`, `users`, `integrations`).
pub(crate) fn add_to_linker(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    assent::flow::log::add_to_linker::<CallState, HasSelf<CallState>>(linker, |state| state)?;
    users::add_to_linker::<CallState, HasSelf<CallState>>(linker, |state| state)?;
    integrations::add_to_linker::<CallState, HasSelf<CallState>>(linker, |state| state)
}

impl assent::flow::log::Host for CallState {
    fn log(
        &mut self,
        level: assent::flow::log::Level,
        message: String,
        fields: Vec<(String, String)>,
    ) {
        use crate::state::LogLevel;
        let level = match level {
            assent::flow::log::Level::Trace => LogLevel::Trace,
            assent::flow::log::Level::Debug => LogLevel::Debug,
            assent::flow::log::Level::Info => LogLevel::Info,
            assent::flow::log::Level::Warn => LogLevel::Warn,
            assent::flow::log::Level::Error => LogLevel::Error,
        };
        self.record_log(LogRecord {
            level,
            message,
            fields,
        });
    }
}

impl users::Host for CallState {
    async fn get_event_count(
        &mut self,
        query: users::EventCountQuery,
    ) -> Result<u64, wit::HostError> {
        let query = crate::services::EventCountQuery {
            user_id: query.user_id,
            event: query.event.into(),
            since: query.since,
            until: query.until,
            flow: query.flow,
            target: query.target,
            include_errored: query.include_errored,
        };
        let directory = self.directory()?;
        Ok(directory.event_count(query).await?)
    }

    async fn persist_user_identity(
        &mut self,
        email: String,
        identity: wit::Identity,
    ) -> Result<wit::User, wit::HostError> {
        let directory = self.directory()?;
        let user = directory.persist_identity(email, identity.into()).await?;
        Ok((&user).into())
    }

    async fn get_or_create_user_by_email(
        &mut self,
        email: String,
    ) -> Result<wit::User, wit::HostError> {
        let directory = self.directory()?;
        let user = directory.get_or_create_user(email).await?;
        Ok((&user).into())
    }
}

impl From<IntegrationError> for integrations::Error {
    fn from(error: IntegrationError) -> Self {
        use integrations::ErrorKind as Kind;
        integrations::Error {
            kind: match error.kind {
                IntegrationErrorKind::NotConfigured => Kind::NotConfigured,
                IntegrationErrorKind::InvalidRequest => Kind::InvalidRequest,
                IntegrationErrorKind::Refused => Kind::Refused,
                IntegrationErrorKind::Timeout => Kind::Timeout,
                IntegrationErrorKind::Unavailable => Kind::Unavailable,
                IntegrationErrorKind::Provider => Kind::Provider,
                IntegrationErrorKind::Budget => Kind::Budget,
            },
            message: crate::caps::cap_text(error.message),
            status: error.status,
        }
    }
}

/// Runs one integration wait on the call's network clock, for at most the budget left.
macro_rules! on_the_network {
    ($state:expr, |$integrations:ident| $wait:expr) => {{
        let NetworkCall {
            integrations: $integrations,
            network,
            left,
        } = $state.integrations().map_err(integrations::Error::from)?;
        let budget = $state.network_budget;
        match tokio::time::timeout(left, network.wait($wait)).await {
            Ok(answer) => answer.map_err(integrations::Error::from),
            Err(_) => Err(integrations::Error::from(network_budget_spent(budget))),
        }
    }};
}

impl integrations::Host for CallState {
    async fn call(
        &mut self,
        integration: String,
        operation: String,
        args: String,
    ) -> Result<String, integrations::Error> {
        on_the_network!(self, |integrations| integrations.call(
            integration,
            operation,
            args
        ))
    }

    async fn fetch(
        &mut self,
        request: integrations::Request,
    ) -> Result<integrations::Response, integrations::Error> {
        let request = HttpRequest {
            method: request.method,
            url: request.url,
            headers: request.headers,
            body: request.body,
            timeout: request
                .timeout_ms
                .map(|ms| Duration::from_millis(u64::from(ms))),
            integration: request.integration,
        };
        let response = on_the_network!(self, |integrations| integrations.fetch(request))?;
        Ok(integrations::Response {
            status: response.status,
            headers: response.headers,
            body: response.body,
        })
    }

    async fn secret(
        &mut self,
        integration: String,
        setting: String,
    ) -> Result<String, integrations::Error> {
        on_the_network!(self, |integrations| integrations
            .secret(integration, setting))
    }
}
