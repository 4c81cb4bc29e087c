//! `assent plan` and `assent apply`: configuration as code from an `assent.toml` — its
//! plugins built and uploaded, then its environments, flows and flows filter planned against
//! the server, or applied there at once.
//!
//! ```toml
//! [plugins]
//! approval = { path = "approval/impl.py" }
//! support = { path = "support/impl.py", with = ["support/on_change.py"] }
//!
//! [environments.main]
//! error_logger = "#assent-errors"
//!
//! [flows.prod-db]
//! label = "Production database"
//! plugin = "approval"            # a name under [plugins], or an uploaded plugin's hash
//! vars = { request_channel = "#access" }
//! fields = [{ name = "reason", type = "string", required = true }]
//!
//! [flows_filter]
//! plugin = "filter"
//! ```
//!
//! Paths are relative to the file. Everything but `[plugins]` is sent as it is to
//! `POST /api/v1/config/plan` or `PUT /api/v1/config`, which say what is wrong with it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;
use serde_json::Value;

use crate::plugin_cmd::build_plugin;

#[derive(clap::Args)]
pub struct ConfigArgs {
    /// The configuration file.
    #[arg(default_value = "assent.toml")]
    file: PathBuf,
    /// The Assent server (plain http; put TLS in front of it with a proxy that terminates it).
    #[arg(long, env = "ASSENT_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// An admin's API token.
    #[arg(long, env = "ASSENT_TOKEN", hide_env_values = true)]
    token: String,
}

#[derive(clap::Args)]
pub struct ImportArgs {
    /// The directory of the Sym Terraform configuration.
    dir: PathBuf,
    /// Where to write the configuration; by default `assent.toml` in that directory, so
    /// its paths to `impl.py` files hold.
    #[arg(short, long)]
    out: Option<PathBuf>,
}

/// `assent import-terraform DIR`: writes the configuration; the notes go to stderr.
pub fn import_terraform(args: &ImportArgs) -> anyhow::Result<()> {
    let imported = assent_terraform::import(&args.dir)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.dir.join("assent.toml"));
    std::fs::write(&out, imported.to_toml())
        .with_context(|| format!("could not write `{}`", out.display()))?;
    for note in &imported.notes {
        eprintln!("note: {note}");
    }
    println!("{}", out.display());
    Ok(())
}

/// Where a plugin of the file comes from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PluginSource {
    /// An impl.py, a Rust plugin crate's directory, or a built `.wasm` component.
    path: PathBuf,
    /// More Python files of the same flow (Sym's `on_change` file).
    #[serde(default)]
    with: Vec<PathBuf>,
}

/// Plans (`apply` false) or applies the file; prints what changes.
pub async fn run(args: ConfigArgs, apply: bool) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("could not read `{}`", args.file.display()))?;
    let mut table: toml::Table = toml::from_str(&text)
        .with_context(|| format!("`{}` is not valid TOML", args.file.display()))?;
    let sources: BTreeMap<String, PluginSource> = match table.remove("plugins") {
        Some(plugins) => plugins
            .try_into()
            .with_context(|| format!("`[plugins]` of `{}`", args.file.display()))?,
        None => BTreeMap::new(),
    };
    let base = args
        .file
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let client = Client {
        http: reqwest::Client::new(),
        server: args.server.trim_end_matches('/').to_owned(),
        token: args.token,
    };
    let mut hashes = BTreeMap::new();
    for (name, source) in &sources {
        let hash = client
            .upload(&plugin_bytes(base, source).await?)
            .await
            .with_context(|| format!("plugin `{name}`"))?;
        hashes.insert(name.clone(), hash);
    }
    let mut config = serde_json::to_value(&table).context("the configuration")?;
    name_plugins_by_hash(&mut config, &hashes);
    let plan = if apply {
        client
            .send(reqwest::Method::PUT, "/config", &config)
            .await?
    } else {
        client
            .send(reqwest::Method::POST, "/config/plan", &config)
            .await?
    };
    print!("{}", render(&plan, apply));
    Ok(())
}

/// The component of `source`, built first unless it is one already.
async fn plugin_bytes(base: &Path, source: &PluginSource) -> anyhow::Result<Vec<u8>> {
    let path = base.join(&source.path);
    let built = if path.extension().is_some_and(|ext| ext == "wasm") {
        if !source.with.is_empty() {
            bail!("`with` adds Python files to an impl.py, not to a built component");
        }
        path
    } else if path.extension().is_some_and(|ext| ext == "py") {
        let with: Vec<PathBuf> = source.with.iter().map(|part| base.join(part)).collect();
        python_component(&path, &with).await?
    } else {
        build_plugin(&path, &[], None).await?
    };
    std::fs::read(&built).with_context(|| format!("could not read `{}`", built.display()))
}

/// The component of an impl.py (with `with`), built once per version of its sources and
/// kept under `~/.cache/assent/builds`: componentize-py's output differs from build to build,
/// and the same sources must keep the same plugin hash for a plan to show no change.
async fn python_component(path: &Path, with: &[PathBuf]) -> anyhow::Result<PathBuf> {
    let toolchain = assent_plugin_build::PythonToolchain::from_workspace();
    let key = assent_plugin_build::python_build_key(path, with, &toolchain);
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    let dir = home.join(".cache/assent/builds");
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("could not create `{}`", dir.display()))?;
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    let out = dir.join(format!("{stem}-{key}.wasm"));
    if !out.exists() {
        // Built under another name and renamed, so a build cut short is never taken for one.
        let partial = dir.join(format!("{stem}-{key}.{}.partial.wasm", std::process::id()));
        build_plugin(path, with, Some(&partial)).await?;
        std::fs::rename(&partial, &out)
            .with_context(|| format!("could not write `{}`", out.display()))?;
    }
    Ok(out)
}

/// Replaces plugin names of the file's `[plugins]` by the uploaded plugins' hashes, where
/// flows and the flows filter name them.
fn name_plugins_by_hash(config: &mut Value, hashes: &BTreeMap<String, String>) {
    let named = |slot: Option<&mut Value>| {
        if let Some(value) = slot
            && let Some(hash) = value.as_str().and_then(|name| hashes.get(name))
        {
            *value = Value::from(hash.clone());
        }
    };
    if let Some(flows) = config.get_mut("flows").and_then(Value::as_object_mut) {
        for flow in flows.values_mut() {
            named(flow.get_mut("plugin"));
            // A strategy is a plugin's name, or a table whose `plugin` may name one.
            match flow.get_mut("strategy") {
                Some(Value::Object(strategy)) => named(strategy.get_mut("plugin")),
                other => named(other),
            }
        }
    }
    named(
        config
            .get_mut("flows_filter")
            .and_then(|filter| filter.get_mut("plugin")),
    );
}

/// The plan, one line per item: `+` created, `~` updated (with what), `=` unchanged.
fn render(plan: &Value, applied: bool) -> String {
    let mut out = String::new();
    let changes = plan["changes"].as_array().cloned().unwrap_or_default();
    let mut changing = 0;
    for change in &changes {
        let kind = change["kind"].as_str().unwrap_or_default();
        let name = change["name"].as_str().unwrap_or_default();
        // There is one flows filter; its name says nothing more.
        let subject = if kind == "flows_filter" {
            "flows filter".to_owned()
        } else {
            format!("{kind} {name}")
        };
        let parts: Vec<&str> = change["changed"]
            .as_array()
            .map(|parts| parts.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let line = match change["action"].as_str() {
            Some("create") => format!("+ {subject}"),
            Some("update") => format!("~ {subject}: {}", parts.join(", ")),
            _ => format!("= {subject}"),
        };
        changing += usize::from(!line.starts_with('='));
        out.push_str(&line);
        out.push('\n');
    }
    for kept in plan["kept"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  flow {} is not in the file; it is kept\n",
            kept.as_str().unwrap_or_default()
        ));
    }
    out.push_str(&match (changing, applied) {
        (0, _) => "No changes.\n".to_owned(),
        (n, true) => format!("Applied {n} change{}.\n", if n == 1 { "" } else { "s" }),
        (n, false) => format!(
            "{n} change{} to apply (`assent apply` makes them).\n",
            if n == 1 { "" } else { "s" }
        ),
    });
    out
}

struct Client {
    http: reqwest::Client,
    server: String,
    token: String,
}

impl Client {
    async fn upload(&self, bytes: &[u8]) -> anyhow::Result<String> {
        let request = self
            .http
            .post(format!("{}/api/v1/plugins", self.server))
            .header("content-type", "application/wasm")
            .body(bytes.to_vec());
        let answer = self.answer(request).await?;
        answer["hash"]
            .as_str()
            .map(str::to_owned)
            .context("the server did not say the plugin's hash")
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> anyhow::Result<Value> {
        let request = self
            .http
            .request(method, format!("{}/api/v1{path}", self.server))
            .json(body);
        self.answer(request).await
    }

    /// The JSON answer, or the server's error message.
    async fn answer(&self, request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("could not reach the server at {}", self.server))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let message = body["error"]["message"]
                .as_str()
                .map_or_else(|| status.to_string(), str::to_owned);
            bail!("the server refused it: {message}");
        }
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plugin_names_become_hashes_where_flows_and_the_filter_use_them() {
        let mut config = json!({
            "flows": { "a": { "plugin": "approval", "strategy": "grant" }, "b": { "plugin": "abc123" } },
            "flows_filter": { "plugin": "filter" },
        });
        let hashes = BTreeMap::from([
            ("approval".to_owned(), "h1".to_owned()),
            ("grant".to_owned(), "h2".to_owned()),
            ("filter".to_owned(), "h3".to_owned()),
        ]);
        name_plugins_by_hash(&mut config, &hashes);
        assert_eq!(
            config,
            json!({
                "flows": { "a": { "plugin": "h1", "strategy": "h2" }, "b": { "plugin": "abc123" } },
                "flows_filter": { "plugin": "h3" },
            })
        );
    }

    #[test]
    fn a_plan_reads_as_a_diff() {
        let plan = json!({
            "changes": [
                { "kind": "flow", "name": "prod-db", "action": "create", "changed": [] },
                { "kind": "flow", "name": "admin", "action": "update", "changed": ["vars", "fields"] },
                { "kind": "flows_filter", "name": "flows filter", "action": "unchanged", "changed": [] },
            ],
            "kept": ["legacy"],
        });
        assert_eq!(
            render(&plan, false),
            "+ flow prod-db\n~ flow admin: vars, fields\n= flows filter\n  flow legacy is not in the file; it is kept\n2 changes to apply (`assent apply` makes them).\n"
        );
    }
}
