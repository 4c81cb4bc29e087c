//! Who is told what after a step commits. Delivery (Slack) happens outside the engine, from
//! durable jobs, so a crash between a step and its message loses nothing.

use assent_types::Step;
use serde::{Deserialize, Serialize};

/// Something people are told about a run.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "notice", rename_all = "snake_case")]
pub enum Notice {
    /// Send the request to the destinations of notification `notification`, with buttons.
    /// If none of them can be reached, the run moves on as if it timed out.
    Request { notification: u32 },
    /// The run took `step`: update the request's messages, tell the requester.
    Moved { step: Step },
    /// A plugin or strategy failed during `step`: tell the environment's error logger (and
    /// update the request's messages if the run stopped).
    Failed {
        step: Step,
        handler: String,
        error: String,
    },
}

/// The notices of a committed step; `notify` is the transition's notification to send.
pub fn after_step(step: Step, notify: Option<u32>) -> Vec<Notice> {
    let mut notices = Vec::new();
    match step {
        Step::Request | Step::RequestForward | Step::Prompt => {}
        Step::Approve | Step::Deny | Step::RequestExpire | Step::Escalate | Step::Deescalate => {
            notices.push(Notice::Moved { step });
        }
    }
    if let Some(notification) = notify {
        notices.push(Notice::Request { notification });
    }
    notices
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_has_its_notices() {
        for step in Step::ALL {
            let notices = after_step(step, None);
            let moved = notices.contains(&Notice::Moved { step });
            // The requester hears of every decision and of access starting and ending.
            assert_eq!(
                moved,
                !matches!(step, Step::Request | Step::RequestForward | Step::Prompt),
                "{step}"
            );
        }
        assert_eq!(
            after_step(Step::RequestForward, Some(1)),
            vec![Notice::Request { notification: 1 }]
        );
        assert_eq!(
            after_step(Step::Request, Some(0)),
            vec![Notice::Request { notification: 0 }]
        );
    }

    #[test]
    fn notices_keep_their_json_form() {
        let notice = Notice::Request { notification: 2 };
        let json = serde_json::to_string(&notice).unwrap();
        assert_eq!(json, r#"{"notice":"request","notification":2}"#);
        assert_eq!(serde_json::from_str::<Notice>(&json).unwrap(), notice);
    }
}
