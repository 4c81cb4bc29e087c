//! A flow definition as an admin writes it, and the checks it must pass before it is stored.

use std::collections::{BTreeMap, HashSet};

use assent_types::{FlowParams, Handler, HandlerKind, PromptField};
use thiserror::Error;

use crate::check_inputs;

// A flow name is at most 63 characters: a DNS label's limit, so a name fits in URLs, Slack
// option values (75 at most) and Terraform resource names alike.
const MAX_FLOW_NAME: usize = 63;

/// A flow version as an admin writes it: the body of `PUT /api/v1/flows/{name}`, or one
/// example flow file.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowDefinition {
    pub name: String,
    /// Defaults to the name.
    pub label: Option<String>,
    /// Defaults to `main`.
    pub environment: Option<String>,
    pub vars: BTreeMap<String, String>,
    pub fields: Vec<PromptField>,
    pub params: FlowParams,
    /// The hash of the flow's uploaded plugin.
    pub plugin: String,
    /// The hash of an uploaded strategy plugin, if the flow grants access through one.
    pub strategy: Option<String>,
}

/// Why a flow definition was refused. Each says what to change.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum FlowError {
    #[error("`{0}` is not a usable flow name; use letters, digits, `-` and `_`")]
    BadName(String),
    #[error("plugin `{0}` is not uploaded; upload it first with POST /api/v1/plugins")]
    PluginMissing(String),
    #[error("plugin `{0}` has no `get_permissions` (or `get_approvers`), so it cannot run a flow")]
    NotAFlowPlugin(String),
    #[error("strategy plugin `{0}` is not uploaded; upload it first")]
    StrategyMissing(String),
    #[error("plugin `{0}` implements no `escalate` or `deescalate`, so it is not a strategy")]
    NotAStrategy(String),
    #[error("field `{0}` appears twice")]
    DuplicateField(String),
    #[error("a default does not fit its field: {0}")]
    BadDefault(String),
    #[error(
        "field `{field}` has `prefetch` set, but plugin `{plugin}` does not prefetch it; give the plugin a prefetch for `{field}` (Python: `@prefetch(field_name=\"{field}\")`) or leave `prefetch` out"
    )]
    NotPrefetched { field: String, plugin: String },
    #[error("plugin `{0}` has no `get_flows`, so it cannot filter flows")]
    NotAFlowsFilter(String),
    #[error(
        "target `{target}` binds field `{field}`, which the flow does not have; add a prompt field `{field}` or remove it from `field_bindings`"
    )]
    UnknownBinding { target: String, field: String },
}

/// Whether `name` is usable as a flow's name: 1 to 63 letters, digits, `-` and `_`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_FLOW_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Checks `definition` against the organisation's uploaded plugins (`handlers_of` gives the
/// handlers of the plugin with a hash, if it is uploaded): a usable name, a flow plugin that
/// can answer permissions, a strategy that is one, fields named once, defaults the form
/// accepts.
pub fn validate(
    definition: &FlowDefinition,
    handlers_of: impl Fn(&str) -> Option<HashSet<Handler>>,
) -> Result<(), FlowError> {
    if !valid_name(&definition.name) {
        return Err(FlowError::BadName(definition.name.clone()));
    }
    let flow_handlers = handlers_of(&definition.plugin)
        .ok_or_else(|| FlowError::PluginMissing(definition.plugin.clone()))?;
    if !flow_handlers.contains(&Handler::GetPermissions)
        && !flow_handlers.contains(&Handler::GetApprovers)
    {
        return Err(FlowError::NotAFlowPlugin(definition.plugin.clone()));
    }
    if let Some(strategy) = &definition.strategy {
        let strategy_handlers =
            handlers_of(strategy).ok_or_else(|| FlowError::StrategyMissing(strategy.clone()))?;
        if !strategy_handlers
            .iter()
            .any(|handler| handler.kind() == HandlerKind::Strategy)
        {
            return Err(FlowError::NotAStrategy(strategy.clone()));
        }
    }
    let mut seen = HashSet::new();
    for field in &definition.fields {
        if !seen.insert(field.name.as_str()) {
            return Err(FlowError::DuplicateField(field.name.clone()));
        }
    }
    for target in &definition.params.targets {
        if let Some(field) = target
            .field_bindings
            .iter()
            .find(|field| !seen.contains(field.as_str()))
        {
            return Err(FlowError::UnknownBinding {
                target: target.name.clone(),
                field: field.clone(),
            });
        }
    }
    // The defaults must be values the form accepts, required or not.
    let defaults: serde_json::Map<String, serde_json::Value> = definition
        .fields
        .iter()
        .filter_map(|field| {
            field
                .default
                .clone()
                .map(|value| (field.name.clone(), value))
        })
        .collect();
    let mut optional = definition.fields.clone();
    optional.iter_mut().for_each(|field| field.required = false);
    check_inputs(&optional, &defaults).map_err(|errors| {
        let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
        FlowError::BadDefault(list.join("; "))
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use assent_types::FieldType;
    use serde_json::{Value, json};

    use super::*;

    fn record(hash: &str, handlers: &[&str]) -> (String, HashSet<Handler>) {
        let handlers = handlers.iter().map(|h| h.parse().unwrap()).collect();
        (hash.to_owned(), handlers)
    }

    fn field(name: &str, field_type: FieldType, default: Option<Value>) -> PromptField {
        PromptField {
            name: name.to_owned(),
            label: None,
            field_type,
            required: false,
            allowed_values: Vec::new(),
            visible: true,
            default,
            prefetch: false,
        }
    }

    fn definition() -> FlowDefinition {
        FlowDefinition {
            name: "prod-access".into(),
            label: None,
            environment: None,
            vars: BTreeMap::new(),
            fields: vec![field("reason", FieldType::String, None)],
            params: FlowParams::default(),
            plugin: "flow".into(),
            strategy: None,
        }
    }

    fn check(definition: &FlowDefinition) -> Result<(), FlowError> {
        let plugins = [
            record("flow", &["get_permissions", "on_request"]),
            record("legacy", &["get_approvers"]),
            record("hooks-only", &["on_approve"]),
            record("strategy", &["escalate", "deescalate"]),
        ];
        validate(definition, |hash| {
            plugins
                .iter()
                .find(|(plugin, _)| plugin == hash)
                .map(|(_, handlers)| handlers.clone())
        })
    }

    #[test]
    fn a_sound_flow_passes() {
        assert_eq!(check(&definition()), Ok(()));
        let legacy = FlowDefinition {
            plugin: "legacy".into(),
            strategy: Some("strategy".into()),
            ..definition()
        };
        assert_eq!(check(&legacy), Ok(()));
    }

    #[test]
    fn names_are_short_slugs() {
        for bad in [
            "",
            "has space",
            "ünïcode",
            "a/b",
            &"x".repeat(MAX_FLOW_NAME + 1),
        ] {
            let flow = FlowDefinition {
                name: bad.to_owned(),
                ..definition()
            };
            assert_eq!(check(&flow), Err(FlowError::BadName(bad.to_owned())));
        }
        let longest = FlowDefinition {
            name: "x".repeat(MAX_FLOW_NAME),
            ..definition()
        };
        assert_eq!(check(&longest), Ok(()));
    }

    #[test]
    fn plugins_must_be_uploaded_and_fit_their_role() {
        let missing = FlowDefinition {
            plugin: "nope".into(),
            ..definition()
        };
        assert_eq!(
            check(&missing),
            Err(FlowError::PluginMissing("nope".into()))
        );
        let hooks_only = FlowDefinition {
            plugin: "hooks-only".into(),
            ..definition()
        };
        assert_eq!(
            check(&hooks_only),
            Err(FlowError::NotAFlowPlugin("hooks-only".into()))
        );
        let no_strategy = FlowDefinition {
            strategy: Some("gone".into()),
            ..definition()
        };
        assert_eq!(
            check(&no_strategy),
            Err(FlowError::StrategyMissing("gone".into()))
        );
        let not_a_strategy = FlowDefinition {
            strategy: Some("flow".into()),
            ..definition()
        };
        assert_eq!(
            check(&not_a_strategy),
            Err(FlowError::NotAStrategy("flow".into()))
        );
    }

    #[test]
    fn fields_are_named_once_and_defaults_fit_them() {
        let twice = FlowDefinition {
            fields: vec![
                field("reason", FieldType::String, None),
                field("reason", FieldType::Int, None),
            ],
            ..definition()
        };
        assert_eq!(
            check(&twice),
            Err(FlowError::DuplicateField("reason".into()))
        );
        let bad_default = FlowDefinition {
            fields: vec![field(
                "duration",
                FieldType::Duration,
                Some(json!("forever")),
            )],
            ..definition()
        };
        let Err(FlowError::BadDefault(message)) = check(&bad_default) else {
            panic!("a default that is not a duration must be refused");
        };
        assert!(message.contains("duration"), "{message}");
        // A required field's default is checked as a value, not for being present.
        let required = FlowDefinition {
            fields: vec![PromptField {
                required: true,
                ..field("count", FieldType::Int, Some(json!(3)))
            }],
            ..definition()
        };
        assert_eq!(check(&required), Ok(()));
    }
}
