//! A request's inputs (`flow_inputs` of `POST /api/v1/events/request`, or a submitted Slack
//! form) checked against the flow's fields, and the event a plugin is handed, as JSON.
//! Any document gives typed values or errors, never a panic; typed values always fit their
//! fields; an event reads back from its own JSON unchanged.

#![no_main]

use assent_engine::{check_inputs, parse_duration};
use assent_types::{Event, FieldValue, PromptField};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(document) = serde_json::from_slice::<Value>(data) else {
        return;
    };

    if let (Some(fields), Some(Value::Object(inputs))) = (
        document
            .get("fields")
            .and_then(|fields| serde_json::from_value::<Vec<PromptField>>(fields.clone()).ok()),
        document.get("inputs"),
    ) && unique_names(&fields)
    {
        check(&fields, inputs);
    }

    if let Some(text) = document.get("duration").and_then(Value::as_str) {
        let _ = parse_duration(text);
    }

    // The event as the host hands it over (and as `assent plugin test` reads it).
    if let Ok(event) = serde_json::from_value::<Event>(document.clone())
        && let Ok(json) = serde_json::to_string(&event)
        // Floats in contexts may lose their last digit once; the second trip is exact.
        && let Ok(again) = serde_json::from_str::<Event>(&json)
    {
        let third: Option<Event> = serde_json::to_string(&again)
            .ok()
            .and_then(|json| serde_json::from_str(&json).ok());
        assert_eq!(third.as_ref(), Some(&again));
    }
});

/// A flow's fields are named once each: `PUT /flows` refuses anything else.
fn unique_names(fields: &[PromptField]) -> bool {
    let names: std::collections::HashSet<&str> =
        fields.iter().map(|field| field.name.as_str()).collect();
    names.len() == fields.len()
}

fn check(fields: &[PromptField], inputs: &Map<String, Value>) {
    match check_inputs(fields, inputs) {
        Ok(values) => {
            for (name, value) in &values {
                let Some(field) = fields.iter().find(|field| &field.name == name) else {
                    panic!("a value for `{name}`, which is no field");
                };
                assert_eq!(value.field_type(), field.field_type, "`{name}`");
                if !field.allowed_values.is_empty() {
                    allowed(field, value);
                }
            }
            for field in fields.iter().filter(|field| field.required) {
                assert!(
                    values.contains_key(&field.name),
                    "required `{}` missing",
                    field.name
                );
            }
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            for error in errors {
                let named = error.field();
                assert!(
                    inputs.contains_key(named) || fields.iter().any(|f| f.name == named),
                    "an error about `{named}`, which was neither sent nor a field"
                );
            }
        }
    }
}

/// A value of a field with allowed values is one of them.
fn allowed(field: &PromptField, value: &FieldValue) {
    let fits = |allowed: &String| match value {
        FieldValue::String(text) => text == allowed,
        FieldValue::Int(number) => allowed.trim().parse::<i64>() == Ok(*number),
        FieldValue::Duration(seconds) => parse_duration(allowed) == Some(*seconds),
        _ => true,
    };
    assert!(
        field.allowed_values.iter().any(fits),
        "`{}` took {value:?}, which is not among its allowed values",
        field.name
    );
}
