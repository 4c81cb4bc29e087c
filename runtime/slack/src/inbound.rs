//! What Slack sends: slash commands (a form), interactions (a form with one `payload` field
//! holding JSON) and Events API callbacks (JSON). Parsed only after [`crate::verify`].

use serde::Deserialize;
use slack_morphism::prelude::{SlackCommandEvent, SlackInteractionEvent, SlackViewState};

/// Why an inbound body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    #[error("the slash command payload is malformed: {0}")]
    Command(String),
    #[error("the interaction payload is malformed: {0}")]
    Interaction(String),
    #[error("the event payload is malformed: {0}")]
    Event(String),
}

pub fn command(body: &str) -> Result<SlackCommandEvent, InboundError> {
    serde_urlencoded::from_str(body).map_err(|error| InboundError::Command(error.to_string()))
}

#[derive(Deserialize)]
struct InteractionForm {
    payload: String,
}

/// An interaction, with the state of the modal it happened in: Slack sends a modal's
/// values with a block action inside `view.state`, which the event's `view` does not keep.
#[derive(Debug, Clone)]
pub struct Interaction {
    pub event: SlackInteractionEvent,
    pub view_state: Option<SlackViewState>,
}

pub fn interaction(body: &str) -> Result<Interaction, InboundError> {
    let form: InteractionForm = serde_urlencoded::from_str(body)
        .map_err(|error| InboundError::Interaction(error.to_string()))?;
    let payload: serde_json::Value = serde_json::from_str(&form.payload)
        .map_err(|error| InboundError::Interaction(error.to_string()))?;
    let view_state = payload
        .pointer("/view/state")
        .and_then(|state| serde_json::from_value(state.clone()).ok());
    let event = serde_json::from_value(payload)
        .map_err(|error| InboundError::Interaction(error.to_string()))?;
    Ok(Interaction { event, view_state })
}

/// The Events API envelope, as far as Assent reads it.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventEnvelope {
    /// Sent once when the Events URL is configured; answered with the challenge.
    UrlVerification { challenge: String },
    EventCallback {
        team_id: String,
        event: serde_json::Value,
    },
    #[serde(other)]
    Other,
}

pub fn event(body: &str) -> Result<EventEnvelope, InboundError> {
    serde_json::from_str(body).map_err(|error| InboundError::Event(error.to_string()))
}

/// Why an Events API event means the workspace no longer has Assent (`app_uninstalled`,
/// or `tokens_revoked` naming a bot token), or `None` for any other event.
pub fn disconnects(event: &serde_json::Value) -> Option<&'static str> {
    match event.get("type").and_then(serde_json::Value::as_str) {
        Some("app_uninstalled") => Some("the app was uninstalled from the workspace"),
        Some("tokens_revoked")
            if event
                .pointer("/tokens/bot")
                .and_then(serde_json::Value::as_array)
                .is_some_and(|bots| !bots.is_empty()) =>
        {
            Some("the workspace revoked the bot token")
        }
        _ => None,
    }
}

/// A slash command's text: `req [flow]`, `whoami`, `help`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Request { flow: Option<String> },
    WhoAmI,
    Help,
    Unknown(String),
}

impl Command {
    pub fn parse(text: &str) -> Command {
        let mut words = text.split_whitespace();
        match words.next() {
            None | Some("req" | "request") => Command::Request {
                flow: words.next().map(str::to_owned),
            },
            Some("whoami") => Command::WhoAmI,
            Some("help") => Command::Help,
            Some(other) => Command::Unknown(other.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_words() {
        assert_eq!(Command::parse(""), Command::Request { flow: None });
        assert_eq!(
            Command::parse("req  prod-db"),
            Command::Request {
                flow: Some("prod-db".into())
            }
        );
        assert_eq!(Command::parse("whoami"), Command::WhoAmI);
        assert_eq!(Command::parse("help"), Command::Help);
        assert_eq!(Command::parse("grant"), Command::Unknown("grant".into()));
    }

    #[test]
    fn malformed_payloads_are_errors_not_panics() {
        assert!(command("team_id=T1").is_err());
        assert!(interaction("payload=%7Bnot json").is_err());
        assert!(interaction("nothing=here").is_err());
        assert!(matches!(
            event(r#"{"type":"url_verification","challenge":"abc"}"#),
            Ok(EventEnvelope::UrlVerification { challenge }) if challenge == "abc"
        ));
        assert!(matches!(
            event(r#"{"type":"app_rate_limited"}"#),
            Ok(EventEnvelope::Other)
        ));
    }

    #[test]
    fn only_losing_the_bot_disconnects_a_workspace() {
        let event = |json: &str| serde_json::from_str::<serde_json::Value>(json).unwrap();
        assert!(disconnects(&event(r#"{"type":"app_uninstalled"}"#)).is_some());
        assert!(
            disconnects(&event(
                r#"{"type":"tokens_revoked","tokens":{"oauth":[],"bot":["U0BOT"]}}"#
            ))
            .is_some()
        );
        // A person revoking their own user token leaves the bot in place.
        assert_eq!(
            disconnects(&event(
                r#"{"type":"tokens_revoked","tokens":{"oauth":["U0ANN"]}}"#
            )),
            None
        );
        assert_eq!(disconnects(&event(r#"{"type":"message"}"#)), None);
    }
}
