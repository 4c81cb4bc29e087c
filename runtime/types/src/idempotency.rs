//! `Idempotency-Key`s: what a client may send, and what identifies the request a key names.

use sha2::{Digest, Sha256};
use thiserror::Error;

// Keys are a client's UUID or request id; 255 fits any of them (Stripe's limit too) and
// keeps the stored key a small index entry.
pub const MAX_KEY_LENGTH: usize = 255;

/// A key as a client sent it: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

#[derive(Debug, Clone, Copy, Error, PartialEq, Eq)]
#[error(
    "`Idempotency-Key` must be 1 to {MAX_KEY_LENGTH} visible ASCII characters (letters, digits and punctuation, no spaces); send a UUID"
)]
pub struct BadIdempotencyKey;

impl IdempotencyKey {
    /// The key in a header's raw bytes.
    pub fn parse(raw: &[u8]) -> Result<IdempotencyKey, BadIdempotencyKey> {
        if raw.is_empty() || raw.len() > MAX_KEY_LENGTH || !raw.iter().all(u8::is_ascii_graphic) {
            return Err(BadIdempotencyKey);
        }
        String::from_utf8(raw.to_vec())
            .map(IdempotencyKey)
            .map_err(|_| BadIdempotencyKey)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What identifies a request besides its key: the route (method, path) and the body.
///
/// Each part goes in with its length first, so no two different (route, body) pairs hash
/// alike: a route is partly the caller's (a run id from the path), and without the lengths
/// `("…/approve", "{…}")` and `("…/approve{…", "")` would be one request.
pub fn fingerprint(route: &str, body: &[u8]) -> String {
    let mut digest = Sha256::new();
    for part in [route.as_bytes(), body] {
        digest.update((part.len() as u64).to_be_bytes());
        digest.update(part);
    }
    hex::encode(digest.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_of_a_bounded_length() {
        for good in [
            "a",
            "0b5e2a7c-9a4b-4b7e-8d8e-3c2f1a0b9c8d",
            &"k".repeat(255),
        ] {
            assert_eq!(
                IdempotencyKey::parse(good.as_bytes()).map(|key| key.to_string()),
                Ok(good.to_owned())
            );
        }
        for bad in [
            "",
            "has space",
            "tab\there",
            "ünï",
            &"k".repeat(256),
            "nul\0",
        ] {
            assert_eq!(
                IdempotencyKey::parse(bad.as_bytes()),
                Err(BadIdempotencyKey),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_route_and_body_cannot_borrow_from_each_other() {
        assert_ne!(
            fingerprint("POST /runs/r1/approve", b"{}"),
            fingerprint("POST /runs/r1/approve{}", b"")
        );
        assert_eq!(fingerprint("POST /x", b"{}"), fingerprint("POST /x", b"{}"));
    }
}
