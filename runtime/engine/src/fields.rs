//! A request's inputs, checked against the flow's prompt fields and typed.
//!
//! Inputs arrive as JSON (from the Events API, or the Slack form turned into JSON). Each
//! field's input form:
//!
//! | type | input |
//! |---|---|
//! | `string` | a string |
//! | `str_list` | an array of strings |
//! | `int` / `int_list` | an integer / an array of integers |
//! | `bool` | `true` or `false` |
//! | `duration` | seconds, or a string such as `"30m"`, `"1h"`, `"1d"`, `"1h 30m"` |
//! | `slack_user` / `slack_user_list` | a user id or email / an array of them |
//! | `target` | the target's name |
//!
//! `allowed_values` limits a field (or each element of a list) to those values; durations
//! compare by length, so `"60m"` matches an allowed `"1h"`. A missing field takes its
//! `default`, and is an error if `required` without one.

use std::collections::BTreeMap;
use std::time::Duration;

use assent_types::{FieldType, FieldValue, PromptField, Target, User};
use serde_json::Value;
use thiserror::Error;

/// One thing wrong with a request's inputs.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum FieldError {
    #[error("`{field}` is not a field of this flow; its fields are: {known}")]
    Unknown { field: String, known: String },
    #[error("`{field}` is required")]
    Missing { field: String },
    #[error("`{field}` must be {expected}, not {found}")]
    WrongType {
        field: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error("`{field}` must be one of {allowed}, not `{value}`")]
    NotAllowed {
        field: String,
        value: String,
        allowed: String,
    },
    #[error(
        "`{field}`: `{value}` is not a duration; give seconds or a length such as `30m`, `1h` or `1d`"
    )]
    BadDuration { field: String, value: String },
}

impl FieldError {
    /// The field the error is about.
    pub fn field(&self) -> &str {
        match self {
            FieldError::Unknown { field, .. }
            | FieldError::Missing { field }
            | FieldError::WrongType { field, .. }
            | FieldError::NotAllowed { field, .. }
            | FieldError::BadDuration { field, .. } => field,
        }
    }
}

/// Parses `"30m"`, `"1h 30m"`, `"2d"` or `"90"` (seconds) into seconds.
pub fn parse_duration(text: &str) -> Option<u64> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(seconds);
    }
    humantime::parse_duration(text)
        .ok()
        .map(|duration: Duration| duration.as_secs())
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(number) if number.is_i64() || number.is_u64() => "an integer",
        Value::Number(_) => "a decimal number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Checks `inputs` against `fields` and returns the typed values, or every problem found.
pub fn check_inputs(
    fields: &[PromptField],
    inputs: &serde_json::Map<String, Value>,
) -> Result<BTreeMap<String, FieldValue>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let known = || {
        fields
            .iter()
            .map(|field| format!("`{}`", field.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for name in inputs.keys() {
        if !fields.iter().any(|field| &field.name == name) {
            errors.push(FieldError::Unknown {
                field: name.clone(),
                known: known(),
            });
        }
    }
    let mut values = BTreeMap::new();
    for field in fields {
        let input = inputs
            .get(&field.name)
            .filter(|value| !value.is_null())
            .or(field.default.as_ref());
        let Some(input) = input else {
            if field.required {
                errors.push(FieldError::Missing {
                    field: field.name.clone(),
                });
            }
            continue;
        };
        match check_field(field, input) {
            Ok(value) => {
                values.insert(field.name.clone(), value);
            }
            Err(error) => errors.push(error),
        }
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(errors)
    }
}

pub(crate) fn check_field(field: &PromptField, input: &Value) -> Result<FieldValue, FieldError> {
    let name = &field.name;
    let wrong = |expected: &'static str, value: &Value| FieldError::WrongType {
        field: name.clone(),
        expected,
        found: json_kind(value),
    };
    let allowed = |value: &str| -> Result<(), FieldError> {
        if field.allowed_values.is_empty() || field.allowed_values.iter().any(|v| v == value) {
            Ok(())
        } else {
            Err(FieldError::NotAllowed {
                field: name.clone(),
                value: value.to_owned(),
                allowed: field.allowed_values.join(", "),
            })
        }
    };
    let string = |value: &Value, expected| match value {
        Value::String(text) => Ok(text.clone()),
        other => Err(wrong(expected, other)),
    };
    let strings = |value: &Value, expected| -> Result<Vec<String>, FieldError> {
        match value {
            Value::Array(items) => items.iter().map(|item| string(item, expected)).collect(),
            other => Err(wrong(expected, other)),
        }
    };
    let int = |value: &Value, expected| value.as_i64().ok_or_else(|| wrong(expected, value));
    let value = match field.field_type {
        FieldType::String => {
            let text = string(input, "a string")?;
            allowed(&text)?;
            FieldValue::String(text)
        }
        FieldType::StrList => {
            let list = strings(input, "an array of strings")?;
            list.iter().try_for_each(|item| allowed(item))?;
            FieldValue::StrList(list)
        }
        FieldType::Int => {
            let number = int(input, "an integer")?;
            allowed(&number.to_string())?;
            FieldValue::Int(number)
        }
        FieldType::IntList => {
            let list = match input {
                Value::Array(items) => items
                    .iter()
                    .map(|item| int(item, "an array of integers"))
                    .collect::<Result<Vec<_>, _>>()?,
                other => return Err(wrong("an array of integers", other)),
            };
            list.iter()
                .try_for_each(|item| allowed(&item.to_string()))?;
            FieldValue::IntList(list)
        }
        FieldType::Bool => match input {
            Value::Bool(flag) => FieldValue::Bool(*flag),
            other => return Err(wrong("`true` or `false`", other)),
        },
        FieldType::Duration => FieldValue::Duration(check_duration(field, input)?),
        FieldType::SlackUser => {
            FieldValue::SlackUser(user_named(string(input, "a user id or email")?))
        }
        FieldType::SlackUserList => FieldValue::SlackUserList(
            strings(input, "an array of user ids or emails")?
                .into_iter()
                .map(user_named)
                .collect(),
        ),
        FieldType::Target => {
            let target = string(input, "a target name")?;
            allowed(&target)?;
            FieldValue::Target(Target {
                id: target.clone(),
                name: target,
                ..Target::default()
            })
        }
    };
    Ok(value)
}

/// A duration field: seconds, or a length such as `1h`; with allowed values, one of them.
fn check_duration(field: &PromptField, input: &Value) -> Result<u64, FieldError> {
    let name = &field.name;
    let wrong = |expected: &'static str, value: &Value| FieldError::WrongType {
        field: name.clone(),
        expected,
        found: json_kind(value),
    };
    let seconds = match input {
        Value::Number(number) => number
            .as_u64()
            .ok_or_else(|| wrong("a whole number of seconds or a length such as `1h`", input))?,
        Value::String(text) => parse_duration(text).ok_or_else(|| FieldError::BadDuration {
            field: name.clone(),
            value: text.clone(),
        })?,
        other => return Err(wrong("a number of seconds or a length such as `1h`", other)),
    };
    if !field.allowed_values.is_empty()
        && !field
            .allowed_values
            .iter()
            .any(|allowed| parse_duration(allowed) == Some(seconds))
    {
        return Err(FieldError::NotAllowed {
            field: name.clone(),
            value: input
                .as_str()
                .map_or_else(|| seconds.to_string(), str::to_owned),
            allowed: field.allowed_values.join(", "),
        });
    }
    Ok(seconds)
}

/// A user named in a field: by email if it has an `@`, else by id.
fn user_named(id: String) -> User {
    if id.contains('@') {
        User {
            email: id,
            ..User::default()
        }
    } else {
        User {
            id,
            ..User::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(name: &str, field_type: FieldType) -> PromptField {
        PromptField {
            name: name.to_owned(),
            label: None,
            field_type,
            required: false,
            allowed_values: Vec::new(),
            visible: true,
            default: None,
            prefetch: false,
        }
    }

    fn inputs(value: Value) -> serde_json::Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m"), Some(1800));
        assert_eq!(parse_duration("1h"), Some(3600));
        assert_eq!(parse_duration("1d"), Some(86_400));
        assert_eq!(parse_duration("1h 30m"), Some(5400));
        assert_eq!(parse_duration("90"), Some(90));
        assert_eq!(parse_duration("soon"), None);
    }

    #[test]
    fn every_type_accepts_its_input_form() {
        let fields = [
            field("s", FieldType::String),
            field("sl", FieldType::StrList),
            field("i", FieldType::Int),
            field("il", FieldType::IntList),
            field("b", FieldType::Bool),
            field("d", FieldType::Duration),
            field("u", FieldType::SlackUser),
            field("ul", FieldType::SlackUserList),
            field("t", FieldType::Target),
        ];
        let values = check_inputs(
            &fields,
            &inputs(json!({
                "s": "prod", "sl": ["a", "b"], "i": -3, "il": [1, 2], "b": true, "d": "1h",
                "u": "ann@example.com", "ul": ["U1", "bo@example.com"], "t": "prod-db"
            })),
        )
        .unwrap();
        assert_eq!(values["s"], FieldValue::String("prod".into()));
        assert_eq!(values["i"], FieldValue::Int(-3));
        assert_eq!(values["il"], FieldValue::IntList(vec![1, 2]));
        assert_eq!(values["b"], FieldValue::Bool(true));
        assert_eq!(values["d"], FieldValue::Duration(3600));
        match &values["u"] {
            FieldValue::SlackUser(user) => assert_eq!(user.email, "ann@example.com"),
            other => panic!("{other:?}"),
        }
        match &values["ul"] {
            FieldValue::SlackUserList(users) => {
                assert_eq!(
                    (users[0].id.as_str(), users[1].email.as_str()),
                    ("U1", "bo@example.com")
                )
            }
            other => panic!("{other:?}"),
        }
        match &values["t"] {
            FieldValue::Target(target) => assert_eq!(target.name, "prod-db"),
            other => panic!("{other:?}"),
        }
        assert_eq!(values.len(), 9);
    }

    #[test]
    fn wrong_types_say_what_was_expected_and_found() {
        let fields = [field("count", FieldType::Int), field("on", FieldType::Bool)];
        let errors = check_inputs(&fields, &inputs(json!({"count": "3", "on": 1}))).unwrap_err();
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "`count` must be an integer, not a string",
                "`on` must be `true` or `false`, not an integer"
            ]
        );
    }

    #[test]
    fn required_defaults_unknown_and_allowed_values() {
        let mut reason = field("reason", FieldType::String);
        reason.required = true;
        let mut urgency = field("urgency", FieldType::String);
        urgency.allowed_values = vec!["Normal".into(), "Emergency".into()];
        urgency.default = Some(json!("Normal"));
        let mut duration = field("duration", FieldType::Duration);
        duration.allowed_values = vec!["30m".into(), "1h".into()];
        let fields = [reason, urgency, duration];

        let values =
            check_inputs(&fields, &inputs(json!({"reason": "x", "duration": "60m"}))).unwrap();
        assert_eq!(values["urgency"], FieldValue::String("Normal".into()));
        assert_eq!(values["duration"], FieldValue::Duration(3600));

        let errors = check_inputs(
            &fields,
            &inputs(json!({"urgency": "Whenever", "duration": "2h", "colour": "red"})),
        )
        .unwrap_err();
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "`colour` is not a field of this flow; its fields are: `reason`, `urgency`, `duration`",
                "`reason` is required",
                "`urgency` must be one of Normal, Emergency, not `Whenever`",
                "`duration` must be one of 30m, 1h, not `2h`",
            ]
        );
        assert_eq!(errors[1].field(), "reason");
    }

    #[test]
    fn a_bad_duration_says_how_to_write_one() {
        let fields = [field("d", FieldType::Duration)];
        let errors = check_inputs(&fields, &inputs(json!({"d": "a while"}))).unwrap_err();
        assert_eq!(
            errors[0].to_string(),
            "`d`: `a while` is not a duration; give seconds or a length such as `30m`, `1h` or `1d`"
        );
    }
}
