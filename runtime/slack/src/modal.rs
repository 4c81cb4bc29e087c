//! The request modal: pick a flow, fill in its prompt fields, submit. Each field is an input
//! block whose `block_id` is the field's name, so validation errors go back to the field.

use std::collections::BTreeMap;

use assent_types::{FieldOption, FieldType, FormField, PromptField};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use slack_morphism::prelude::*;

/// `callback_id` of the flow picker.
pub const PICK_CALLBACK: &str = "assent_pick";
/// `callback_id` of a flow's request form.
pub const REQUEST_CALLBACK: &str = "assent_request";
/// `callback_id` of the form an approver adds a message to their decision in.
pub const DECIDE_CALLBACK: &str = "assent_decide";
const MESSAGE_BLOCK: &str = "message";
/// `callback_id` of a view that only says something (loading, not offered).
pub const NOTICE_CALLBACK: &str = "assent_notice";
/// The picker's select; choosing a flow swaps in its form.
pub const FLOW_ACTION: &str = "assent_flow";
const FLOW_BLOCK: &str = "flow";
/// Every field's element; a change to a field the plugin's `on_change` answers arrives as a
/// block action with this id and the field's name as its block id.
pub const VALUE_ACTION: &str = "value";
/// Slack refuses a static select with more than 100 options.
const MAX_OPTIONS: usize = 100;

/// Carried through the modal in `private_metadata`: where the request was made from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModalContext {
    /// The chosen flow (empty while picking).
    #[serde(default)]
    pub flow: String,
    /// The channel the command was typed in.
    #[serde(default)]
    pub channel: String,
}

impl ModalContext {
    fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn decode(metadata: Option<&str>) -> ModalContext {
        metadata
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or_default()
    }
}

/// Carried through the decision form in `private_metadata`: which run, approve or deny.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionContext {
    #[serde(default)]
    pub run_id: String,
    #[serde(default)]
    pub approve: bool,
}

impl DecisionContext {
    pub fn decode(metadata: Option<&str>) -> DecisionContext {
        metadata
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or_default()
    }
}

/// The form an approver writes a message for their approval or denial in, when the flow
/// asks for one (`include_decision_message`). The message is optional.
pub fn decision_form(flow_label: &str, context: &DecisionContext) -> SlackView {
    let verb = if context.approve { "Approve" } else { "Deny" };
    let message = SlackBlockPlainTextInputElement::new()
        .with_action_id(VALUE_ACTION.into())
        .with_multiline(true);
    let blocks = vec![
        SlackSectionBlock::new()
            .with_text(SlackBlockText::MarkDown(SlackBlockMarkDownText::new(
                format!("{verb} this *{flow_label}* request. The requester sees your message."),
            )))
            .into(),
        SlackInputBlock::new(plain("Message"), message.into())
            .with_block_id(MESSAGE_BLOCK.into())
            .with_optional(true)
            .into(),
    ];
    SlackView::Modal(
        SlackModalView::new(title(&format!("{verb} request")), blocks)
            .with_submit(plain(verb))
            .with_close(plain("Cancel"))
            .with_callback_id(DECIDE_CALLBACK.into())
            .with_private_metadata(serde_json::to_string(context).unwrap_or_default()),
    )
}

/// The message written in a submitted decision form, if any.
pub fn decision_message(state: Option<&SlackViewState>) -> Option<String> {
    state?
        .values
        .get(&SlackBlockId::new(MESSAGE_BLOCK.to_owned()))?
        .get(&SlackActionId::new(VALUE_ACTION.to_owned()))?
        .value
        .clone()
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
}

/// A flow as the modal offers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowChoice {
    pub name: String,
    pub label: String,
}

fn plain(text: impl Into<String>) -> SlackBlockPlainTextOnly {
    SlackBlockPlainTextOnly::from(text.into())
}

/// Slack caps modal titles at 24 characters.
fn title(text: &str) -> SlackBlockPlainTextOnly {
    let mut title: String = text.chars().take(24).collect();
    if title.chars().count() < text.chars().count() {
        title.pop();
        title.push('…');
    }
    plain(title)
}

fn option(label: &str, value: &str) -> SlackBlockChoiceItem<SlackBlockPlainTextOnly> {
    SlackBlockChoiceItem::new(plain(label), value.to_owned())
}

/// The first view: a select of the flows this person may request.
pub fn flow_picker(flows: &[FlowChoice], context: &ModalContext) -> SlackView {
    let select = SlackBlockStaticSelectElement::new()
        .with_action_id(FLOW_ACTION.into())
        .with_placeholder(plain("Choose what you need"))
        .with_options(
            flows
                .iter()
                .map(|flow| option(&flow.label, &flow.name))
                .collect(),
        );
    let blocks = vec![
        SlackInputBlock::new(plain("Flow"), select.into())
            .with_block_id(FLOW_BLOCK.into())
            .with_dispatch_action(true)
            .into(),
    ];
    SlackView::Modal(
        SlackModalView::new(title("Request access"), blocks)
            .with_submit(plain("Next"))
            .with_close(plain("Cancel"))
            .with_callback_id(PICK_CALLBACK.into())
            .with_private_metadata(context.encode()),
    )
}

/// The flow chosen in a picker's submitted or dispatched state.
pub fn picked_flow(state: Option<&SlackViewState>) -> Option<String> {
    state?
        .values
        .get(&SlackBlockId::new(FLOW_BLOCK.to_owned()))?
        .get(&SlackActionId::new(FLOW_ACTION.to_owned()))?
        .selected_option
        .as_ref()
        .map(|option| option.value.clone())
}

fn label_of(field: &FormField) -> String {
    field.label.clone().unwrap_or_else(|| {
        let mut label = field.name.replace('_', " ");
        if let Some(first) = label.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        label
    })
}

fn element_for(field: &FormField) -> (SlackInputBlockElement, Option<&'static str>) {
    let select = |options: &[FieldOption]| -> SlackInputBlockElement {
        SlackBlockStaticSelectElement::new()
            .with_action_id(VALUE_ACTION.into())
            .with_options(
                options
                    .iter()
                    .take(MAX_OPTIONS)
                    .map(|choice| option(&choice.label, &choice.value))
                    .collect(),
            )
            .into()
    };
    let text = |multiline: bool| -> SlackInputBlockElement {
        SlackBlockPlainTextInputElement::new()
            .with_action_id(VALUE_ACTION.into())
            .with_multiline(multiline)
            .into()
    };
    match field.field_type {
        _ if !field.allowed_values.is_empty()
            && !matches!(
                field.field_type,
                FieldType::Bool | FieldType::StrList | FieldType::IntList
            ) =>
        {
            (select(&field.allowed_values), None)
        }
        FieldType::String => (text(field.name == "reason"), None),
        FieldType::Target => (text(false), Some("The target's name")),
        FieldType::StrList => (text(false), Some("Separate values with commas")),
        FieldType::IntList => (text(false), Some("Whole numbers separated by commas")),
        FieldType::Int => (
            SlackBlockNumberInputElement::new(false)
                .with_action_id(VALUE_ACTION.into())
                .into(),
            None,
        ),
        FieldType::Bool => (
            SlackBlockCheckboxesElement::new(vec![SlackBlockChoiceItem::new(
                SlackBlockText::Plain(SlackBlockPlainText::new("Yes".into())),
                "true".into(),
            )])
            .with_action_id(VALUE_ACTION.into())
            .into(),
            None,
        ),
        FieldType::Duration => (text(false), Some("For example 30m, 2h or 1d")),
        FieldType::SlackUser => (
            SlackBlockUsersSelectElement::new()
                .with_action_id(VALUE_ACTION.into())
                .into(),
            None,
        ),
        FieldType::SlackUserList => (
            SlackBlockMultiUsersSelectElement::new()
                .with_action_id(VALUE_ACTION.into())
                .into(),
            None,
        ),
    }
}

/// The form for one flow's visible fields. A change to a field named in `on_change` is sent
/// back at once (`dispatch_action`), so the plugin can change the form as it is filled in.
pub fn request_form(
    flow: &FlowChoice,
    fields: &[FormField],
    on_change: &[String],
    header: Option<&str>,
    context: &ModalContext,
) -> SlackView {
    let mut blocks: Vec<SlackBlock> = header
        .filter(|text| !text.trim().is_empty())
        .map(|text| {
            SlackSectionBlock::new()
                .with_text(SlackBlockText::MarkDown(SlackBlockMarkDownText::new(
                    text.to_owned(),
                )))
                .into()
        })
        .into_iter()
        .collect();
    blocks.extend(fields.iter().filter(|field| field.visible).map(|field| {
        let (element, hint) = element_for(field);
        let mut block = SlackInputBlock::new(plain(label_of(field)), element)
            .with_block_id(field.name.clone().into())
            .with_optional(!field.required);
        if on_change.contains(&field.name) {
            block = block.with_dispatch_action(true);
        }
        if let Some(hint) = hint {
            block = block.with_hint(plain(hint));
        }
        SlackBlock::from(block)
    }));
    let context = ModalContext {
        flow: flow.name.clone(),
        ..context.clone()
    };
    SlackView::Modal(
        SlackModalView::new(title(&flow.label), blocks)
            .with_submit(plain("Request"))
            .with_close(plain("Cancel"))
            .with_callback_id(REQUEST_CALLBACK.into())
            .with_private_metadata(context.encode()),
    )
}

/// A view that only says `text` (the form is loading, the flow is not offered), titled
/// with the flow's label.
pub fn notice_view(flow: &FlowChoice, text: &str, context: &ModalContext) -> SlackView {
    let context = ModalContext {
        flow: flow.name.clone(),
        ..context.clone()
    };
    SlackView::Modal(
        SlackModalView::new(
            title(&flow.label),
            vec![
                SlackSectionBlock::new()
                    .with_text(SlackBlockText::MarkDown(SlackBlockMarkDownText::new(
                        text.to_owned(),
                    )))
                    .into(),
            ],
        )
        .with_close(plain("Close"))
        .with_callback_id(NOTICE_CALLBACK.into())
        .with_private_metadata(context.encode()),
    )
}

/// The input blocks (fields, by name) a modal shows.
pub fn shown_fields(view: &SlackModalView) -> Vec<String> {
    view.blocks
        .iter()
        .filter_map(|block| match block {
            SlackBlock::Input(input) => input.block_id.as_ref().map(ToString::to_string),
            _ => None,
        })
        .collect()
}

/// A submitted form read back: the inputs as the Events API takes them (Slack user fields
/// hold Slack user ids), or an error message per field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Submission {
    pub inputs: Map<String, Value>,
    pub errors: BTreeMap<String, String>,
}

fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Reads the values of `fields` the view's state holds (the fields it shows).
pub fn read_submission(fields: &[PromptField], state: Option<&SlackViewState>) -> Submission {
    let mut submission = Submission::default();
    for field in fields {
        let Some(value) = state
            .and_then(|state| state.values.get(&SlackBlockId::new(field.name.clone())))
            .and_then(|actions| actions.get(&SlackActionId::new(VALUE_ACTION.to_owned())))
        else {
            continue;
        };
        let text = value
            .value
            .clone()
            .or_else(|| value.selected_option.as_ref().map(|o| o.value.clone()))
            .filter(|text| !text.trim().is_empty());
        let input = match field.field_type {
            FieldType::Bool => {
                Some(Value::Bool(value.selected_options.as_ref().is_some_and(
                    |options| options.iter().any(|o| o.value == "true"),
                )))
            }
            FieldType::SlackUser => value
                .selected_user
                .as_ref()
                .map(|u| Value::from(u.to_string())),
            FieldType::SlackUserList => value
                .selected_users
                .as_ref()
                .map(|users| Value::from(users.iter().map(|u| u.to_string()).collect::<Vec<_>>())),
            FieldType::Int => match text.as_deref().map(|t| t.trim().parse::<i64>()) {
                None => None,
                Some(Ok(number)) => Some(Value::from(number)),
                Some(Err(_)) => {
                    submission
                        .errors
                        .insert(field.name.clone(), "Enter a whole number.".into());
                    continue;
                }
            },
            FieldType::IntList => match text.as_deref().map(|t| {
                split_list(t)
                    .iter()
                    .map(|item| item.parse::<i64>())
                    .collect::<Result<Vec<_>, _>>()
            }) {
                None => None,
                Some(Ok(numbers)) => Some(Value::from(numbers)),
                Some(Err(_)) => {
                    submission.errors.insert(
                        field.name.clone(),
                        "Enter whole numbers separated by commas.".into(),
                    );
                    continue;
                }
            },
            FieldType::StrList => text.map(|t| Value::from(split_list(&t))),
            FieldType::String | FieldType::Duration | FieldType::Target => text.map(Value::from),
        };
        if let Some(input) = input {
            submission.inputs.insert(field.name.clone(), input);
        }
    }
    submission
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields() -> Vec<PromptField> {
        serde_json::from_value(json!([
            { "name": "target", "type": "target", "required": true },
            { "name": "duration", "type": "duration", "allowed_values": ["30m", "1h", "1d"], "required": true },
            { "name": "reason", "label": "Why?", "type": "string", "required": true },
            { "name": "tickets", "type": "int_list" },
            { "name": "urgent", "type": "bool" },
            { "name": "count", "type": "int" },
            { "name": "pair", "type": "slack_user" },
            { "name": "watchers", "type": "slack_user_list" },
            { "name": "tags", "type": "str_list" },
            { "name": "secret", "type": "string", "visible": false }
        ]))
        .unwrap()
    }

    fn flow() -> FlowChoice {
        FlowChoice {
            name: "prod-db".into(),
            label: "Prod database access".into(),
        }
    }

    #[test]
    fn flow_picker_view() {
        let flows = vec![
            flow(),
            FlowChoice {
                name: "admin".into(),
                label: "Temporary admin".into(),
            },
        ];
        insta::assert_json_snapshot!(flow_picker(
            &flows,
            &ModalContext {
                flow: String::new(),
                channel: "C0REQ".into()
            }
        ));
    }

    fn form() -> Vec<FormField> {
        let choices = |values: &[&str]| -> Vec<FieldOption> {
            values
                .iter()
                .map(|value| FieldOption {
                    value: (*value).into(),
                    label: (*value).into(),
                })
                .collect()
        };
        fields()
            .into_iter()
            .map(|field| {
                let allowed_values = if field.field_type == FieldType::Target {
                    choices(&["prod-db", "staging-db"])
                } else {
                    let values: Vec<&str> =
                        field.allowed_values.iter().map(String::as_str).collect();
                    choices(&values)
                };
                FormField {
                    name: field.name,
                    label: field.label,
                    field_type: field.field_type,
                    required: field.required,
                    visible: field.visible,
                    value: None,
                    original_allowed_values: allowed_values.clone(),
                    allowed_values,
                }
            })
            .collect()
    }

    #[test]
    fn on_change_fields_dispatch_and_the_header_comes_first() {
        let view = request_form(
            &flow(),
            &form(),
            &["duration".into()],
            Some("*Read the runbook first.*"),
            &ModalContext::default(),
        );
        let json = serde_json::to_value(&view).unwrap();
        let blocks = json["blocks"].as_array().unwrap();
        assert_eq!(blocks[0]["type"], "section");
        assert_eq!(blocks[0]["text"]["text"], "*Read the runbook first.*");
        let dispatching: Vec<&str> = blocks
            .iter()
            .filter(|block| block["dispatch_action"] == true)
            .map(|block| block["block_id"].as_str().unwrap())
            .collect();
        assert_eq!(dispatching, ["duration"]);
        let SlackView::Modal(modal) = view else {
            panic!("not a modal")
        };
        assert_eq!(shown_fields(&modal).len(), blocks.len() - 1);
    }

    #[test]
    fn request_form_has_an_input_per_visible_field() {
        insta::assert_json_snapshot!(request_form(
            &flow(),
            &form(),
            &[],
            None,
            &ModalContext {
                flow: String::new(),
                channel: "C0REQ".into()
            }
        ));
    }

    fn state(values: Value) -> SlackViewState {
        serde_json::from_value(json!({ "values": values })).unwrap()
    }

    #[test]
    fn submissions_are_read_into_typed_inputs() {
        let state = state(json!({
            "target": { "value": { "type": "static_select", "selected_option": { "text": { "type": "plain_text", "text": "prod-db" }, "value": "prod-db" } } },
            "duration": { "value": { "type": "static_select", "selected_option": { "text": { "type": "plain_text", "text": "1h" }, "value": "1h" } } },
            "reason": { "value": { "type": "plain_text_input", "value": "INC-42" } },
            "tickets": { "value": { "type": "plain_text_input", "value": "12, 13" } },
            "urgent": { "value": { "type": "checkboxes", "selected_options": [ { "text": { "type": "plain_text", "text": "Yes" }, "value": "true" } ] } },
            "count": { "value": { "type": "number_input", "value": "3" } },
            "pair": { "value": { "type": "users_select", "selected_user": "U0BOB" } },
            "watchers": { "value": { "type": "multi_users_select", "selected_users": ["U0A", "U0B"] } },
            "tags": { "value": { "type": "plain_text_input" } }
        }));
        let submission = read_submission(&fields(), Some(&state));
        assert!(submission.errors.is_empty(), "{:?}", submission.errors);
        assert_eq!(
            Value::Object(submission.inputs),
            json!({
                "target": "prod-db", "duration": "1h", "reason": "INC-42", "tickets": [12, 13],
                "urgent": true, "count": 3, "pair": "U0BOB", "watchers": ["U0A", "U0B"]
            })
        );
    }

    #[test]
    fn unreadable_numbers_are_errors_on_their_field() {
        let state = state(json!({
            "tickets": { "value": { "type": "plain_text_input", "value": "12, twelve" } },
            "urgent": { "value": { "type": "checkboxes", "selected_options": [] } }
        }));
        let submission = read_submission(&fields(), Some(&state));
        assert_eq!(
            submission.errors.get("tickets").map(String::as_str),
            Some("Enter whole numbers separated by commas.")
        );
        assert_eq!(submission.inputs.get("urgent"), Some(&Value::Bool(false)));
    }

    #[test]
    fn picked_flow_is_read_from_the_picker() {
        let state = state(json!({
            "flow": { "assent_flow": { "type": "static_select", "selected_option": { "text": { "type": "plain_text", "text": "X" }, "value": "prod-db" } } }
        }));
        assert_eq!(picked_flow(Some(&state)).as_deref(), Some("prod-db"));
        assert_eq!(picked_flow(None), None);
    }
}
