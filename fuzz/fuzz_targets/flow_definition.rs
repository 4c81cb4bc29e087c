//! A flow definition as `PUT /api/v1/flows/{name}` and the example flow files carry it:
//! fields, params, vars and strategy in JSON, checked against the plugins' handlers and the
//! environment's integrations. Any document
//! gives a definition or an error, never a panic; a definition that passes has a usable
//! name, fields named once and defaults its own form accepts; what the store keeps (the
//! parts as JSON) reads back as it was written.

#![no_main]

use std::collections::{BTreeMap, HashSet};

use assent_engine::check_inputs;
use assent_engine::flow::{FlowDefinition, valid_name, validate};
use assent_types::{FlowParams, Handler, IntegrationType, PromptField, Step, Strategy};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde_json::Value;

const HANDLERS: [Handler; 6] = [
    Handler::GetPermissions,
    Handler::GetApprovers,
    Handler::On(Step::Request),
    Handler::After(Step::Approve),
    Handler::Escalate,
    Handler::Deescalate,
];

fn part<T: DeserializeOwned + Default>(document: &Value, name: &str) -> Option<T> {
    match document.get(name) {
        None | Some(Value::Null) => Some(T::default()),
        Some(value) => serde_json::from_value(value.clone()).ok(),
    }
}

/// What the store does with a part: JSON text, read back.
fn stored<T: serde::Serialize + DeserializeOwned>(value: &T) -> Option<T> {
    serde_json::from_str(&serde_json::to_string(value).ok()?).ok()
}

fuzz_target!(|data: &[u8]| {
    // The first byte says which handlers the flow's plugin implements; the rest is the body.
    let Some((&handler_bits, body)) = data.split_first() else {
        return;
    };
    let Ok(document) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let name = document
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("flow");
    let (Some(fields), Some(params), Some(vars), Some(strategy)) = (
        part::<Vec<PromptField>>(&document, "fields"),
        part::<FlowParams>(&document, "params"),
        part::<BTreeMap<String, String>>(&document, "vars"),
        part::<Option<Strategy>>(&document, "strategy"),
    ) else {
        return;
    };
    // A body without a strategy may still name the uploaded strategy plugin by its hash.
    let strategy =
        strategy.or_else(|| (handler_bits & 0x80 != 0).then(|| Strategy::plugin("strategy")));
    let definition = FlowDefinition {
        name: name.to_owned(),
        label: None,
        environment: None,
        vars,
        fields,
        params,
        plugin: "flow".into(),
        strategy,
    };
    let handlers: HashSet<Handler> = HANDLERS
        .iter()
        .enumerate()
        .filter(|(bit, _)| handler_bits & (1 << bit) != 0)
        .map(|(_, handler)| *handler)
        .collect();
    let strategy: HashSet<Handler> = [Handler::Escalate, Handler::Deescalate].into();
    let verdict = validate(
        &definition,
        |hash| match hash {
            "flow" => Some(handlers.clone()),
            "strategy" => Some(strategy.clone()),
            _ => None,
        },
        |integration| match integration {
            "okta" => Some(IntegrationType::Okta),
            "web" => Some(IntegrationType::Http),
            _ => None,
        },
    );

    if verdict.is_ok() {
        assert!(valid_name(&definition.name), "{:?}", definition.name);
        let names: HashSet<&str> = definition.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names.len(),
            definition.fields.len(),
            "a field named twice passed"
        );
        // The form with nothing filled in: every default must be accepted.
        let mut optional = definition.fields.clone();
        optional.iter_mut().for_each(|field| field.required = false);
        assert!(check_inputs(&optional, &serde_json::Map::new()).is_ok());
    }

    // Stored and read back twice gives the same thing (once may round a float's last digit).
    if let Some(once) = stored(&definition.fields) {
        assert_eq!(stored(&once).as_ref(), Some(&once));
    }
    assert_eq!(
        stored(&definition.params).as_ref(),
        Some(&definition.params)
    );
    assert_eq!(stored(&definition.vars).as_ref(), Some(&definition.vars));
    assert_eq!(
        stored(&definition.strategy).as_ref(),
        Some(&definition.strategy)
    );
});
