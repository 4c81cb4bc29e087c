//! A passing failure tried again at once, a few times, before the runner's slower, durable
//! retries take over.

use std::time::Duration;

use crate::StrategyError;

// Three tries, 250 ms then 1 s apart: a dropped connection or one 503 is over by then, and
// the step stays well inside the 30 s lease a worker holds on it (each try is bounded by the
// outbound total timeout). A longer outage is the runner's to wait out.
const BACKOFF: &[Duration] = &[Duration::from_millis(250), Duration::from_secs(1)];

/// How long to wait before trying again after `error`; `None` when it is not worth it: the
/// failure is permanent, or the tries are used up (`tried` so far, counting the first).
pub(crate) fn again(error: &StrategyError, tried: usize) -> Option<Duration> {
    if !error.is_transient() {
        return None;
    }
    BACKOFF.get(tried.checked_sub(1)?).copied()
}

#[cfg(test)]
mod tests {
    use assent_integrations::Failure;

    use super::*;

    fn unavailable() -> StrategyError {
        StrategyError::Integration(Failure::Provider {
            provider: "Okta",
            status: 503,
            method: "PUT",
            path: "/".into(),
            message: "HTTP 503".into(),
        })
    }

    #[test]
    fn a_passing_failure_is_tried_three_times_and_a_lasting_one_once() {
        assert_eq!(again(&unavailable(), 1), Some(Duration::from_millis(250)));
        assert_eq!(again(&unavailable(), 2), Some(Duration::from_secs(1)));
        assert_eq!(again(&unavailable(), 3), None);
        let refused = StrategyError::Refused {
            by: "u".into(),
            errors: "no".into(),
        };
        assert_eq!(
            again(&refused, 1),
            None,
            "a permanent failure is not tried again"
        );
    }
}
