//! The operator's rules for outbound requests: the same for every tenant.

use std::time::Duration;

use crate::hosts::HostList;

/// What the server allows integrations to reach, and how long and how much.
#[derive(Debug, Clone)]
pub struct OutboundPolicy {
    /// Hosts reached over plain http (an internal service, the tests' fakes); every other
    /// host must be https.
    pub plain_http: HostList,
    /// Hosts that may resolve to loopback, private or link-local addresses; every other host
    /// must resolve to public addresses only.
    pub private_addresses: HostList,
    /// How long connecting (DNS, TCP and TLS) may take.
    pub connect_timeout: Duration,
    /// The longest one request may take, redirects included; a call may ask for less.
    pub total_timeout: Duration,
    /// The largest response body read; a larger one is refused, not cut.
    pub max_response_bytes: usize,
    /// How many redirects one request follows.
    pub max_redirects: usize,
}

impl Default for OutboundPolicy {
    fn default() -> OutboundPolicy {
        OutboundPolicy {
            plain_http: HostList::default(),
            private_addresses: HostList::default(),
            // Providers' APIs answer a connect in well under a second; five covers a slow
            // TLS handshake across an ocean without holding a plugin's budget on a dead host.
            connect_timeout: Duration::from_secs(5),
            // Okta, GitHub and PagerDuty document answers within seconds; twenty leaves room
            // for a slow page of a large group and is still well inside a handler's I/O budget.
            total_timeout: Duration::from_secs(20),
            // A page of 200 Okta users is about 300 KiB; 4 MiB holds the largest pages the
            // providers return, and bounds what one call holds in memory.
            max_response_bytes: 4 << 20,
            // Browsers follow 20; APIs redirect once or twice (a region, a moved endpoint).
            max_redirects: 5,
        }
    }
}
