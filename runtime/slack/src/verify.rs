//! Inbound requests are Slack's only if they carry a valid signature over
//! `v0:{timestamp}:{body}` made with the app's signing secret, and a timestamp within five
//! minutes of now (so a captured request cannot be replayed later).

use slack_morphism::prelude::SlackSigningSecret;
use slack_morphism::signature_verifier::{
    SlackEventSignatureVerifier, SlackEventSignatureVerifierError,
};

/// Why an inbound request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the request has no `{0}` header; only Slack may call this endpoint")]
    MissingHeader(&'static str),
    #[error("the request's signature does not match the signing secret")]
    BadSignature,
    #[error("the request's timestamp `{0}` is more than five minutes from now")]
    Stale(String),
    #[error("the request body is not UTF-8")]
    NotText,
    #[error("no Slack signing secret is configured")]
    NoSecret,
}

/// Checks inbound requests against one app's signing secret.
#[derive(Clone)]
pub struct Verifier {
    inner: SlackEventSignatureVerifier,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier").finish_non_exhaustive()
    }
}

impl Verifier {
    pub fn new(signing_secret: &str) -> Verifier {
        Verifier {
            inner: SlackEventSignatureVerifier::new(&SlackSigningSecret::new(
                signing_secret.to_owned(),
            )),
        }
    }

    /// Returns the body as text once its signature and timestamp check out.
    pub fn verify<'b>(
        &self,
        signature: Option<&str>,
        timestamp: Option<&str>,
        body: &'b [u8],
    ) -> Result<&'b str, VerifyError> {
        let signature = signature.ok_or(VerifyError::MissingHeader(
            SlackEventSignatureVerifier::SLACK_SIGNED_HASH_HEADER,
        ))?;
        let timestamp = timestamp.ok_or(VerifyError::MissingHeader(
            SlackEventSignatureVerifier::SLACK_SIGNED_TIMESTAMP,
        ))?;
        let body = std::str::from_utf8(body).map_err(|_| VerifyError::NotText)?;
        // Checked here first: slack-morphism subtracts the timestamp from the clock
        // unchecked, which overflows for a timestamp near `i64::MIN`.
        if !is_recent(timestamp) {
            return Err(VerifyError::Stale(timestamp.to_owned()));
        }
        match self.inner.verify(signature, body, timestamp) {
            Ok(()) => Ok(body),
            Err(SlackEventSignatureVerifierError::IncorrectOrExpiredTimestampError(_)) => {
                Err(VerifyError::Stale(timestamp.to_owned()))
            }
            Err(SlackEventSignatureVerifierError::CryptoInitError(_)) => Err(VerifyError::NoSecret),
            Err(_) => Err(VerifyError::BadSignature),
        }
    }
}

/// Whether `timestamp` (Unix seconds) is within five minutes of now, either way.
fn is_recent(timestamp: &str) -> bool {
    let Ok(sent) = timestamp.parse::<i64>() else {
        return false;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        });
    now.checked_sub(sent)
        .and_then(i64::checked_abs)
        .is_some_and(|age| age <= SlackEventSignatureVerifier::MAX_TIMESTAMP_AGE_SECONDS)
}
