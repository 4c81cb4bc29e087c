//! Write Assent plugins in Rust.
//!
//! A plugin is one type implementing [`Plugin`]. Every handler has a default, and the
//! [`plugin`] attribute on the `impl` block exports the ones you wrote — the host never
//! calls a handler you did not write, it applies its own default instead.
//!
//! ```ignore
//! use assent_sdk::prelude::*;
//!
//! struct ApprovalFlow;
//!
//! #[assent_sdk::plugin]
//! impl Plugin for ApprovalFlow {
//!     fn get_permissions(_event: &Event) -> Result<RequestPermission> {
//!         Ok(RequestPermission::new(PermissionLevel::Admin, PermissionLevel::Member))
//!     }
//!
//!     fn get_request_notifications(event: &Event) -> Result<Vec<Notification>> {
//!         let channel = event.var("request_channel").unwrap_or("#access-requests");
//!         Ok(vec![Notification::new([slack::channel(channel)])])
//!     }
//!
//!     fn on_approve(event: &Event) -> Result<Outcome> {
//!         if event.user.role == Role::Guest {
//!             return Ok(Outcome::ignore("Guests cannot approve requests."));
//!         }
//!         Ok(Outcome::Proceed)
//!     }
//! }
//! ```
//!
//! Build it with `assent plugin build`, look at it with `assent plugin inspect`, and try a
//! handler with `assent plugin call`.

extern crate self as assent_sdk;

mod adapter;
mod builders;
pub mod log;
mod plugin;
pub mod users;

pub use assent_sdk_macros::plugin;
pub use builders::slack;
pub use plugin::Plugin;

/// The contract's types, as plugins see them.
pub use bindings::assent::flow::types::{
    Approvers, Channel, ChannelType, Destination, Environment, Event, FieldOption, FieldType,
    FieldValue, Flow, FormField, HookOutcome, HostError, HostErrorKind, Identity, Integration,
    Notification, Payload, Permission, PermissionLevel, PluginError, PromptField,
    RequestPermission, Role, Run, Step, Target, User,
};

/// What an `on_*` hook returns: [`Outcome::Proceed`] or a redirect such as
/// [`Outcome::ignore`].
pub type Outcome = HookOutcome;

/// What every handler returns.
pub type Result<T, E = PluginError> = std::result::Result<T, E>;

/// Everything a plugin usually needs.
pub mod prelude {
    pub use crate::{
        Destination, Event, FieldValue, Notification, Outcome, Permission, PermissionLevel, Plugin,
        PluginError, RequestPermission, Result, Role, Step, Target, User, log, slack, users,
    };
}

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit/0.2.0",
        world: "plugin",
        pub_export_macro: true,
        export_macro_name: "__export_assent_plugin",
        default_bindings_module: "::assent_sdk::__private::bindings",
        runtime_path: "::assent_sdk::__private::wit_bindgen::rt",
    });
}

/// Used by the code `#[assent_sdk::plugin]` generates. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::adapter::{Adapter, Described};
    pub use crate::bindings;
    pub use crate::bindings::__export_assent_plugin as export;
    pub use crate::bindings::assent::flow::types::Handler;
    pub use wit_bindgen;
}
