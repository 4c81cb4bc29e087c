//! Failed authentication, throttled: past a number of bad tokens a minute from one address,
//! or with one token prefix, further attempts are answered `429` with `Retry-After` until the
//! minute is over. A person mistyping a token never meets the limit; someone guessing gets
//! nowhere fast and cannot flood the log or the database with lookups.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

// Twenty bad tokens a minute: far beyond a person's retries, and a guesser's ceiling.
const MAX_FAILURES: u32 = 20;
const WINDOW: Duration = Duration::from_secs(60);
// A token's first characters: `assent_` and 16 hex digits (of 64). Enough that failures
// with one prefix are someone working on one token — and that nobody can lock others out by
// failing on purpose, which would take guessing 64 bits of a real token's start — while too
// few to matter should they be logged.
const PREFIX_CHARS: usize = 23;
// Keys remembered at most; past this, expired windows are dropped, and if none had expired
// the oldest half goes. Bounds memory under an attack from many addresses.
const MAX_KEYS: usize = 100_000;

/// Who a failure is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Address(IpAddr),
    TokenPrefix(String),
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

/// Counts failed authentications; shared by every request of a server.
#[derive(Debug, Default)]
pub struct AuthThrottle {
    windows: Mutex<HashMap<Key, Window>>,
}

fn keys(address: Option<IpAddr>, token: &str) -> Vec<Key> {
    let prefix: String = token.chars().take(PREFIX_CHARS).collect();
    address
        .map(Key::Address)
        .into_iter()
        .chain(std::iter::once(Key::TokenPrefix(prefix)))
        .collect()
}

impl AuthThrottle {
    /// `Err(retry_after)` while `address` or the token's prefix is over the limit.
    pub fn check(&self, address: Option<IpAddr>, token: &str) -> Result<(), Duration> {
        self.check_at(address, token, Instant::now())
    }

    /// Counts a failed authentication.
    pub fn failed(&self, address: Option<IpAddr>, token: &str) {
        self.failed_at(address, token, Instant::now());
    }

    fn check_at(&self, address: Option<IpAddr>, token: &str, now: Instant) -> Result<(), Duration> {
        let windows = self
            .windows
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let wait = keys(address, token)
            .iter()
            .filter_map(|key| windows.get(key))
            .filter(|window| window.failures >= MAX_FAILURES)
            .filter_map(|window| (window.started + WINDOW).checked_duration_since(now))
            .max();
        match wait {
            Some(wait) if !wait.is_zero() => Err(wait),
            _ => Ok(()),
        }
    }

    fn failed_at(&self, address: Option<IpAddr>, token: &str, now: Instant) {
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if windows.len() >= MAX_KEYS {
            windows.retain(|_, window| now.duration_since(window.started) < WINDOW);
            if windows.len() >= MAX_KEYS {
                let mut starts: Vec<Instant> = windows.values().map(|w| w.started).collect();
                starts.sort();
                if let Some(median) = starts.get(starts.len() / 2).copied() {
                    windows.retain(|_, window| window.started > median);
                }
            }
        }
        for key in keys(address, token) {
            let window = windows.entry(key).or_insert(Window {
                started: now,
                failures: 0,
            });
            if now.duration_since(window.started) >= WINDOW {
                *window = Window {
                    started: now,
                    failures: 0,
                };
            }
            window.failures = window.failures.saturating_add(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_held_back_for_the_rest_of_its_minute_after_the_limit() {
        let throttle = AuthThrottle::default();
        let start = Instant::now();
        let here = Some(IpAddr::from([10, 0, 0, 1]));
        for attempt in 0..MAX_FAILURES {
            // Every guess has a prefix of its own: the address is what trips.
            let token = format!("guess{attempt:04}xyz");
            assert_eq!(throttle.check_at(here, &token, start), Ok(()));
            throttle.failed_at(here, &token, start);
        }
        let later = start + Duration::from_secs(20);
        assert_eq!(
            throttle.check_at(here, "another-token", later),
            Err(Duration::from_secs(40))
        );
        // Another address is not held back, and the minute ends.
        assert_eq!(
            throttle.check_at(Some(IpAddr::from([10, 0, 0, 2])), "x", later),
            Ok(())
        );
        assert_eq!(throttle.check_at(here, "x", start + WINDOW), Ok(()));
    }

    #[test]
    fn one_token_prefix_from_many_addresses_trips_too() {
        let throttle = AuthThrottle::default();
        let now = Instant::now();
        for n in 0..MAX_FAILURES {
            let address = Some(IpAddr::from([10, 0, 1, u8::try_from(n).unwrap_or(0)]));
            throttle.failed_at(address, "assent_0123456789abcdef-and-more", now);
        }
        assert!(
            throttle
                .check_at(None, "assent_0123456789abcdef-other", now)
                .is_err()
        );
        // A token that merely shares the fixed `assent_` start is not held back.
        assert!(
            throttle
                .check_at(None, "assent_fedcba9876543210", now)
                .is_ok()
        );
    }
}
