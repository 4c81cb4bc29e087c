//! The event Sym sends its AWS Lambda strategy (schema version 4), so a function written for
//! Sym reads `event["event"]["type"]` and `event["run"]["actors"]["request"]["username"]` as
//! it always has; and the `{"body", "errors"}` answer Sym's functions give back.

use assent_types::{FieldValue, User};
use serde_json::{Map, Value, json};

use crate::{Change, Grant, StrategyError};

const SCHEMA_VERSION: u32 = 4;

/// What the function is invoked with.
pub(crate) fn payload(change: Change, grant: Grant<'_>, target_type: &str) -> Value {
    let event = grant.event;
    let actors: Map<String, Value> = event
        .run
        .actors
        .iter()
        .map(|(step, user)| (step.as_str().to_owned(), actor(user)))
        .collect();
    let mut fields: Map<String, Value> = event
        .payload
        .fields
        .iter()
        .filter_map(|(name, value)| Some((name.clone(), plain(value)?)))
        .collect();
    fields.insert(
        "target".into(),
        json!({
            "name": grant.target.name,
            "type": target_type,
            "label": grant.target.label,
            "settings": grant.target.settings,
        }),
    );
    fields.insert("target_id".into(), json!(grant.target.id));
    json!({
        "id": format!("{}.{}", event.run.id, change.as_str()),
        "meta": { "schema_version": SCHEMA_VERSION },
        "state": { "status": "processing", "errors": [] },
        "run": {
            "srn": format!("assent:run:{}:{}", event.flow.name, event.run.id),
            "flow": format!("assent:flow:{}", event.flow.name),
            "actors": actors,
        },
        "event": {
            "type": change.as_str(),
            "timestamp": event.payload.timestamp,
            "channel": event.run.source_channel.channel_type.to_string(),
        },
        "actor": actor(&event.user),
        "fields": fields,
        "type": "event",
    })
}

/// A field's value as Sym's event gives it: the bare value (a duration in seconds, a person
/// by username). The target is given apart, whole.
fn plain(value: &FieldValue) -> Option<Value> {
    Some(match value {
        FieldValue::String(text) => json!(text),
        FieldValue::StrList(texts) => json!(texts),
        FieldValue::Int(number) => json!(number),
        FieldValue::IntList(numbers) => json!(numbers),
        FieldValue::Bool(flag) => json!(flag),
        FieldValue::Duration(seconds) => json!(seconds),
        FieldValue::SlackUser(user) => json!(user.username),
        FieldValue::SlackUserList(users) => {
            json!(users.iter().map(|user| &user.username).collect::<Vec<_>>())
        }
        FieldValue::Target(_) => return None,
    })
}

/// A person as Sym's event names them: their id, name, username (their email) and the
/// identity they acted through.
fn actor(user: &User) -> Value {
    let name = match (&user.first_name, &user.last_name) {
        (Some(first), Some(last)) => format!("{first} {last}"),
        (Some(first), None) => first.clone(),
        _ => user.username.clone(),
    };
    let identity = user
        .identities
        .iter()
        .find(|identity| identity.service == "slack")
        .map(|identity| {
            json!({
                "service": identity.service,
                "external_id": identity.service_id,
                "user_id": identity.external_id,
            })
        });
    json!({
        "user": user.id,
        "name": name,
        "username": user.username,
        "identity": identity,
    })
}

/// Reads Sym's answer, `{"body": …, "errors": […]}`: any error refuses the change (`by`
/// names who answered), and `body` is the step's output. An answer of another shape is the
/// output as it is.
pub(crate) fn read_answer(
    by: impl FnOnce() -> String,
    answer: Value,
) -> Result<Value, StrategyError> {
    if let Some(errors) = answer["errors"]
        .as_array()
        .filter(|errors| !errors.is_empty())
    {
        return Err(StrategyError::Refused {
            by: by(),
            errors: list(errors),
        });
    }
    Ok(match answer {
        Value::Object(mut object) if object.contains_key("body") => {
            object.remove("body").unwrap_or(Value::Null)
        }
        other => other,
    })
}

/// Errors as one line.
pub(crate) fn list(errors: &[Value]) -> String {
    errors
        .iter()
        .map(|error| match error {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use assent_types::{Event, Step, Target};

    #[test]
    fn the_event_has_sym_s_shape() {
        let mut event = Event::default();
        event.run.id = "run-1".into();
        event.flow.name = "lambda_access".into();
        event.user.username = "ann@acme.test".into();
        event.run.actors.insert(Step::Request, event.user.clone());
        let target = Target {
            name: "button".into(),
            ..Target::default()
        };
        let sent = payload(
            Change::Grant,
            Grant {
                event: &event,
                target: &target,
            },
            "aws_lambda_function",
        );
        assert_eq!(sent["event"]["type"], "escalate");
        assert_eq!(
            sent["run"]["actors"]["request"]["username"],
            "ann@acme.test"
        );
        assert_eq!(sent["fields"]["target"]["name"], "button");
        assert_eq!(sent["meta"]["schema_version"], 4);
    }

    #[test]
    fn errors_refuse_and_body_is_the_output() {
        let refused = read_answer(
            || "f".into(),
            json!({ "body": {}, "errors": ["Humans Only!"] }),
        );
        assert_eq!(
            refused,
            Err(StrategyError::Refused {
                by: "f".into(),
                errors: "Humans Only!".into()
            })
        );
        assert_eq!(
            read_answer(|| "f".into(), json!({ "body": { "m": 1 }, "errors": [] })),
            Ok(json!({ "m": 1 }))
        );
    }
}
