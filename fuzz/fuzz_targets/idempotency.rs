//! `Idempotency-Key` headers and request fingerprints: a key is accepted exactly when it is
//! 1 to 255 visible ASCII characters, and two requests share a fingerprint only when their
//! routes and bodies are the same.

#![no_main]

use assent_types::idempotency::{IdempotencyKey, MAX_KEY_LENGTH, fingerprint};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    key: &'a [u8],
    first: (&'a str, &'a [u8]),
    second: (&'a str, &'a [u8]),
}

fuzz_target!(|input: Input<'_>| {
    let acceptable = !input.key.is_empty()
        && input.key.len() <= MAX_KEY_LENGTH
        && input.key.iter().all(u8::is_ascii_graphic);
    match IdempotencyKey::parse(input.key) {
        Ok(key) => {
            assert!(acceptable, "{:?} was accepted", input.key);
            assert_eq!(key.as_str().as_bytes(), input.key);
        }
        Err(_) => assert!(!acceptable, "{:?} was refused", input.key),
    }

    let (route, body) = input.first;
    let (other_route, other_body) = input.second;
    if fingerprint(route, body) == fingerprint(other_route, other_body) {
        assert_eq!((route, body), (other_route, other_body));
    }
});
