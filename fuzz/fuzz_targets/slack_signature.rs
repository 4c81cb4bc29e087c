//! Slack's request signature: a body is accepted only with the signature the signing secret
//! gives it and a timestamp within five minutes; nothing else gets through, and no header
//! value makes the check panic.

#![no_main]

use assent_slack::{Verifier, VerifyError};
use hmac::{Hmac, Mac};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;

// Slack's window for a request's age, as slack-morphism and the docs give it.
const MAX_AGE_SECONDS: i64 = 300;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    secret: &'a str,
    body: &'a [u8],
    /// Seconds before now the request claims it was sent; any value, to find edges.
    age: i64,
    /// A signature as an attacker would send it.
    forged: &'a str,
    /// Which body byte to change.
    flip: usize,
}

fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64)
}

fuzz_target!(|input: Input<'_>| {
    let verifier = Verifier::new(input.secret);
    let timestamp = now().wrapping_sub(input.age).to_string();
    let signature = sign(input.secret, &timestamp, input.body);
    let verified = verifier.verify(Some(&signature), Some(&timestamp), input.body);

    let text = std::str::from_utf8(input.body).ok();
    // Away from the window's edge, so the clock moving during the call cannot matter.
    let fresh = input
        .age
        .checked_abs()
        .is_some_and(|age| age < MAX_AGE_SECONDS - 5);
    let stale = input
        .age
        .checked_abs()
        .is_none_or(|age| age > MAX_AGE_SECONDS + 5);
    match (&verified, text) {
        (_, None) => assert!(matches!(verified, Err(VerifyError::NotText))),
        (_, Some(_)) if input.secret.is_empty() => {
            assert!(matches!(
                verified,
                Err(VerifyError::NoSecret | VerifyError::Stale(_))
            ));
        }
        (Ok(body), Some(text)) => {
            assert!(!stale, "a request {} s old was accepted", input.age);
            assert_eq!(*body, text);
        }
        (Err(error), Some(_)) => {
            assert!(
                !fresh,
                "a correctly signed fresh request was refused: {error}"
            );
            assert!(matches!(error, VerifyError::Stale(_)), "{error}");
        }
    }

    // A signature that is not the secret's is never accepted.
    if input.forged != signature {
        assert!(
            verifier
                .verify(Some(input.forged), Some(&timestamp), input.body)
                .is_err()
        );
    }
    // Nor is the right signature on a body changed by one bit.
    if !input.body.is_empty() {
        let mut changed = input.body.to_vec();
        let at = input.flip % changed.len();
        changed[at] ^= 1;
        assert!(
            verifier
                .verify(Some(&signature), Some(&timestamp), &changed)
                .is_err()
        );
    }
    // Nor a request without its headers.
    assert!(verifier.verify(None, Some(&timestamp), input.body).is_err());
    assert!(verifier.verify(Some(&signature), None, input.body).is_err());
});
