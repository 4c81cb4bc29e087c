//! The approval state machine, as pure functions over plain data.
//!
//! A run moves through the steps of the approval template:
//!
//! ```text
//!            ┌──────── request_forward (next notification) ─┐
//!            ▼                                              │
//! request ─► requested ─┬─ approve ─► approved ─► escalate ─► escalated ─► deescalate ─► deescalated
//!                       ├─ deny ──────► denied
//!                       └─ request_expire ─► expired
//! ```
//!
//! plus `cancelled` (an `on_request` hook ignored the request) and `errored` (a plugin failed).
//!
//! The phases, each in its own module, in the order the runtime uses them:
//! - [`flow`]: check a flow definition before it is stored (name, plugins' roles, fields);
//! - [`fields`]: check a request's inputs against the flow's prompt fields;
//! - [`integration`]: check an integration's settings against its type, and secrets' names;
//! - [`permissions`]: may this user request, approve, deny, revoke or view;
//! - [`trigger`]: which step something that happened (a click, a timer) attempts from a state;
//! - [`resolve`]: the `on_<step>` hooks' say — proceed, redirect to another step, or ignore;
//! - [`transition`]: what the chosen step changes and what it schedules.
//!
//! Nothing here calls a plugin, a database or a clock: the runtime feeds hook outcomes into a
//! [`Resolver`] and applies the [`Transition`] it gets back, so every combination of state,
//! trigger and hook outcome is tested here without I/O.

pub mod fields;
pub mod flow;
pub mod form;
pub mod integration;
pub mod notice;
pub mod permissions;
pub mod resolve;
mod status;
pub mod transition;
pub mod trigger;

pub use fields::{FieldError, check_inputs, parse_duration};
pub use flow::{FlowDefinition, FlowError};
pub use integration::IntegrationError;
pub use notice::Notice;
pub use permissions::{Forbidden, RequestPermissions};
pub use resolve::{BadRedirect, HookDecision, Origin, Resolution, Resolver};
pub use status::{RunStatus, UnknownStatus};
pub use transition::{FlowPlan, NotARunStep, StrategyCall, Timer, Transition, transition};
pub use trigger::{DeescalateCause, Position, Rejection, Trigger, attempt};
