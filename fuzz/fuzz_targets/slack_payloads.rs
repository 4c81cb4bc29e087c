//! What Slack posts once its signature checks out: slash commands, interactions (a form
//! whose `payload` is JSON) and Events API callbacks, read as the server reads them. Any
//! bytes give a value or an error, never a panic; a submitted modal yields only the
//! visible fields' inputs, and never both an input and an error for one field.

#![no_main]

use std::sync::LazyLock;

use assent_secrets::SecretBox;
use assent_slack::inbound::{self, Command};
use assent_slack::modal::{self, ModalContext};
use assent_slack::slack_morphism::prelude::{SlackInteractionEvent, SlackView};
use assent_types::{FieldType, PromptField};
use libfuzzer_sys::fuzz_target;

/// One field of every type, and one hidden field, as a flow's form has them.
static FIELDS: LazyLock<Vec<PromptField>> = LazyLock::new(|| {
    let types = [
        FieldType::String,
        FieldType::StrList,
        FieldType::Int,
        FieldType::IntList,
        FieldType::Bool,
        FieldType::Duration,
        FieldType::SlackUser,
        FieldType::SlackUserList,
        FieldType::Target,
    ];
    let mut fields: Vec<PromptField> = types
        .iter()
        .enumerate()
        .map(|(index, field_type)| PromptField {
            name: format!("f{index}"),
            label: None,
            field_type: *field_type,
            required: index % 2 == 0,
            allowed_values: if index == 2 {
                vec!["1".into(), "2".into()]
            } else {
                Vec::new()
            },
            visible: true,
            default: None,
            prefetch: false,
        })
        .collect();
    fields.push(PromptField {
        name: "hidden".into(),
        visible: false,
        ..fields[0].clone()
    });
    fields
});

static SEALS: LazyLock<Option<SecretBox>> =
    LazyLock::new(|| SecretBox::from_hex(&"ab".repeat(32)).ok());

fuzz_target!(|body: &[u8]| {
    let Ok(text) = std::str::from_utf8(body) else {
        return;
    };

    if let Ok(command) = inbound::command(text)
        && let Command::Request { flow: Some(flow) } =
            Command::parse(&command.text.unwrap_or_default())
    {
        assert!(
            !flow.is_empty() && !flow.contains(char::is_whitespace),
            "{flow:?}"
        );
    }

    if let Ok(SlackInteractionEvent::ViewSubmission(submitted)) =
        inbound::interaction(text).map(|interaction| interaction.event)
    {
        if let SlackView::Modal(view) = &submitted.view.view {
            let context = ModalContext::decode(view.private_metadata.as_deref());
            let encoded = serde_json::to_string(&context).unwrap_or_default();
            assert_eq!(ModalContext::decode(Some(&encoded)), context);
        }
        let state = submitted.view.state_params.state.as_ref();
        let _ = modal::picked_flow(state);
        let submission = modal::read_submission(&FIELDS, state);
        for name in submission.inputs.keys() {
            assert!(
                FIELDS.iter().any(|field| &field.name == name),
                "an input for `{name}`, which is not a field of the form"
            );
            assert!(
                !submission.errors.contains_key(name),
                "`{name}` both read and refused"
            );
        }
    }

    if let Ok(inbound::EventEnvelope::EventCallback { event, .. }) = inbound::event(text) {
        let _ = inbound::disconnects(&event);
    }

    // OAuth `state` comes back from the browser: only what this key sealed opens (forging
    // the seal's tag is out of a fuzzer's reach), and what it sealed opens unchanged.
    if let Some(seals) = SEALS.as_ref() {
        assert!(seals.open_hex(text).is_err());
        if let Ok(sealed) = seals.seal_hex(body) {
            assert_eq!(seals.open_hex(&sealed).ok().as_deref(), Some(body));
        }
    }
});
