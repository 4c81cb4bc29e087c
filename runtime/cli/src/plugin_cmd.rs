//! `assent plugin build | inspect | call`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use assent_plugin_build::{BuildOptions, Progress, build_rust};
use assent_plugin_host::{HostConfig, Plugin, PluginHost};
use assent_types::{Event, Handler};
use clap::Subcommand;
use serde::Serialize;

#[derive(Subcommand)]
pub enum PluginCommand {
    /// Build a plugin into a WebAssembly component: a Rust crate, or a Python `impl.py`.
    Build {
        /// The plugin crate's directory (or its Cargo.toml), or a Python file.
        #[arg(default_value = ".")]
        path: PathBuf,
        /// Where to write the component; by default it stays where cargo put it.
        #[arg(short, long)]
        out: Option<PathBuf>,
        /// Python only: another file of the same flow, built into the same plugin — Sym's
        /// `on_change` file, whose `on_change_<field>` handlers join the impl's. Repeatable.
        #[arg(long = "with", value_name = "FILE")]
        with: Vec<PathBuf>,
    },
    /// Show what a component is: contract version, SDK, handlers, size and hash.
    Inspect {
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run one handler locally and print its result as JSON.
    Call {
        file: PathBuf,
        /// The handler, e.g. `get_permissions` or `on_approve`.
        handler: String,
        /// The event as JSON (see `examples/events/`); `-` reads standard input.
        #[arg(long)]
        event: PathBuf,
        /// Deadline for the call in milliseconds.
        #[arg(long, default_value_t = 1000)]
        deadline_ms: u64,
    },
}

pub async fn run(command: PluginCommand) -> anyhow::Result<()> {
    match command {
        PluginCommand::Build { path, out, with } => build(&path, out.as_deref(), &with).await,
        PluginCommand::Inspect { file, json } => inspect(&file, json).await,
        PluginCommand::Call {
            file,
            handler,
            event,
            deadline_ms,
        } => call(&file, &handler, &event, deadline_ms).await,
    }
}

async fn build(path: &Path, out: Option<&Path>, with: &[PathBuf]) -> anyhow::Result<()> {
    let built = build_plugin(path, with, out).await?;
    println!("{}", built.display());
    Ok(())
}

/// Builds the plugin at `path` (a Rust crate, or an impl.py with the Python files `with`);
/// returns where the component is.
pub(crate) async fn build_plugin(
    path: &Path,
    with: &[PathBuf],
    out: Option<&Path>,
) -> anyhow::Result<PathBuf> {
    if path.extension().is_some_and(|ext| ext == "py") {
        return build_python_plugin(path, with, out).await;
    }
    if !with.is_empty() {
        bail!("`--with` adds Python files to an impl.py; a Rust plugin is one crate");
    }
    eprintln!("building {}", path.display());
    let build_path = path.to_path_buf();
    let components = tokio::task::spawn_blocking(move || {
        build_rust(
            &build_path,
            &BuildOptions::default(),
            |progress| match progress {
                Progress::Compiled { name, count } => eprintln!("  [{count:>3}] compiled {name}"),
                Progress::Diagnostic { rendered } => eprint!("{rendered}"),
            },
        )
    })
    .await
    .context("the build was interrupted")?;
    let components = match components {
        Ok(components) => components,
        Err(assent_plugin_build::BuildError::Compile { stderr }) => {
            eprint!("{stderr}");
            bail!("the plugin did not compile (see above)");
        }
        Err(error) => return Err(error.into()),
    };
    let [component] = components.as_slice() else {
        bail!(
            "the build produced {} components; build one plugin crate at a time",
            components.len()
        );
    };
    let path = match out {
        Some(out) => {
            std::fs::copy(&component.path, out)
                .with_context(|| format!("could not write `{}`", out.display()))?;
            out.to_path_buf()
        }
        None => component.path.clone(),
    };
    let plugin = load(&path).await?;
    eprintln!(
        "built {} ({}, handlers: {})",
        path.display(),
        human_size(plugin.size()),
        handler_list(&plugin)
    );
    Ok(path)
}

/// `assent plugin build impl.py`: componentize-py with the Sym-compatible SDK.
async fn build_python_plugin(
    file: &Path,
    parts: &[PathBuf],
    out: Option<&Path>,
) -> anyhow::Result<PathBuf> {
    let out = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| file.with_extension("wasm"));
    eprintln!("building {} with componentize-py", file.display());
    let (source, target, parts) = (file.to_path_buf(), out.clone(), parts.to_vec());
    let started = std::time::Instant::now();
    let built = tokio::task::spawn_blocking(move || {
        assent_plugin_build::build_python_files(
            &source,
            &parts,
            &target,
            &assent_plugin_build::PythonToolchain::from_workspace(),
        )
    })
    .await
    .context("the build was interrupted")?;
    if let Err(error) = built {
        bail!("{error}");
    }
    let plugin = load(&out).await?;
    eprintln!(
        "built {} in {:.1} s ({}, handlers: {})",
        out.display(),
        started.elapsed().as_secs_f64(),
        human_size(plugin.size()),
        handler_list(&plugin)
    );
    Ok(out)
}

#[derive(Serialize)]
struct Inspection {
    file: String,
    world: String,
    contract_version: String,
    sdk: String,
    handlers: Vec<String>,
    size: usize,
    sha256: String,
}

async fn inspect(file: &Path, json: bool) -> anyhow::Result<()> {
    let plugin = load(file).await?;
    let inspection = Inspection {
        file: file.display().to_string(),
        world: format!("assent:flow/plugin@{}", plugin.contract_version()),
        contract_version: plugin.contract_version().to_owned(),
        sdk: plugin.sdk().to_owned(),
        handlers: plugin.handlers().iter().map(ToString::to_string).collect(),
        size: plugin.size(),
        sha256: plugin.hash().to_owned(),
    };
    let mut stdout = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut stdout, &inspection)?;
        writeln!(stdout)?;
    } else {
        writeln!(stdout, "file      {}", inspection.file)?;
        writeln!(stdout, "world     {}", inspection.world)?;
        writeln!(stdout, "sdk       {}", inspection.sdk)?;
        writeln!(stdout, "handlers  {}", inspection.handlers.join(", "))?;
        writeln!(stdout, "size      {}", human_size(inspection.size))?;
        writeln!(stdout, "sha256    {}", inspection.sha256)?;
    }
    Ok(())
}

async fn call(file: &Path, handler: &str, event: &Path, deadline_ms: u64) -> anyhow::Result<()> {
    let handler: Handler = handler.parse()?;
    let event = read_event(event)?;
    let plugin = load(file).await?;
    let mut limits = plugin.limits();
    limits.deadline = std::time::Duration::from_millis(deadline_ms);
    let plugin = plugin.with_limits(limits);
    if !plugin.implements(handler) {
        bail!(
            "`{}` does not implement `{handler}`; it implements: {}",
            file.display(),
            handler_list(&plugin)
        );
    }
    let mut session = plugin.session().await?;
    let result = session.call(handler, &event).await;
    for record in session.logs() {
        let fields: Vec<String> = record
            .fields
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        eprintln!(
            "[{:?}] {} {}",
            record.level,
            record.message,
            fields.join(" ")
        );
    }
    let (stdout, stderr) = session.output();
    if !stdout.is_empty() {
        eprintln!("[plugin stdout]\n{stdout}");
    }
    if !stderr.is_empty() {
        eprintln!("[plugin stderr]\n{stderr}");
    }
    let value = result?;
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(())
}

fn read_event(path: &Path) -> anyhow::Result<Event> {
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin())
            .context("could not read the event from standard input")?
    } else {
        std::fs::read_to_string(path)
            .with_context(|| format!("could not read the event file `{}`", path.display()))?
    };
    serde_json::from_str(&text)
        .with_context(|| format!("`{}` is not a valid event", path.display()))
}

async fn load(file: &Path) -> anyhow::Result<Plugin> {
    let bytes =
        std::fs::read(file).with_context(|| format!("could not read `{}`", file.display()))?;
    let host = PluginHost::new(HostConfig::default())?;
    let name = file
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.display().to_string());
    let plugin = host
        .load(bytes)
        .await
        .with_context(|| format!("`{}` is not a usable plugin", file.display()))?;
    Ok(plugin.named(name))
}

fn handler_list(plugin: &Plugin) -> String {
    plugin
        .handlers()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn human_size(bytes: usize) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}
