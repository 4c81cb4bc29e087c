//! The request form as someone fills it in: the flow's prompt fields with their choices (from
//! the flow, its targets, or the plugin's `prefetch`), the values entered so far, and what the
//! plugin's `on_change` made of them. The runner asks the plugin; these keep the rules:
//!
//! - a plugin changes a field's label, whether it is visible and required, and its choices —
//!   never its name, its type, its choices as first offered, or which fields there are;
//! - a field that `on_change` hid is not required (nobody can fill in what they cannot see);
//! - a request is checked against the form its own values produce, so what the form showed is
//!   what the request is held to, whichever door it came through.

use assent_types::{FieldOption, FieldType, FormField, PromptField, Target};
use serde_json::{Map, Value};
use thiserror::Error;

use crate::fields::check_field;

/// What is wrong with the form an `on_change` handler returned.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum FormChangeError {
    #[error(
        "it returned field `{0}`, which the form does not have; return the fields it was given"
    )]
    Unknown(String),
    #[error("it left out field `{0}`; return every field it was given, hidden ones too")]
    Missing(String),
    #[error(
        "it changed the type of field `{0}`; only labels, visibility, `required` and choices may change"
    )]
    Retyped(String),
}

/// The form of `fields` before anything is entered. Fields with `allowed_values` offer them;
/// target fields offer the flow's `targets` (by name, labelled as the flow labels them).
pub fn initial(fields: &[PromptField], targets: &[Target]) -> Vec<FormField> {
    fields
        .iter()
        .map(|field| {
            let options: Vec<FieldOption> =
                if field.field_type == FieldType::Target && field.allowed_values.is_empty() {
                    targets
                        .iter()
                        .map(|target| FieldOption {
                            value: target.name.clone(),
                            label: if target.label.is_empty() {
                                target.name.clone()
                            } else {
                                target.label.clone()
                            },
                        })
                        .collect()
                } else {
                    field
                        .allowed_values
                        .iter()
                        .map(|value| FieldOption {
                            value: value.clone(),
                            label: value.clone(),
                        })
                        .collect()
                };
            FormField {
                name: field.name.clone(),
                label: field.label.clone(),
                field_type: field.field_type,
                required: field.required,
                visible: field.visible,
                value: None,
                allowed_values: options.clone(),
                original_allowed_values: options,
            }
        })
        .collect()
}

/// Gives field `name` the choices `prefetch` found, as the ones it first offers.
pub fn prefetched(form: &mut [FormField], name: &str, options: Vec<FieldOption>) {
    if let Some(field) = form.iter_mut().find(|field| field.name == name) {
        field.allowed_values.clone_from(&options);
        field.original_allowed_values = options;
    }
}

/// Puts the values entered so far into the form. A value that does not (yet) read as its
/// field's type is left out: the form is still being filled in.
pub fn fill(form: &mut [FormField], fields: &[PromptField], inputs: &Map<String, Value>) {
    for entry in form.iter_mut() {
        let read = fields
            .iter()
            .find(|field| field.name == entry.name)
            .zip(inputs.get(&entry.name).filter(|input| !input.is_null()))
            .and_then(|(field, input)| {
                let unchecked = PromptField {
                    allowed_values: Vec::new(),
                    ..field.clone()
                };
                check_field(&unchecked, input).ok()
            });
        entry.value = read;
    }
}

/// The form after `on_change` answered `answer` to `before`: labels, visibility, `required`
/// and current choices from the answer; everything else as it was.
pub fn changed(
    before: &[FormField],
    answer: Vec<FormField>,
) -> Result<Vec<FormField>, FormChangeError> {
    if let Some(extra) = answer
        .iter()
        .find(|field| !before.iter().any(|known| known.name == field.name))
    {
        return Err(FormChangeError::Unknown(extra.name.clone()));
    }
    before
        .iter()
        .map(|known| {
            let field = answer
                .iter()
                .find(|field| field.name == known.name)
                .ok_or_else(|| FormChangeError::Missing(known.name.clone()))?;
            if field.field_type != known.field_type {
                return Err(FormChangeError::Retyped(known.name.clone()));
            }
            Ok(FormField {
                label: field.label.clone(),
                required: field.required,
                visible: field.visible,
                allowed_values: field.allowed_values.clone(),
                ..known.clone()
            })
        })
        .collect()
}

/// The prompt fields a request is checked against once the form is filled in: the flow's
/// fields with the form's labels, visibility and choices. A field the form hid is not
/// required (unless the flow itself makes it hidden and required: the API fills those); choices of target fields stay the flow's targets (checked by name elsewhere).
pub fn as_prompt_fields(form: &[FormField], fields: &[PromptField]) -> Vec<PromptField> {
    fields
        .iter()
        .map(
            |field| match form.iter().find(|entry| entry.name == field.name) {
                Some(entry) => PromptField {
                    label: entry.label.clone(),
                    visible: entry.visible,
                    required: entry.required
                        && (entry.visible || (!field.visible && field.required)),
                    allowed_values: if field.field_type == FieldType::Target {
                        field.allowed_values.clone()
                    } else {
                        entry
                            .allowed_values
                            .iter()
                            .map(|option| option.value.clone())
                            .collect()
                    },
                    ..field.clone()
                },
                None => field.clone(),
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check_inputs;
    use assent_types::FieldValue;
    use serde_json::json;

    fn fields() -> Vec<PromptField> {
        serde_json::from_value(json!([
            { "name": "team", "type": "string", "required": true, "prefetch": true },
            { "name": "reason", "type": "string", "visible": false },
            { "name": "target", "type": "target", "required": true },
            { "name": "duration", "type": "duration", "allowed_values": ["1h", "1d"] }
        ]))
        .unwrap()
    }

    fn target(name: &str, label: &str) -> Target {
        Target {
            name: name.into(),
            label: label.into(),
            ..Target::default()
        }
    }

    fn option(value: &str, label: &str) -> FieldOption {
        FieldOption {
            value: value.into(),
            label: label.into(),
        }
    }

    #[test]
    fn the_first_form_offers_allowed_values_and_targets() {
        let form = initial(
            &fields(),
            &[target("prod", "Production"), target("dev", "")],
        );
        assert_eq!(
            form[2].allowed_values,
            vec![option("prod", "Production"), option("dev", "dev")]
        );
        assert_eq!(
            form[3].original_allowed_values,
            vec![option("1h", "1h"), option("1d", "1d")]
        );
        assert!(form[0].allowed_values.is_empty());
        assert!(!form[1].visible);
    }

    #[test]
    fn values_that_read_as_their_type_fill_the_form() {
        let mut form = initial(&fields(), &[]);
        fill(
            &mut form,
            &fields(),
            json!({ "team": "db", "duration": "soon", "nope": 1 })
                .as_object()
                .unwrap(),
        );
        assert_eq!(form[0].value, Some(FieldValue::String("db".into())));
        assert_eq!(form[3].value, None, "`soon` is not a duration yet");
    }

    #[test]
    fn on_change_may_change_presentation_but_not_the_fields() {
        let mut before = initial(&fields(), &[]);
        prefetched(&mut before, "team", vec![option("db", "Databases")]);
        let mut answer = before.clone();
        answer[1].visible = true;
        answer[1].required = true;
        answer[0].allowed_values.clear();
        answer[0].original_allowed_values.clear();
        answer[0].name = "team".into();
        let after = changed(&before, answer.clone()).unwrap();
        assert!(after[1].visible && after[1].required);
        assert!(after[0].allowed_values.is_empty());
        assert_eq!(
            after[0].original_allowed_values,
            vec![option("db", "Databases")],
            "what was first offered stays"
        );

        let mut retyped = answer.clone();
        retyped[1].field_type = FieldType::Int;
        assert_eq!(
            changed(&before, retyped),
            Err(FormChangeError::Retyped("reason".into()))
        );
        let mut extra = answer.clone();
        extra[1].name = "sneaky".into();
        assert_eq!(
            changed(&before, extra),
            Err(FormChangeError::Unknown("sneaky".into()))
        );
        assert_eq!(
            changed(&before, answer[..2].to_vec()),
            Err(FormChangeError::Missing("target".into()))
        );
    }

    #[test]
    fn requests_are_held_to_the_form_they_filled() {
        let mut form = initial(&fields(), &[]);
        prefetched(
            &mut form,
            "team",
            vec![option("db", "Databases"), option("web", "Web")],
        );
        // `on_change` showed `reason` and made it required.
        form[1].visible = true;
        form[1].required = true;
        let checked = as_prompt_fields(&form, &fields());
        let inputs = json!({ "team": "ops", "target": "prod" });
        let errors = check_inputs(&checked, inputs.as_object().unwrap()).unwrap_err();
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            vec![
                "`team` must be one of db, web, not `ops`".to_owned(),
                "`reason` is required".to_owned()
            ]
        );
        // Hidden again: no longer required.
        form[1].visible = false;
        let checked = as_prompt_fields(&form, &fields());
        let inputs = json!({ "team": "db", "target": "prod" });
        assert!(check_inputs(&checked, inputs.as_object().unwrap()).is_ok());
    }
}
