//! Builds an `impl.py` into a component with componentize-py.
//!
//! 1. `tools/check_impl.py` (with the project's Python) checks the file first, so a syntax
//!    error, an import the sandbox cannot satisfy, or a file without `get_permissions` comes
//!    back as `impl.py:3: …` rather than as a traceback from inside the build;
//! 2. an app module is written beside it that imports the file, binds it to the SDK's glue
//!    (`assent_guest`) and re-exports the contract's `Meta`, `Flow` and `Strategy`;
//! 3. componentize-py snapshots CPython after those imports into one component.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use std::process::Command;

use thiserror::Error;

/// Where the Python tooling is.
#[derive(Debug, Clone)]
pub struct PythonToolchain {
    /// The virtualenv `scripts/setup` creates, holding componentize-py.
    pub venv: PathBuf,
    /// `sdk-guest/python`: the `sym.sdk` package and the `assent_guest` glue.
    pub sdk: PathBuf,
    /// The WIT directory of the contract version plugins are built against.
    pub wit: PathBuf,
}

#[derive(Debug, Error)]
pub enum PythonBuildError {
    #[error("`{path}` is not a Python file (`.py`)")]
    NotPython { path: String },
    #[error("componentize-py is not installed at `{path}`; run `scripts/setup`")]
    NoToolchain { path: String },
    #[error("could not run `{program}`: {reason}")]
    Spawn { program: String, reason: String },
    /// The file has problems, one per line as `file:line: what`.
    #[error("{0}")]
    Invalid(String),
    #[error("componentize-py failed: {0}")]
    Componentize(String),
    #[error("could not write `{path}`: {reason}")]
    Write { path: String, reason: String },
    #[error(
        "two files of the plugin are called `{name}.py`; files built together need different names"
    )]
    SameName { name: String },
}

impl PythonToolchain {
    /// The toolchain of this checkout: `ASSENT_PYTHON_VENV` (default
    /// `~/.cache/assent/venv`), and the SDK and WIT of the workspace this binary was built in.
    pub fn from_workspace() -> PythonToolchain {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        // Without `..` components: componentize-py mishandles them in `-p` paths (a module
        // added to the SDK was not found through `runtime/plugin-build/../../`).
        let root = std::fs::canonicalize(&root).unwrap_or(root);
        let venv = std::env::var_os("ASSENT_PYTHON_VENV")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/assent/venv"))
            })
            .unwrap_or_else(|| PathBuf::from(".venv"));
        PythonToolchain {
            venv,
            sdk: root.join("sdk-guest/python"),
            wit: root.join("wit/0.3.0"),
        }
    }

    fn program(&self, name: &str) -> PathBuf {
        self.venv.join("bin").join(name)
    }
}

/// Builds `file` into `out`; returns the handlers the file defines.
pub fn build_python(
    file: &Path,
    out: &Path,
    toolchain: &PythonToolchain,
) -> Result<Vec<String>, PythonBuildError> {
    build_python_files(file, &[], out, toolchain)
}

/// Hashes the `.py` files under `dir` by their path relative to `root` and their content, so
/// the same sources hash alike in any checkout.
fn hash_tree(digest: &mut Sha256, root: &Path, dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            if path.file_name().is_some_and(|name| name != "__pycache__") {
                hash_tree(digest, root, &path);
            }
        } else if path.extension().is_some_and(|ext| ext == "py") {
            let relative = path.strip_prefix(root).unwrap_or(&path);
            digest.update(relative.to_string_lossy().as_bytes());
            digest.update(std::fs::read(&path).unwrap_or_default());
        }
    }
}

/// A key for the component `file` and `parts` build into: a digest of their contents and of
/// the whole SDK. componentize-py's snapshot of the initialised interpreter differs from build
/// to build, so a component built once for a key is reused rather than built again (the same
/// sources then keep the same plugin hash, and `assent plan` sees no change).
pub fn python_build_key(file: &Path, parts: &[PathBuf], toolchain: &PythonToolchain) -> String {
    let mut digest = Sha256::new();
    for path in std::iter::once(file).chain(parts.iter().map(PathBuf::as_path)) {
        digest.update(
            path.file_name()
                .map(|name| name.as_encoded_bytes())
                .unwrap_or_default(),
        );
        digest.update(std::fs::read(path).unwrap_or_default());
    }
    hash_tree(&mut digest, &toolchain.sdk, &toolchain.sdk);
    // The contract version the SDK builds against.
    digest.update(
        toolchain
            .wit
            .file_name()
            .map(|name| name.as_encoded_bytes())
            .unwrap_or_default(),
    );
    hex::encode(&digest.finalize()[..8])
}

/// The stem of a `.py` file, or why it is not one.
fn python_stem(file: &Path) -> Result<String, PythonBuildError> {
    match (file.extension(), file.file_stem()) {
        (Some(ext), Some(stem)) if ext == "py" => Ok(stem.to_string_lossy().into_owned()),
        _ => Err(PythonBuildError::NotPython {
            path: file.display().to_string(),
        }),
    }
}

fn directory_of(file: &Path) -> &Path {
    file.parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Builds `file`, with `parts` — more files of the same flow, such as Sym's `on_change` file
/// — into one plugin at `out`; returns the handlers they define together.
pub fn build_python_files(
    file: &Path,
    parts: &[PathBuf],
    out: &Path,
    toolchain: &PythonToolchain,
) -> Result<Vec<String>, PythonBuildError> {
    let stem = python_stem(file)?;
    let mut part_stems = Vec::with_capacity(parts.len());
    for part in parts {
        let part_stem = python_stem(part)?;
        if part_stem == stem || part_stems.contains(&part_stem) {
            return Err(PythonBuildError::SameName { name: part_stem });
        }
        part_stems.push(part_stem);
    }
    let componentize = toolchain.program("componentize-py");
    if !componentize.exists() {
        return Err(PythonBuildError::NoToolchain {
            path: componentize.display().to_string(),
        });
    }
    let handlers = check(file, parts, toolchain)?;

    let app_dir = tempfile::tempdir().map_err(|error| PythonBuildError::Write {
        path: "a temporary directory".to_owned(),
        reason: error.to_string(),
    })?;
    // The app module's name must differ from the world's (`plugin`) and the author's file,
    // and be an identifier whatever the file is called.
    let app = format!("assent_app_{}", identifier(&stem));
    let app_file = app_dir.path().join(format!("{app}.py"));
    // By `import_module`, not `import`: Sym's files are named `01_my_flow.py`, which an
    // import statement cannot name. Each name is written as a Python string literal.
    let literal = |name: &String| serde_json::to_string(name).unwrap_or_default();
    let imports: Vec<String> = part_stems
        .iter()
        .map(|part| format!("importlib.import_module({})", literal(part)))
        .collect();
    let source = format!(
        "import importlib\n_author = importlib.import_module({})\n_parts = [{}]\nimport assent_guest\nassent_guest.register(_author, *_parts)\nfrom assent_guest.exports import Meta, Flow, Strategy\n",
        literal(&stem),
        imports.join(", ")
    );
    std::fs::write(&app_file, source).map_err(|error| PythonBuildError::Write {
        path: app_file.display().to_string(),
        reason: error.to_string(),
    })?;
    let mut command = Command::new(&componentize);
    command
        .arg("-d")
        .arg(&toolchain.wit)
        .args(["-w", "plugin", "componentize"])
        .arg("-p")
        .arg(directory_of(file));
    for part in parts {
        command.arg("-p").arg(directory_of(part));
    }
    let output = command
        .arg("-p")
        .arg(app_dir.path())
        .arg("-p")
        .arg(&toolchain.sdk)
        .arg(&app)
        .arg("-o")
        .arg(out)
        .output()
        .map_err(|error| PythonBuildError::Spawn {
            program: componentize.display().to_string(),
            reason: error.to_string(),
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(PythonBuildError::Componentize(summarise(&stderr, &stem)));
    }
    Ok(handlers)
}

/// `name` with every character a Python identifier cannot hold replaced by `_`.
fn identifier(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Runs the checker; its output is the handler list, or the problems.
fn check(
    file: &Path,
    parts: &[PathBuf],
    toolchain: &PythonToolchain,
) -> Result<Vec<String>, PythonBuildError> {
    let python = toolchain.program("python");
    let output = Command::new(&python)
        .arg(toolchain.sdk.join("tools/check_impl.py"))
        .arg(file)
        .args(parts)
        .output()
        .map_err(|error| PythonBuildError::Spawn {
            program: python.display().to_string(),
            reason: error.to_string(),
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let problems = if stdout.is_empty() {
            stderr.trim().to_owned()
        } else {
            stdout
        };
        return Err(PythonBuildError::Invalid(problems));
    }
    Ok(stdout.split_whitespace().map(str::to_owned).collect())
}

/// The useful part of a build failure: `impl.py:LINE: Error: message` when the author's
/// code raised while it was imported.
fn summarise(stderr: &str, stem: &str) -> String {
    let head = stderr
        .split("\nCaused by:")
        .next()
        .unwrap_or(stderr)
        .split("Stack backtrace:")
        .next()
        .unwrap_or(stderr);
    let lines: Vec<&str> = head.lines().collect();
    let marker = format!("{stem}.py\", line ");
    let line_number = lines.iter().rev().find_map(|line| {
        let (_, rest) = line.split_once(&marker)?;
        rest.split(|c: char| !c.is_ascii_digit())
            .next()
            .map(str::to_owned)
    });
    let error = lines
        .iter()
        .rev()
        .map(|line| line.trim_end())
        .find(|line| {
            !line.is_empty()
                && !line.starts_with(' ')
                && !line.contains("Traceback (most recent call last)")
        })
        .unwrap_or("componentize-py printed nothing");
    match line_number {
        Some(number) => format!("{stem}.py:{number}: {error}"),
        None => error.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::summarise;

    #[test]
    fn a_traceback_is_summarised_to_the_authors_line() {
        let stderr = "Traceback (most recent call last):\n  File \"/v/bin/componentize-py\", line 8, in <module>\n    sys.exit(script())\nAssertionError: Traceback (most recent call last):\n  File \"/0/app.py\", line 1, in <module>\n  File \"/0/impl.py\", line 7, in <module>\n    raise ValueError('no')\nValueError: no\n\n\nCaused by:\n    ValueError: no\n\nStack backtrace:\n   0: anyhow\n";
        assert_eq!(summarise(stderr, "impl"), "impl.py:7: ValueError: no");
    }
}
