//! Builds plugin source into a WebAssembly component.
//!
//! A Rust plugin is a `cdylib` crate depending on `assent-sdk`; it is compiled for the
//! `wasm32-wasip2` target, whose linker emits a component directly, with a size-tuned release
//! profile. Progress is reported as cargo compiles each crate. A Python plugin is one
//! `impl.py` written against `sym.sdk`; see [`python`].

pub mod python;

pub use python::{
    PythonBuildError, PythonToolchain, build_python, build_python_files, python_build_key,
};

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;
use thiserror::Error;

/// The target plugins are compiled for: WASI 0.2, whose linker emits components.
pub const GUEST_TARGET: &str = "wasm32-wasip2";

/// Size-tuned release settings for guests, passed on the command line so they apply to any
/// plugin crate without touching its manifest. A plugin's size is load and compile time.
const GUEST_PROFILE: &[&str] = &[
    "profile.release.opt-level=\"s\"",
    "profile.release.lto=true",
    "profile.release.codegen-units=1",
    "profile.release.strip=true",
    "profile.release.panic=\"abort\"",
];

#[derive(Debug, Error)]
pub enum BuildError {
    #[error("`{path}` has no Cargo.toml; point at a plugin crate's directory or its Cargo.toml")]
    NotACrate { path: String },
    #[error("could not run `{program}`: {reason}; is the Rust toolchain installed?")]
    Spawn { program: String, reason: String },
    #[error(
        "the `{GUEST_TARGET}` target is not installed and `rustup target add {GUEST_TARGET}` failed: {reason}"
    )]
    TargetMissing { reason: String },
    #[error("the plugin did not compile (see the errors above)")]
    Compile { stderr: String },
    #[error(
        "cargo finished but produced no component; is the crate a `cdylib` (`[lib] crate-type = [\"cdylib\"]`)?"
    )]
    NoComponent,
}

/// What a build reports as it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// A crate finished compiling; `count` crates so far.
    Compiled { name: String, count: usize },
    /// A warning or error, rendered as rustc prints it.
    Diagnostic { rendered: String },
}

#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Packages to build when the manifest is a workspace; empty builds the manifest's own.
    pub packages: Vec<String>,
    /// Cargo's target directory; `None` uses cargo's default (or `CARGO_TARGET_DIR`).
    pub target_dir: Option<PathBuf>,
}

/// A component cargo produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltComponent {
    /// The package name, e.g. `approval-only`.
    pub package: String,
    pub path: PathBuf,
}

/// Builds the Rust plugin crate at `path` (a directory or a `Cargo.toml`).
pub fn build_rust(
    path: &Path,
    options: &BuildOptions,
    mut progress: impl FnMut(Progress),
) -> Result<Vec<BuiltComponent>, BuildError> {
    let manifest = if path.is_dir() {
        path.join("Cargo.toml")
    } else {
        path.to_path_buf()
    };
    if !manifest.is_file() {
        return Err(BuildError::NotACrate {
            path: path.display().to_string(),
        });
    }
    ensure_guest_target()?;

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = guest_build(&cargo, &manifest, options);
    let mut child = command.spawn().map_err(|error| BuildError::Spawn {
        program: cargo.clone(),
        reason: error.to_string(),
    })?;
    let stderr_reader = child.stderr.take().map(|stderr| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut text);
            text
        })
    });

    let components = match child.stdout.take() {
        Some(stdout) => read_cargo_messages(stdout, &mut progress),
        None => Vec::new(),
    };

    let status = child.wait().map_err(|error| BuildError::Spawn {
        program: cargo,
        reason: error.to_string(),
    })?;
    let stderr = stderr_reader
        .and_then(|reader| reader.join().ok())
        .unwrap_or_default();
    if !status.success() {
        return Err(BuildError::Compile { stderr });
    }
    if components.is_empty() {
        return Err(BuildError::NoComponent);
    }
    Ok(components)
}

/// `cargo build` of the guest crate at `manifest` for the guest target.
fn guest_build(cargo: &str, manifest: &Path, options: &BuildOptions) -> Command {
    let mut command = Command::new(cargo);
    command
        .arg("build")
        .arg("--quiet")
        .arg("--release")
        .args(["--target", GUEST_TARGET])
        .args(["--message-format", "json-render-diagnostics"])
        .arg("--manifest-path")
        .arg(manifest);
    for setting in GUEST_PROFILE {
        command.args(["--config", setting]);
    }
    for package in &options.packages {
        command.args(["--package", package]);
    }
    if let Some(target_dir) = &options.target_dir {
        command.arg("--target-dir").arg(target_dir);
    }
    // Flags meant for the host build (e.g. from a surrounding `cargo test`) must not leak
    // into the guest build.
    command
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Reads cargo's JSON messages: reports progress, and collects the components built.
fn read_cargo_messages(
    stdout: std::process::ChildStdout,
    progress: &mut impl FnMut(Progress),
) -> Vec<BuiltComponent> {
    let mut components = Vec::new();
    let mut count = 0;
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        let Ok(message) = serde_json::from_str::<CargoMessage>(&line) else {
            continue;
        };
        match message {
            CargoMessage::CompilerArtifact {
                target, filenames, ..
            } => {
                count += 1;
                progress(Progress::Compiled {
                    name: target.name.clone(),
                    count,
                });
                if target.kind.iter().any(|kind| kind == "cdylib") {
                    components.extend(
                        filenames
                            .into_iter()
                            .filter(|file| file.extension().is_some_and(|ext| ext == "wasm"))
                            .map(|path| BuiltComponent {
                                package: target.name.replace('_', "-"),
                                path,
                            }),
                    );
                }
            }
            CargoMessage::CompilerMessage { message } => {
                if let Some(rendered) = message.rendered {
                    progress(Progress::Diagnostic { rendered });
                }
            }
            CargoMessage::Other => {}
        }
    }
    components
}

/// Installs the guest target through rustup when it is missing, so a fresh machine with
/// only Rust can build plugins.
fn ensure_guest_target() -> Result<(), BuildError> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let installed = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", GUEST_TARGET])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()))
        .is_some_and(|libdir| libdir.is_dir());
    if installed {
        return Ok(());
    }
    let output = Command::new("rustup")
        .args(["target", "add", GUEST_TARGET])
        .output()
        .map_err(|error| BuildError::TargetMissing {
            reason: error.to_string(),
        })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(BuildError::TargetMissing {
            reason: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}

#[derive(Deserialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
enum CargoMessage {
    CompilerArtifact {
        target: ArtifactTarget,
        filenames: Vec<PathBuf>,
    },
    CompilerMessage {
        message: RenderedMessage,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct ArtifactTarget {
    name: String,
    kind: Vec<String>,
}

#[derive(Deserialize)]
struct RenderedMessage {
    rendered: Option<String>,
}
