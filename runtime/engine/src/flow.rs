//! A flow definition as an admin writes it, and the checks it must pass before it is stored.

use std::collections::{BTreeMap, HashSet};

use assent_types::{
    FieldType, FlowParams, Handler, HandlerKind, IntegrationType, PromptField, Strategy,
    StrategyType,
};
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
    /// How the flow grants access, if it does: a strategy plugin or a built-in strategy.
    pub strategy: Option<Strategy>,
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
    #[error(
        "the `{strategy_type}` strategy acts through integration `{integration}`, which environment `{environment}` does not have; add it with PUT /api/v1/environments/{environment}/integrations/{integration}"
    )]
    StrategyIntegrationMissing {
        strategy_type: StrategyType,
        integration: String,
        environment: String,
    },
    #[error(
        "integration `{integration}` is of type `{found}`, but the `{strategy_type}` strategy acts through integrations of type `{wanted}`; name one of those"
    )]
    StrategyIntegrationType {
        strategy_type: StrategyType,
        integration: String,
        found: IntegrationType,
        wanted: IntegrationType,
    },
    #[error(
        "Assent does not run the `{0}` strategy yet; grant access with a `custom` strategy plugin meanwhile"
    )]
    StrategyNotProvided(StrategyType),
    #[error(
        "the `{0}` strategy grants access to the flow's targets, and it has none; add `params.targets`, each with the settings the strategy needs"
    )]
    NoTargets(StrategyType),
    #[error(
        "target `{target}` needs the setting `{setting}` for the `{strategy_type}` strategy: {what}"
    )]
    TargetSetting {
        target: String,
        setting: &'static str,
        what: &'static str,
        strategy_type: StrategyType,
    },
    #[error(
        "the flow has {targets} targets but no `target` field to choose one; add a prompt field of type `target`"
    )]
    NoTargetField { targets: usize },
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
/// handlers of the plugin with a hash, if it is uploaded) and its environment's integrations
/// (`integration_of` gives the type of the integration with a name, if there is one): a
/// usable name, a flow plugin that can answer permissions, a strategy that can run, fields
/// named once, defaults the form accepts.
pub fn validate(
    definition: &FlowDefinition,
    handlers_of: impl Fn(&str) -> Option<HashSet<Handler>>,
    integration_of: impl Fn(&str) -> Option<IntegrationType>,
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
        check_strategy(definition, strategy, &handlers_of, &integration_of)?;
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

/// A strategy plugin must be uploaded and be one; a built-in strategy needs an integration
/// of its type and targets with the settings it reads, one of which the request chooses.
fn check_strategy(
    definition: &FlowDefinition,
    strategy: &Strategy,
    handlers_of: &impl Fn(&str) -> Option<HashSet<Handler>>,
    integration_of: &impl Fn(&str) -> Option<IntegrationType>,
) -> Result<(), FlowError> {
    if let Some(hash) = strategy.plugin_hash() {
        let handlers =
            handlers_of(hash).ok_or_else(|| FlowError::StrategyMissing(hash.to_owned()))?;
        if !handlers
            .iter()
            .any(|handler| handler.kind() == HandlerKind::Strategy)
        {
            return Err(FlowError::NotAStrategy(hash.to_owned()));
        }
    }
    let strategy_type = strategy.strategy_type();
    if let Some(integration) = strategy.integration() {
        let environment = || {
            definition
                .environment
                .as_deref()
                .unwrap_or("main")
                .to_owned()
        };
        let found =
            integration_of(integration).ok_or_else(|| FlowError::StrategyIntegrationMissing {
                strategy_type,
                integration: integration.to_owned(),
                environment: environment(),
            })?;
        if let Some(wanted) = strategy_type.integration_type()
            && wanted != found
        {
            return Err(FlowError::StrategyIntegrationType {
                strategy_type,
                integration: integration.to_owned(),
                found,
                wanted,
            });
        }
    }
    let needs = strategy_type.target_settings();
    if needs.is_empty() {
        return Ok(());
    }
    let targets = &definition.params.targets;
    if targets.is_empty() {
        return Err(FlowError::NoTargets(strategy_type));
    }
    for target in targets {
        // A bound setting is filled from the request's field of the same name.
        if let Some((setting, what)) = needs.iter().find(|(setting, _)| {
            target
                .settings
                .get(*setting)
                .is_none_or(|value| value.trim().is_empty())
                && !target.field_bindings.iter().any(|field| field == setting)
        }) {
            return Err(FlowError::TargetSetting {
                target: target.name.clone(),
                setting,
                what,
                strategy_type,
            });
        }
    }
    let has_target_field = definition
        .fields
        .iter()
        .any(|field| field.field_type == FieldType::Target);
    if targets.len() > 1 && !has_target_field {
        return Err(FlowError::NoTargetField {
            targets: targets.len(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use assent_types::Target;
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
        validate(
            definition,
            |hash| {
                plugins
                    .iter()
                    .find(|(plugin, _)| plugin == hash)
                    .map(|(_, handlers)| handlers.clone())
            },
            |name| match name {
                "okta" => Some(IntegrationType::Okta),
                "pagerduty" => Some(IntegrationType::Pagerduty),
                _ => None,
            },
        )
    }

    fn okta_flow(targets: Vec<Target>) -> FlowDefinition {
        FlowDefinition {
            strategy: Some(Strategy::BuiltIn {
                strategy_type: StrategyType::Okta,
                integration: "okta".into(),
            }),
            params: FlowParams {
                targets,
                ..FlowParams::default()
            },
            ..definition()
        }
    }

    fn group(name: &str, group_id: &str) -> Target {
        Target {
            name: name.into(),
            settings: [("group_id".to_owned(), group_id.to_owned())].into(),
            ..Target::default()
        }
    }

    #[test]
    fn a_sound_flow_passes() {
        assert_eq!(check(&definition()), Ok(()));
        let legacy = FlowDefinition {
            plugin: "legacy".into(),
            strategy: Some(Strategy::plugin("strategy")),
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
            strategy: Some(Strategy::plugin("gone")),
            ..definition()
        };
        assert_eq!(
            check(&no_strategy),
            Err(FlowError::StrategyMissing("gone".into()))
        );
        let not_a_strategy = FlowDefinition {
            strategy: Some(Strategy::plugin("flow")),
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

    #[test]
    fn a_built_in_strategy_needs_its_integration_and_targets_with_its_settings() {
        assert_eq!(check(&okta_flow(vec![group("admins", "00g1")])), Ok(()));
        let elsewhere = FlowDefinition {
            strategy: Some(Strategy::BuiltIn {
                strategy_type: StrategyType::Okta,
                integration: "okta-eu".into(),
            }),
            ..okta_flow(vec![group("admins", "00g1")])
        };
        let Err(FlowError::StrategyIntegrationMissing { environment, .. }) = check(&elsewhere)
        else {
            panic!("an integration the environment lacks must be refused");
        };
        assert_eq!(environment, "main");
        let wrong_type = FlowDefinition {
            strategy: Some(Strategy::BuiltIn {
                strategy_type: StrategyType::Okta,
                integration: "pagerduty".into(),
            }),
            ..okta_flow(vec![group("admins", "00g1")])
        };
        assert!(matches!(
            check(&wrong_type),
            Err(FlowError::StrategyIntegrationType {
                found: IntegrationType::Pagerduty,
                wanted: IntegrationType::Okta,
                ..
            })
        ));
        assert_eq!(
            check(&okta_flow(Vec::new())),
            Err(FlowError::NoTargets(StrategyType::Okta))
        );
        let Err(FlowError::TargetSetting {
            target, setting, ..
        }) = check(&okta_flow(vec![group("admins", " ")]))
        else {
            panic!("a target without a group id must be refused");
        };
        assert_eq!((target.as_str(), setting), ("admins", "group_id"));
        // A setting bound to a field comes with the request.
        let bound = Target {
            field_bindings: vec!["group_id".into()],
            ..group("any", "")
        };
        let mut with_field = okta_flow(vec![bound]);
        with_field
            .fields
            .push(field("group_id", FieldType::String, None));
        assert_eq!(check(&with_field), Ok(()));
    }

    #[test]
    fn several_targets_need_a_field_to_choose_one() {
        let two = okta_flow(vec![group("a", "1"), group("b", "2")]);
        assert_eq!(check(&two), Err(FlowError::NoTargetField { targets: 2 }));
        let mut chosen = two;
        chosen.fields.push(field("target", FieldType::Target, None));
        assert_eq!(check(&chosen), Ok(()));
    }
}
