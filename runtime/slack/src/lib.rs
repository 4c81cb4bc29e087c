//! Slack for Assent, without knowledge of runs or stores: the server's `slack` module wires
//! these parts to the runner.
//!
//! - [`verify`]: every inbound payload is checked against the signing secret and its age;
//! - [`inbound`]: slash commands and interactions parsed from their form bodies;
//! - [`client`]: the Web API calls Assent makes, over slack-morphism, with a configurable
//!   base URL (a local fake Slack in tests);
//! - [`message`]: the Block Kit of every message Assent posts (request cards, DMs, errors);
//! - [`modal`]: the request modal and reading its submitted values back;

pub mod client;
pub mod inbound;
pub mod message;
pub mod modal;
pub mod verify;

pub use client::{Installation, SlackApi, SlackApiError, SlackProfile};
pub use verify::{Verifier, VerifyError};

/// The OAuth scopes the bot asks for, and why.
pub const BOT_SCOPES: &[&str] = &[
    // The slash command.
    "commands",
    // Request cards, updates and DMs.
    "chat:write",
    // Posting into public channels the bot was not invited to.
    "chat:write.public",
    // Opening DMs and group DMs with approvers and requesters.
    "im:write",
    "mpim:write",
    // Mapping Slack users to Assent users by email.
    "users:read",
    "users:read.email",
];

/// The Slack model types these parts speak, for callers that match on inbound payloads.
pub use slack_morphism;
