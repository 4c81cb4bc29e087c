//! `assent:flow@0.2.0`: its bindings, the `log` and `users` imports, its exports, and the
//! conversions to and from the host's types.
//!
//! Beside 0.1.0 it adds the `users` import (event counts, stored identities, people by
//! email), the form handlers (`get-flows`, `prefetch`, `on-change`), the flow's environment,
//! the decision message and an identity's service id. Within the host only
//! [`crate::contract`] uses this module.

mod calls;
pub(crate) mod convert;

use wasmtime::component::{HasSelf, Linker};

use crate::state::{CallState, LogRecord};

pub(crate) use calls::Exports;

wasmtime::component::bindgen!({
    path: "../../wit/0.2.0",
    world: "plugin",
    // `users` waits on the organisation's database; `log` only records a line.
    imports: { "assent:flow/users": async },
    // The host uses these bindings for the contract's types and imports; exports are called
    // through `calls::Exports`, which resolves and type-checks them once per plugin.
});

pub use assent::flow::types as wit;
use assent::flow::users;
pub use wit::Handler as WitHandler;

pub const VERSION: &str = "0.2.0";

/// Links this version's imports (`log`, `users`).
pub(crate) fn add_to_linker(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    assent::flow::log::add_to_linker::<CallState, HasSelf<CallState>>(linker, |state| state)?;
    users::add_to_linker::<CallState, HasSelf<CallState>>(linker, |state| state)
}

impl assent::flow::log::Host for CallState {
    fn log(
        &mut self,
        level: assent::flow::log::Level,
        message: String,
        fields: Vec<(String, String)>,
    ) {
        self.record_log(LogRecord {
            level: level.into(),
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
        let directory = self.directory()?;
        Ok(directory.event_count(query.into()).await?)
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
