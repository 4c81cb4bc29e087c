//! The data a flow plugin sees and returns.
//!
//! These are the host's own types, independent of any WIT version: the plugin host converts
//! them to and from each frozen version of the `assent:flow` contract, the engine stores them,
//! and the API and CLI read and write them as JSON.

mod event;
mod flow_params;
mod handler;
pub mod idempotency;
mod integration;
mod outcome;
mod strategy;

pub use event::{
    Channel, ChannelType, Environment, Event, FieldOption, FieldType, FieldValue, Flow, FormField,
    Identity, Integration, Payload, PromptField, Role, Run, Step, Target, User,
};
pub use flow_params::FlowParams;
pub use handler::{Handler, HandlerKind, UnknownHandler};
pub use idempotency::{BadIdempotencyKey, IdempotencyKey};
pub use integration::{
    IntegrationSpec, IntegrationType, SECRET_SETTING_SUFFIX, UnknownIntegrationType,
};
pub use outcome::{
    Approvers, Destination, HookOutcome, Notification, Permission, PermissionLevel, PluginError,
    RequestPermission,
};
pub use strategy::{Strategy, StrategyType};
