//! The demo organisation `assent serve` starts with: three users and the example flows, so a
//! newcomer has something to request straight away.

use std::collections::BTreeMap;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use assent_runner::{FlowDefinition, RuntimeError};
use assent_store::{FlowParams, NewUser};
use assent_types::{PromptField, Role, Strategy};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::Runner;

pub const DEMO_ORG: &str = "demo";

/// One example flow file: the body of `PUT /api/v1/flows/{name}`, with `plugin` and
/// `strategy` naming a plugin crate or `.wasm` file relative to the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExampleFlow {
    pub name: String,
    #[serde(default)]
    pub label: Option<String>,
    pub plugin: PathBuf,
    #[serde(default)]
    pub strategy: Option<PathBuf>,
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    #[serde(default)]
    pub fields: Vec<PromptField>,
    #[serde(default)]
    pub params: Option<FlowParams>,
}

#[derive(Debug, Error)]
pub enum ExampleError {
    #[error("cannot read `{path}`: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` is not an example flow: {source}")]
    Parse {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("example plugin `{path}` was refused: {reason}")]
    Plugin { path: String, reason: String },
    #[error("example flow `{name}` was refused: {source}; fix its file")]
    Flow {
        name: String,
        #[source]
        source: Box<RuntimeError>,
    },
    // Boxed, as in `Flow`: a runtime error is large, and start-up errors are rare.
    #[error(transparent)]
    Runtime(Box<RuntimeError>),
    #[error(transparent)]
    Store(#[from] assent_store::StoreError),
    #[error("cannot keep the demo tokens in `{path}`: {source}")]
    Tokens {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl From<RuntimeError> for ExampleError {
    fn from(error: RuntimeError) -> ExampleError {
        ExampleError::Runtime(Box::new(error))
    }
}

/// Reads every `*.json` in `dir`, with plugin paths made absolute.
pub fn read_examples(dir: &Path) -> Result<Vec<ExampleFlow>, ExampleError> {
    let read_error = |path: &Path| {
        let path = path.display().to_string();
        move |source| ExampleError::Read { path, source }
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(read_error(dir))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|file| {
            let text = std::fs::read_to_string(file).map_err(read_error(file))?;
            let mut flow: ExampleFlow =
                serde_json::from_str(&text).map_err(|source| ExampleError::Parse {
                    path: file.display().to_string(),
                    source,
                })?;
            flow.plugin = dir.join(&flow.plugin);
            flow.strategy = flow.strategy.map(|strategy| dir.join(strategy));
            Ok(flow)
        })
        .collect()
}

/// The demo users' API tokens, kept in a file because the server stores only their hashes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DemoTokens(pub BTreeMap<String, String>);

/// Creates the demo organisation (once) and stores each example flow whose definition changed.
///
/// `plugins` maps each example's plugin path to its component's bytes.
pub async fn provision(
    runner: &Runner,
    examples: &[ExampleFlow],
    plugins: &BTreeMap<PathBuf, Vec<u8>>,
    tokens_file: &Path,
) -> Result<DemoTokens, ExampleError> {
    let (org_id, tokens) = match runner.store().organization_by_slug(DEMO_ORG).await? {
        Some(org) => {
            let tokens = std::fs::read_to_string(tokens_file)
                .ok()
                .and_then(|text| serde_json::from_str(&text).ok())
                .unwrap_or_default();
            (org.id, tokens)
        }
        None => create_demo(runner, tokens_file).await?,
    };
    for example in examples {
        provision_flow(runner, &org_id, example, plugins).await?;
    }
    Ok(tokens)
}

/// The demo organisation, its admin and members, their tokens kept in `tokens_file`.
async fn create_demo(
    runner: &Runner,
    tokens_file: &Path,
) -> Result<(String, DemoTokens), ExampleError> {
    let tokens_error = |source| ExampleError::Tokens {
        path: tokens_file.display().to_string(),
        source,
    };
    let created = runner
        .create_organization(DEMO_ORG, "Demo", "admin@demo.test")
        .await?;
    let org_id = created.organization.id.clone();
    let mut tokens = BTreeMap::from([("admin".to_owned(), created.token)]);
    for name in ["ann", "bob"] {
        let member = NewUser {
            email: format!("{name}@demo.test"),
            username: None,
            first_name: None,
            last_name: None,
            role: Some(Role::Member),
            identities: None,
        };
        let user = runner.put_user(&org_id, None, member).await?;
        let token = runner.create_token(&org_id, None, &user, "demo").await?;
        tokens.insert(name.to_owned(), token);
    }
    let tokens = DemoTokens(tokens);
    if let Some(parent) = tokens_file.parent() {
        std::fs::create_dir_all(parent).map_err(tokens_error)?;
    }
    let text = serde_json::to_string_pretty(&tokens).unwrap_or_default();
    // The tokens act as the demo's people: readable by the server's user alone.
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(tokens_file)
        .map_err(tokens_error)?;
    std::io::Write::write_all(&mut file, text.as_bytes()).map_err(tokens_error)?;
    Ok((org_id, tokens))
}

/// Uploads the example's plugins and stores the flow if its definition changed, through
/// the same checks as `PUT /api/v1/flows/{name}`: a broken example stops the start.
async fn provision_flow(
    runner: &Runner,
    org_id: &str,
    example: &ExampleFlow,
    plugins: &BTreeMap<PathBuf, Vec<u8>>,
) -> Result<(), ExampleError> {
    let plugin = upload(runner, org_id, &example.plugin, plugins).await?;
    let strategy = match &example.strategy {
        Some(path) => Some(upload(runner, org_id, path, plugins).await?),
        None => None,
    };
    let definition = FlowDefinition {
        name: example.name.clone(),
        label: example.label.clone(),
        environment: None,
        vars: example.vars.clone(),
        fields: example.fields.clone(),
        params: example.params.clone().unwrap_or_default(),
        plugin,
        strategy: strategy.map(Strategy::plugin),
    };
    let stored = runner.store().flow(org_id, &example.name).await?;
    let unchanged = stored.is_some_and(|stored| {
        stored.label == definition.label.as_deref().unwrap_or(&definition.name)
            && stored.vars == definition.vars
            && stored.fields == definition.fields
            && stored.params == definition.params
            && stored.plugin_hash == definition.plugin
            && stored.strategy == definition.strategy
    });
    if !unchanged {
        runner
            .put_flow(org_id, None, definition)
            .await
            .map_err(|source| ExampleError::Flow {
                name: example.name.clone(),
                source: Box::new(source),
            })?;
    }
    Ok(())
}

async fn upload(
    runner: &Runner,
    org_id: &str,
    path: &Path,
    plugins: &BTreeMap<PathBuf, Vec<u8>>,
) -> Result<String, ExampleError> {
    let refused = |reason: String| ExampleError::Plugin {
        path: path.display().to_string(),
        reason,
    };
    let bytes = plugins
        .get(path)
        .ok_or_else(|| refused("it was not built".to_owned()))?;
    let installed = runner
        .install_plugin(org_id, None, bytes.as_slice().into())
        .await
        .map_err(|error| refused(error.to_string()))?;
    Ok(installed.record.hash)
}
