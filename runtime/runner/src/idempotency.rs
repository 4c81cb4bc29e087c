//! Retried calls answered once: a caller that sends an `Idempotency-Key` gets the first
//! answer again instead of acting twice. The handler fingerprints the request and keeps the
//! response; the runner keeps the rule of who a key belongs to.

use assent_store::{Idempotency, StoredResponse};

use crate::{Runner, RuntimeError};

impl Runner {
    /// Reserves `key` for a request with `fingerprint`, or says how it was answered before.
    /// Keys belong to the organisation.
    pub async fn begin_idempotent(
        &self,
        org_id: &str,
        key: &str,
        fingerprint: &str,
    ) -> Result<Idempotency, RuntimeError> {
        Ok(self
            .store
            .begin_idempotent(org_id, key, fingerprint)
            .await?)
    }

    /// Keeps the answer to the request reserved under `key`, for replays.
    pub async fn finish_idempotent(
        &self,
        org_id: &str,
        key: &str,
        response: &StoredResponse,
    ) -> Result<(), RuntimeError> {
        Ok(self.store.finish_idempotent(org_id, key, response).await?)
    }

    /// Frees `key` after a failure that was not the caller's, so a retry runs again.
    pub async fn abandon_idempotent(&self, org_id: &str, key: &str) -> Result<(), RuntimeError> {
        Ok(self.store.abandon_idempotent(org_id, key).await?)
    }
}
