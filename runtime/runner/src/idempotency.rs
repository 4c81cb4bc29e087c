//! Retried calls answered once: a caller that sends an `Idempotency-Key` gets the first
//! answer again instead of acting twice. The handler fingerprints the request and keeps the
//! response; the runner keeps the rules: a key is its caller's own, and a reservation whose
//! request never finished (its process died) does not block the key for ever.

use assent_store::{Idempotency, StoredResponse, now_millis};
use assent_types::User;

use crate::{Runner, RuntimeError};

// A reservation older than this is taken over by the next request with its key and body:
// longer than any request takes (plugin calls are bounded by their deadlines, a database
// wait by its 30 s acquire timeout), short enough that a client retrying after a crash gets
// through within a couple of minutes instead of a `409` for ever.
const RESERVATION_MS: i64 = 120_000;

/// The key as stored: the caller's id and their key, so one person's key never answers for
/// another (a member replaying an admin's key gets nothing of the admin's, and a refusal
/// kept under a member's key does not answer the approver who sends the same one).
fn scoped(caller: &User, key: &str) -> String {
    format!("{}/{key}", caller.id)
}

impl Runner {
    /// Reserves `caller`'s `key` for a request with `fingerprint`, or says how it was
    /// answered before.
    pub async fn begin_idempotent(
        &self,
        org_id: &str,
        caller: &User,
        key: &str,
        fingerprint: &str,
    ) -> Result<Idempotency, RuntimeError> {
        let now = now_millis();
        Ok(self
            .store
            .begin_idempotent(
                org_id,
                &scoped(caller, key),
                fingerprint,
                now,
                now - RESERVATION_MS,
            )
            .await?)
    }

    /// Keeps the answer to the request reserved under `caller`'s `key`, for replays.
    pub async fn finish_idempotent(
        &self,
        org_id: &str,
        caller: &User,
        key: &str,
        response: &StoredResponse,
    ) -> Result<(), RuntimeError> {
        Ok(self
            .store
            .finish_idempotent(org_id, &scoped(caller, key), response)
            .await?)
    }

    /// Frees `caller`'s `key` after a failure that was not theirs, so a retry runs again.
    pub async fn abandon_idempotent(
        &self,
        org_id: &str,
        caller: &User,
        key: &str,
    ) -> Result<(), RuntimeError> {
        Ok(self
            .store
            .abandon_idempotent(org_id, &scoped(caller, key))
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_scoped_to_their_caller() {
        let ann = User {
            id: "u-ann".into(),
            ..User::default()
        };
        let bob = User {
            id: "u-bob".into(),
            ..User::default()
        };
        assert_ne!(scoped(&ann, "k"), scoped(&bob, "k"));
        assert_eq!(scoped(&ann, "k"), scoped(&ann, "k"));
    }
}
