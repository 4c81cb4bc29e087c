//! What a plugin may hand back. Everything it returns is kept — in the run, twice in the
//! audit log, in Slack messages — so a plugin that answers 50 MiB would fill the database
//! and every page that shows it. Text meant for people is cut, saying so; any other answer
//! over the limit is refused, naming its size and the limit.

use assent_types::{HookOutcome, PluginError};
use serde::Serialize;

use crate::contract::Reply;
use crate::error::CallFailure;

// Text for people (an error, an ignore message, a hook's reason): Slack shows 3,000
// characters in a section, and nobody reads more in an error; 4 KiB says anything useful.
pub(crate) const MAX_TEXT_BYTES: usize = 4 << 10;
// Any other answer (permissions, notifications, a strategy's output), as JSON: 64 KiB holds
// a thousand approvers or a grant's ids and links, and bounds what a run keeps from a call.
pub(crate) const MAX_ANSWER_BYTES: usize = 64 << 10;

/// `text` cut to [`MAX_TEXT_BYTES`] (at a character boundary), with a note saying so.
pub(crate) fn cap_text(text: String) -> String {
    if text.len() <= MAX_TEXT_BYTES {
        return text;
    }
    let mut end = MAX_TEXT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}… [cut: the plugin's text was {} bytes; the first {MAX_TEXT_BYTES} are kept]",
        &text[..end],
        text.len()
    )
}

/// A plugin's own error, its words cut to size.
pub(crate) fn cap_error(error: PluginError) -> PluginError {
    PluginError {
        kind: cap_text(error.kind),
        message: cap_text(error.message),
    }
}

/// The reply with its messages cut to size, or refused if the answer itself is too large.
pub(crate) fn cap_reply(reply: Reply) -> Result<Reply, CallFailure> {
    let size = match &reply {
        Reply::Hook(_) | Reply::Done | Reply::Timeout(_) => 0,
        Reply::Output(output) => output.as_ref().map_or(0, String::len),
        Reply::Identity(identity) => identity.as_ref().map_or(0, String::len),
        Reply::Permissions(permissions) => json_size(permissions),
        Reply::Notifications(notifications) => json_size(notifications),
        Reply::Approvers(approvers) => json_size(approvers),
        Reply::Flows(flows) => json_size(flows),
        Reply::Options(options) => json_size(options),
        Reply::Form(form) => json_size(form),
    };
    if size > MAX_ANSWER_BYTES {
        return Err(CallFailure::BadReturn(format!(
            "its answer is {size} bytes, over the {MAX_ANSWER_BYTES} a handler may return; \
             return less (ids and links rather than whole documents)"
        )));
    }
    Ok(match reply {
        Reply::Hook(outcome) => Reply::Hook(cap_outcome(outcome)),
        other => other,
    })
}

fn cap_outcome(outcome: HookOutcome) -> HookOutcome {
    let cap = |message: Option<String>| message.map(cap_text);
    match outcome {
        HookOutcome::Proceed => HookOutcome::Proceed,
        HookOutcome::Approve(message) => HookOutcome::Approve(cap(message)),
        HookOutcome::Deny(message) => HookOutcome::Deny(cap(message)),
        HookOutcome::Ignore(message) => HookOutcome::Ignore(cap(message)),
        HookOutcome::Request(message) => HookOutcome::Request(cap(message)),
        HookOutcome::Escalate(message) => HookOutcome::Escalate(cap(message)),
        HookOutcome::Deescalate(message) => HookOutcome::Deescalate(cap(message)),
    }
}

/// The length of `value` as JSON, counted without building the text.
fn json_size(value: &impl Serialize) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter cannot fail; a value that will not serialize counts as empty.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_kept_and_long_text_cut_at_a_character() {
        assert_eq!(cap_text("fine".into()), "fine");
        let long = "é".repeat(MAX_TEXT_BYTES); // two bytes each
        let cut = cap_text(long.clone());
        assert!(cut.starts_with(&long[..MAX_TEXT_BYTES]));
        assert!(cut.ends_with(&format!(
            "[cut: the plugin's text was {} bytes; the first {MAX_TEXT_BYTES} are kept]",
            long.len()
        )));
    }

    #[test]
    fn oversized_answers_are_refused_and_hook_messages_cut() {
        let output = Reply::Output(Some("1".repeat(MAX_ANSWER_BYTES + 1)));
        assert!(matches!(cap_reply(output), Err(CallFailure::BadReturn(_))));
        let fits = Reply::Output(Some("1".repeat(MAX_ANSWER_BYTES)));
        assert!(cap_reply(fits).is_ok());
        let ignore = Reply::Hook(HookOutcome::Ignore(Some("x".repeat(MAX_TEXT_BYTES * 4))));
        let Ok(Reply::Hook(HookOutcome::Ignore(Some(message)))) = cap_reply(ignore) else {
            panic!("a long ignore message is cut, not refused");
        };
        assert!(message.len() < MAX_TEXT_BYTES + 100);
    }
}
