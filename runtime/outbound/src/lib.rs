//! Outbound HTTP for integrations, under the operator's rules.
//!
//! Every request an integration or a plugin's `http.fetch` makes goes through [`Outbound`]:
//! - only to hosts the integration allows ([`HostList`]), and every redirect again only to
//!   them (redirects are followed here, one hop at a time, never by the client);
//! - over https, unless the operator allows plain http for that host;
//! - never to loopback, private, link-local (the cloud metadata service at 169.254.169.254),
//!   multicast or otherwise special addresses unless the operator allows them for that host,
//!   checked on the addresses a name resolves to when connecting (`address`), so a name that
//!   resolves to a public address once and to 127.0.0.1 the next time (DNS rebinding) is
//!   still refused;
//! - within a connect timeout and a total timeout, and a response size cap;
//! - over one pooled client, so keep-alive connections are shared across calls.
//!
//! Modules: `address` (which addresses are special), `hosts` (allow-lists), `policy` (the
//! operator's settings), `send` (a request and its redirects).

mod address;
mod hosts;
mod policy;
mod send;

pub use address::is_special;
pub use hosts::HostList;
pub use policy::OutboundPolicy;
pub use send::{Method, Outbound, OutboundError, Request, Response};
