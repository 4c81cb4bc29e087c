//! Sym's resources as an Assent configuration: `sym_environment` (with its `sym_error_logger`)
//! → `[environments]`, `sym_flow` (with its `sym_strategy`'s `sym_target`s) → `[flows]`,
//! `sym_flows_filter` → `[flows_filter]`, and each `implementation` / `on_change` file →
//! `[plugins]`. What has no counterpart yet gets a note saying so.

use std::collections::BTreeMap;

use hcl::Value;
use toml::{Table, Value as Toml};

use crate::read::{FILE, Node, Read, Resource, reference};

/// Sym resources Assent has nothing for yet, and why.
const NOT_CARRIED: &[(&str, &str)] = &[
    (
        "sym_integration",
        "integrations come with Assent's integrations",
    ),
    ("sym_secret", "secrets come with Assent's integrations"),
    (
        "sym_secrets",
        "secret sources come with Assent's integrations",
    ),
    (
        "sym_runtime",
        "Assent runs plugins itself; there is no runtime to configure",
    ),
    (
        "sym_log_destination",
        "log destinations are not in Assent yet",
    ),
];

/// Sym's `sym_strategy` types that Assent runs itself (`assent_strategies::provides`; a
/// test keeps the two in step).
pub const BUILT_IN_STRATEGIES: &[&str] = &["okta", "github", "aws_sso", "aws_iam", "aws_lambda"];

/// Flow params that carry over as they are.
const PARAMS: &[&str] = &[
    "allow_revoke",
    "schedule_deescalation",
    "additional_header_text",
    "include_decision_message",
    "allowed_sources",
    "allow_guest_interaction",
];

/// The prompt-field attributes that carry over as they are.
const FIELD_KEYS: &[&str] = &[
    "name",
    "label",
    "type",
    "required",
    "allowed_values",
    "default",
    "visible",
    "prefetch",
];

fn toml_of(value: &Value) -> Option<Toml> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(flag) => Toml::Boolean(*flag),
        Value::Number(number) => match number.as_i64() {
            Some(int) => Toml::Integer(int),
            None => Toml::Float(number.as_f64().unwrap_or_default()),
        },
        Value::String(text) => Toml::String(text.clone()),
        Value::Array(items) => Toml::Array(items.iter().filter_map(toml_of).collect()),
        Value::Object(map) => Toml::Table(
            map.iter()
                .filter_map(|(key, value)| Some((key.clone(), toml_of(value)?)))
                .collect(),
        ),
    })
}

/// A string the way Assent's vars and settings hold it.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The path in a `file(...)` marker, without a leading `./`.
fn file_path(value: &str) -> Option<String> {
    let path = value.strip_prefix(FILE)?;
    Some(path.trim_start_matches("./").to_owned())
}

struct Mapper<'a> {
    resources: &'a [Resource],
    notes: Vec<String>,
    /// Plugin name → (path, `with` files).
    plugins: BTreeMap<String, (String, Vec<String>)>,
}

impl<'a> Mapper<'a> {
    fn find(&self, kind: &str, name: &str) -> Option<&'a Resource> {
        self.resources
            .iter()
            .find(|resource| resource.kind == kind && resource.name == name)
    }

    fn referenced(&self, value: Option<&Value>, kind: &str) -> Option<&'a Resource> {
        let (found_kind, name) = reference(value?.as_str()?)?;
        (found_kind == kind)
            .then(|| self.find(kind, name))
            .flatten()
    }

    /// The name a Sym resource goes by: its `name` attribute, else its label.
    fn name_of(resource: &Resource) -> String {
        resource
            .node
            .str("name")
            .map_or_else(|| resource.name.clone(), str::to_owned)
    }

    /// A plugin entry for `path` (with `with`), named `wanted` unless that file already has
    /// one.
    fn plugin(&mut self, wanted: &str, path: String, with: Vec<String>) -> String {
        if let Some((name, _)) = self
            .plugins
            .iter()
            .find(|(_, existing)| existing.0 == path && existing.1 == with)
        {
            return name.clone();
        }
        let mut name = wanted.to_owned();
        let mut n = 2;
        while self.plugins.contains_key(&name) {
            name = format!("{wanted}-{n}");
            n += 1;
        }
        self.plugins.insert(name.clone(), (path, with));
        name
    }

    /// A var's value: a reference to a target becomes the target's id in Assent (its name).
    fn var(&mut self, at: &str, key: &str, value: &Value) -> Option<String> {
        let text = value.as_str();
        if let Some((kind, name)) = text.and_then(reference) {
            if kind == "sym_target"
                && let Some(target) = self.find(kind, name)
            {
                return Some(Self::name_of(target));
            }
            self.notes.push(format!(
                "{at}: var `{key}` names {kind}.{name}, which is not carried over; it is left out"
            ));
            return None;
        }
        Some(text_of(value))
    }

    fn environments(&mut self) -> Table {
        let mut environments = Table::new();
        for resource in self
            .resources
            .iter()
            .filter(|r| r.kind == "sym_environment")
        {
            let mut environment = Table::new();
            if let Some(logger) = self.referenced(
                resource.node.attributes.get("error_logger_id"),
                "sym_error_logger",
            ) && let Some(destination) = logger.node.str("destination")
            {
                environment.insert("error_logger".into(), Toml::String(destination.to_owned()));
            }
            environments.insert(Self::name_of(resource), Toml::Table(environment));
        }
        environments
    }

    fn target(&mut self, resource: &Resource) -> Toml {
        let at = format!("sym_target.{}", resource.name);
        let mut target = Table::new();
        let name = Self::name_of(resource);
        target.insert("id".into(), Toml::String(name.clone()));
        target.insert("name".into(), Toml::String(name));
        if let Some(label) = resource.node.str("label") {
            target.insert("label".into(), Toml::String(label.to_owned()));
        }
        if let Some(Value::Object(settings)) = resource.node.attributes.get("settings") {
            let mut table = Table::new();
            for (key, value) in settings {
                if let Some(text) = self.var(&at, key, value) {
                    table.insert(key.clone(), Toml::String(text));
                }
            }
            target.insert("settings".into(), Toml::Table(table));
        }
        if let Some(bindings) = resource
            .node
            .attributes
            .get("field_bindings")
            .and_then(toml_of)
        {
            target.insert("field_bindings".into(), bindings);
        }
        Toml::Table(target)
    }

    fn flow(&mut self, resource: &Resource) -> Option<(String, Table)> {
        let name = Self::name_of(resource);
        let at = format!("sym_flow.{}", resource.name);
        let node = &resource.node;
        let Some(implementation) = node.str("implementation").and_then(file_path) else {
            self.notes.push(format!(
                "{at}: its `implementation` is not a `file(...)`; the flow is not carried over"
            ));
            return None;
        };
        let mut flow = Table::new();
        if let Some(label) = node.str("label") {
            flow.insert("label".into(), Toml::String(label.to_owned()));
        }
        if let Some(environment) =
            self.referenced(node.attributes.get("environment_id"), "sym_environment")
        {
            flow.insert(
                "environment".into(),
                Toml::String(Self::name_of(environment)),
            );
        }
        if let Some(Value::Object(vars)) = node.attributes.get("vars") {
            let mut table = Table::new();
            for (key, value) in vars {
                if let Some(text) = self.var(&at, key, value) {
                    table.insert(key.clone(), Toml::String(text));
                }
            }
            flow.insert("vars".into(), Toml::Table(table));
        }
        let mut fields = Vec::new();
        let mut with = Vec::new();
        let mut params = Table::new();
        if let Some(block) = node.blocks("params").next() {
            for key in PARAMS {
                if let Some(value) = block.attributes.get(*key).and_then(toml_of) {
                    params.insert((*key).to_owned(), value);
                }
            }
            if let Some(strategy) =
                self.referenced(block.attributes.get("strategy_id"), "sym_strategy")
            {
                self.strategy(&at, strategy, &mut flow, &mut params);
            }
            for field in block.blocks("prompt_field") {
                fields.push(self.field(&at, field, &mut with));
            }
        }
        // Sym shows a strategy's targets as a choice in the form: a target field here.
        let has_target_field = fields
            .iter()
            .any(|field| field.get("type").and_then(Toml::as_str) == Some("target"));
        if params.contains_key("targets") && !has_target_field {
            let mut target = Table::new();
            target.insert("name".into(), Toml::String("target".into()));
            target.insert("type".into(), Toml::String("target".into()));
            target.insert("required".into(), Toml::Boolean(true));
            fields.insert(0, Toml::Table(target));
        }
        let plugin = self.plugin(&name, implementation, with);
        flow.insert("plugin".into(), Toml::String(plugin));
        flow.insert("fields".into(), Toml::Array(fields));
        if !params.is_empty() {
            flow.insert("params".into(), Toml::Table(params));
        }
        Some((name, flow))
    }

    /// The flow's strategy: its targets become the flow's; a custom one (an implementation
    /// file) becomes its strategy plugin.
    fn strategy(&mut self, at: &str, strategy: &Resource, flow: &mut Table, params: &mut Table) {
        let found: Vec<&Resource> = match strategy.node.attributes.get("targets") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|item| self.referenced(Some(item), "sym_target"))
                .collect(),
            _ => Vec::new(),
        };
        let targets: Vec<Toml> = found
            .into_iter()
            .map(|target| self.target(target))
            .collect();
        if !targets.is_empty() {
            params.insert("targets".into(), Toml::Array(targets));
        }
        let kind = strategy.node.str("type").unwrap_or("custom");
        if let Some(path) = strategy.node.str("implementation").and_then(file_path) {
            let name = format!("{}-strategy", Self::name_of(strategy));
            let plugin = self.plugin(&name, path, Vec::new());
            flow.insert("strategy".into(), Toml::String(plugin));
            return;
        }
        if !BUILT_IN_STRATEGIES.contains(&kind) {
            self.notes.push(format!(
                "{at}: its strategy `{}` (type `{kind}`) grants access through Sym's built-in `{kind}` strategy, which Assent does not run yet; the flow is carried over without a strategy",
                Self::name_of(strategy)
            ));
            return;
        }
        let Some(integration) = self.referenced(
            strategy.node.attributes.get("integration_id"),
            "sym_integration",
        ) else {
            self.notes.push(format!(
                "{at}: its `{kind}` strategy `{}` names no `sym_integration` in `integration_id`; the flow is carried over without a strategy",
                Self::name_of(strategy)
            ));
            return;
        };
        let integration_type = integration.node.str("type").unwrap_or_default();
        let integration = Self::name_of(integration);
        // Sym's AWS strategies act through a `permission_context` (a role Sym assumes);
        // Assent's `aws` integration takes the region, an access key and that role.
        if integration_type == "permission_context" {
            self.notes.push(format!(
                "{at}: Sym's `permission_context` integration `{integration}` is an `aws` integration in Assent, with `region`, `role_arn` and an access key allowed to assume it (see the README's \"AWS\")"
            ));
        }
        if let Some(instance) = strategy
            .node
            .attributes
            .get("settings")
            .and_then(|settings| match settings {
                Value::Object(settings) => settings.get("instance_arn"),
                _ => None,
            })
            .and_then(Value::as_str)
        {
            self.notes.push(format!(
                "{at}: its `{kind}` strategy's `instance_arn` (`{instance}`) is the `sso_instance_arn` setting of integration `{integration}` in Assent"
            ));
        }
        self.notes.push(format!(
            "{at}: its `{kind}` strategy acts through integration `{integration}`; create it before applying, with PUT /api/v1/environments/{{environment}}/integrations/{integration} (see the README's \"Connect integrations\")"
        ));
        let mut table = Table::new();
        table.insert("type".into(), Toml::String(kind.to_owned()));
        table.insert("integration".into(), Toml::String(integration));
        flow.insert("strategy".into(), Toml::Table(table));
    }

    fn field(&mut self, at: &str, field: &Node, with: &mut Vec<String>) -> Toml {
        let mut table = Table::new();
        for key in FIELD_KEYS {
            if let Some(value) = field.attributes.get(*key).and_then(toml_of) {
                table.insert((*key).to_owned(), value);
            }
        }
        if let Some(Toml::Array(values)) = table.get_mut("allowed_values") {
            for value in values.iter_mut() {
                if !value.is_str() {
                    *value = Toml::String(value.to_string());
                }
            }
        }
        // Sym's `target_id` field picks one of the strategy's targets: a target field here.
        if field.str("name") == Some("target_id") {
            table.insert("type".into(), Toml::String("target".into()));
        }
        if let Some(value) = field.attributes.get("on_change") {
            match value.as_str().and_then(file_path) {
                Some(path) if !with.contains(&path) => with.push(path),
                Some(_) => {}
                None => self.notes.push(format!(
                    "{at}: the `on_change` of field `{}` is not a `file(...)`; it is left out",
                    field.str("name").unwrap_or_default()
                )),
            }
        }
        Toml::Table(table)
    }

    fn flows_filter(&mut self, resource: &Resource) -> Option<Table> {
        let path = resource.node.str("implementation").and_then(file_path)?;
        let mut filter = Table::new();
        let plugin = self.plugin("flows-filter", path, Vec::new());
        filter.insert("plugin".into(), Toml::String(plugin));
        if let Some(Value::Object(vars)) = resource.node.attributes.get("vars") {
            let at = format!("sym_flows_filter.{}", resource.name);
            let mut table = Table::new();
            for (key, value) in vars {
                if let Some(text) = self.var(&at, key, value) {
                    table.insert(key.clone(), Toml::String(text));
                }
            }
            filter.insert("vars".into(), Toml::Table(table));
        }
        if resource.node.attributes.contains_key("integrations") {
            self.notes.push(format!(
                "sym_flows_filter.{}: its `integrations` come with Assent's integrations; they are left out",
                resource.name
            ));
        }
        Some(filter)
    }
}

/// The configuration `read` describes, and the notes on what did not carry over.
pub(crate) fn map(read: Read) -> (Table, Vec<String>) {
    let mut mapper = Mapper {
        resources: &read.resources,
        notes: read.notes.clone(),
        plugins: BTreeMap::new(),
    };
    let environments = mapper.environments();
    let mut flows = Table::new();
    for resource in read.resources.iter().filter(|r| r.kind == "sym_flow") {
        if let Some((name, flow)) = mapper.flow(resource) {
            flows.insert(name, Toml::Table(flow));
        }
    }
    let filter = read
        .resources
        .iter()
        .find(|r| r.kind == "sym_flows_filter")
        .and_then(|resource| mapper.flows_filter(resource));
    let mut others = 0;
    for resource in &read.resources {
        match NOT_CARRIED.iter().find(|(kind, _)| *kind == resource.kind) {
            Some((kind, why)) => mapper
                .notes
                .push(format!("{kind}.{}: not carried over; {why}", resource.name)),
            None if !resource.kind.starts_with("sym_") => others += 1,
            None => {}
        }
    }
    if others > 0 {
        let plural = if others == 1 { "" } else { "s" };
        mapper.notes.push(format!(
            "{others} resource{plural} of other providers (AWS, …): Terraform's to keep, not part of Assent's configuration"
        ));
    }
    let mut config = Table::new();
    let plugins: Table = mapper
        .plugins
        .iter()
        .map(|(name, (path, with))| {
            let mut plugin = Table::new();
            plugin.insert("path".into(), Toml::String(path.clone()));
            if !with.is_empty() {
                let with = with.iter().cloned().map(Toml::String).collect();
                plugin.insert("with".into(), Toml::Array(with));
            }
            (name.clone(), Toml::Table(plugin))
        })
        .collect();
    config.insert("plugins".into(), Toml::Table(plugins));
    if !environments.is_empty() {
        config.insert("environments".into(), Toml::Table(environments));
    }
    config.insert("flows".into(), Toml::Table(flows));
    if let Some(filter) = filter {
        config.insert("flows_filter".into(), Toml::Table(filter));
    }
    (config, mapper.notes)
}
