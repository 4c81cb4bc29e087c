//! Reading a Terraform directory: every `.tf` file parsed with a real HCL parser, variables'
//! defaults and `locals` evaluated, and each resource's attributes evaluated with them.
//!
//! What only Terraform knows at apply time stands in as markers: `file("x.py")` evaluates to
//! [`FILE`]`x.py` (the importer wants the path, not the text), a resource's `.id` to
//! [`REFERENCE`]`type.name`. An expression that cannot be evaluated (a function Terraform
//! has and this reader does not, an attribute of another provider's resource) leaves its
//! attribute out, with a note saying which and why.

use std::collections::BTreeMap;
use std::path::Path;

use hcl::eval::{Context, Evaluate, FuncArgs, FuncDef, ParamType};
use hcl::{Body, Map, Value};

use crate::ImportError;

/// What `file(path)` evaluates to: this prefix and the path.
pub(crate) const FILE: &str = "\u{1}file:";
/// What a resource's `.id` evaluates to: this prefix and `type.name`.
pub(crate) const REFERENCE: &str = "\u{1}ref:";

/// A block's evaluated attributes and its nested blocks, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Node {
    pub attributes: BTreeMap<String, Value>,
    pub blocks: Vec<(String, Node)>,
}

impl Node {
    pub fn str(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).and_then(Value::as_str)
    }

    pub fn blocks<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> {
        self.blocks
            .iter()
            .filter(move |(kind, _)| kind == name)
            .map(|(_, node)| node)
    }
}

/// A `resource "type" "name"` block, evaluated.
#[derive(Debug, Clone)]
pub(crate) struct Resource {
    pub kind: String,
    pub name: String,
    pub node: Node,
}

/// Everything the directory declares, evaluated, and what could not be.
#[derive(Debug, Default)]
pub(crate) struct Read {
    pub resources: Vec<Resource>,
    pub notes: Vec<String>,
}

/// `type.name` when `value` is a reference marker.
pub(crate) fn reference(value: &str) -> Option<(&str, &str)> {
    value.strip_prefix(REFERENCE)?.split_once('.')
}

fn file(args: FuncArgs) -> Result<Value, String> {
    let path = args.first().and_then(Value::as_str).unwrap_or_default();
    Ok(Value::from(format!("{FILE}{path}")))
}

/// Reads every `.tf` file of `dir`.
pub(crate) fn read(dir: &Path) -> Result<Read, ImportError> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|error| ImportError::Read {
            path: dir.display().to_string(),
            reason: error.to_string(),
        })?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "tf"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(ImportError::NoTerraform {
            path: dir.display().to_string(),
        });
    }
    let mut bodies = Vec::with_capacity(files.len());
    for path in &files {
        let text = std::fs::read_to_string(path).map_err(|error| ImportError::Read {
            path: path.display().to_string(),
            reason: error.to_string(),
        })?;
        let body = hcl::parse(&text).map_err(|error| ImportError::Parse {
            path: path.display().to_string(),
            reason: error.to_string(),
        })?;
        bodies.push(body);
    }
    let mut read = Read::default();
    let mut ctx = Context::new();
    ctx.declare_func(
        "file",
        FuncDef::builder().param(ParamType::String).build(file),
    );
    ctx.declare_var("path", Value::from_iter([("module", "."), ("root", ".")]));
    ctx.declare_var("var", variables(&bodies, &mut read.notes));
    let (references, data) = references(&bodies);
    for (kind, names) in references {
        ctx.declare_var(kind, Value::Object(names));
    }
    ctx.declare_var("data", Value::Object(data));
    let locals = locals(&bodies, &ctx, &mut read.notes);
    ctx.declare_var("local", Value::Object(locals));
    for body in &bodies {
        for block in body.blocks() {
            match (block.identifier(), block.labels()) {
                ("resource", [kind, name]) => {
                    let (kind, name) = (kind.as_str().to_owned(), name.as_str().to_owned());
                    let node = evaluate(
                        block.body(),
                        &ctx,
                        &format!("{kind}.{name}"),
                        &mut read.notes,
                    );
                    read.resources.push(Resource { kind, name, node });
                }
                ("module", [name]) => read.notes.push(format!(
                    "module `{}` is not followed; import its directory on its own",
                    name.as_str()
                )),
                _ => {}
            }
        }
    }
    Ok(read)
}

/// `var.x` for every `variable "x"` with a default that evaluates.
fn variables(bodies: &[Body], notes: &mut Vec<String>) -> Value {
    let empty = Context::new();
    let mut vars = Map::new();
    for body in bodies {
        for block in body
            .blocks()
            .filter(|block| block.identifier() == "variable")
        {
            let [name] = block.labels() else { continue };
            let default = block
                .body()
                .attributes()
                .find(|attribute| attribute.key() == "default");
            match default.map(|attribute| attribute.expr().evaluate(&empty)) {
                Some(Ok(value)) => {
                    vars.insert(name.as_str().to_owned(), value);
                }
                Some(Err(error)) => notes.push(format!(
                    "variable `{}`: its default could not be evaluated ({error})",
                    name.as_str()
                )),
                None => notes.push(format!(
                    "variable `{}` has no default; give it one, or set it in the file this import writes",
                    name.as_str()
                )),
            }
        }
    }
    Value::Object(vars)
}

type Names = Map<String, Value>;

/// For every resource (and data source) type, its names, each with `id` (a marker) and
/// `name` (its `name` attribute when that is a literal, else its label).
fn references(bodies: &[Body]) -> (BTreeMap<String, Names>, Names) {
    let mut resources: BTreeMap<String, Names> = BTreeMap::new();
    let mut data: BTreeMap<String, Names> = BTreeMap::new();
    let empty = Context::new();
    for body in bodies {
        for block in body.blocks() {
            let (target, prefix) = match block.identifier() {
                "resource" => (&mut resources, ""),
                "data" => (&mut data, "data."),
                _ => continue,
            };
            let [kind, name] = block.labels() else {
                continue;
            };
            let literal_name = block
                .body()
                .attributes()
                .find(|attribute| attribute.key() == "name")
                .and_then(|attribute| attribute.expr().evaluate(&empty).ok())
                .and_then(|value| value.as_str().map(str::to_owned))
                .unwrap_or_else(|| name.as_str().to_owned());
            let id = format!("{REFERENCE}{prefix}{}.{}", kind.as_str(), name.as_str());
            target.entry(kind.as_str().to_owned()).or_default().insert(
                name.as_str().to_owned(),
                Value::from_iter([("id", Value::from(id)), ("name", Value::from(literal_name))]),
            );
        }
    }
    let data = data
        .into_iter()
        .map(|(kind, names)| (kind, Value::Object(names)))
        .collect();
    (resources, data)
}

/// `local.x`, evaluated in as many passes as locals refer to each other.
fn locals(bodies: &[Body], ctx: &Context, notes: &mut Vec<String>) -> Names {
    let mut pending: Vec<(String, hcl::Expression)> = bodies
        .iter()
        .flat_map(|body| body.blocks().filter(|block| block.identifier() == "locals"))
        .flat_map(|block| block.body().attributes())
        .map(|attribute| (attribute.key().to_owned(), attribute.expr().clone()))
        .collect();
    let mut done = Names::new();
    loop {
        let mut scope = ctx.clone();
        scope.declare_var("local", Value::Object(done.clone()));
        let before = pending.len();
        let mut failed = Vec::new();
        for (name, expr) in pending {
            match expr.evaluate(&scope) {
                Ok(value) => {
                    done.insert(name, value);
                }
                Err(error) => failed.push((name, expr, error)),
            }
        }
        if failed.is_empty() || failed.len() == before {
            for (name, _, error) in failed {
                notes.push(format!("local `{name}` could not be evaluated ({error})"));
            }
            return done;
        }
        pending = failed
            .into_iter()
            .map(|(name, expr, _)| (name, expr))
            .collect();
    }
}

/// A block body's attributes evaluated (a failing one left out, with a note) and its nested
/// blocks, recursively.
fn evaluate(body: &Body, ctx: &Context, at: &str, notes: &mut Vec<String>) -> Node {
    let mut node = Node::default();
    for attribute in body.attributes() {
        match attribute.expr().evaluate(ctx) {
            Ok(value) => {
                node.attributes.insert(attribute.key().to_owned(), value);
            }
            Err(error) => notes.push(format!(
                "{at}: `{}` could not be evaluated ({error}); it is left out",
                attribute.key()
            )),
        }
    }
    for block in body.blocks() {
        let inner = evaluate(
            block.body(),
            ctx,
            &format!("{at}.{}", block.identifier()),
            notes,
        );
        node.blocks.push((block.identifier().to_owned(), inner));
    }
    node
}
