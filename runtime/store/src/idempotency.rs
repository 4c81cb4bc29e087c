//! `Idempotency-Key`: a retried request gets the first attempt's response, not a second run.

use crate::{Store, StoreError};

/// A response kept for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
}

/// What to do with a request that carries a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Idempotency {
    /// First time: handle it, then [`Store::finish_idempotent`].
    Proceed,
    /// Seen and answered: send this again.
    Replay(StoredResponse),
    /// The first attempt is still being handled.
    InProgress,
    /// The key was used for a different request.
    Mismatch,
}

impl Store {
    /// Reserves `key` at `now` for the request with `fingerprint` (a hash of method, path
    /// and body). A reservation made before `stale_before` whose request never finished (its
    /// process died) is taken over by the same request, which then runs again.
    pub async fn begin_idempotent(
        &self,
        org_id: &str,
        key: &str,
        fingerprint: &str,
        now: i64,
        stale_before: i64,
    ) -> Result<Idempotency, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (org_id, key, fingerprint, status, response, created_at)
             VALUES ($1, $2, $3, 0, '', $4) ON CONFLICT (org_id, key) DO NOTHING",
        )
        .bind(org_id)
        .bind(key)
        .bind(fingerprint)
        .bind(now)
        .execute(&self.writes)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(Idempotency::Proceed);
        }
        let row: Option<(String, i64, String, i64)> = sqlx::query_as(
            "SELECT fingerprint, status, response, created_at FROM idempotency_keys
             WHERE org_id = $1 AND key = $2",
        )
        .bind(org_id)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            // Abandoned between our insert and this read: let the caller retry.
            None => Idempotency::InProgress,
            Some((stored, _, _, _)) if stored != fingerprint => Idempotency::Mismatch,
            Some((_, 0, _, reserved)) if reserved < stale_before => {
                // Taken over only from the reservation read, so one retry wins.
                let taken = sqlx::query(
                    "UPDATE idempotency_keys SET created_at = $1
                     WHERE org_id = $2 AND key = $3 AND status = 0 AND created_at = $4",
                )
                .bind(now)
                .bind(org_id)
                .bind(key)
                .bind(reserved)
                .execute(&self.writes)
                .await?;
                if taken.rows_affected() == 1 {
                    Idempotency::Proceed
                } else {
                    Idempotency::InProgress
                }
            }
            Some((_, 0, _, _)) => Idempotency::InProgress,
            Some((_, status, body, _)) => Idempotency::Replay(StoredResponse {
                status: u16::try_from(status).unwrap_or(500),
                body,
            }),
        })
    }

    /// Records the response to replay for `key` (the first answer wins, should a reservation
    /// have been taken over while its request was still running).
    pub async fn finish_idempotent(
        &self,
        org_id: &str,
        key: &str,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE idempotency_keys SET status = $1, response = $2
             WHERE org_id = $3 AND key = $4 AND status = 0",
        )
        .bind(i64::from(response.status))
        .bind(&response.body)
        .bind(org_id)
        .bind(key)
        .execute(&self.writes)
        .await?;
        Ok(())
    }

    /// Frees `key` after a failure that a retry may not hit (a 5xx), so the retry runs.
    pub async fn abandon_idempotent(&self, org_id: &str, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM idempotency_keys WHERE org_id = $1 AND key = $2 AND status = 0")
            .bind(org_id)
            .bind(key)
            .execute(&self.writes)
            .await?;
        Ok(())
    }
}
