//! Test support shared by every suite: guest plugins built from source once per run.
//!
//! Each test process asks for plugins by package name; the first request builds every
//! guest crate of the workspace in one cargo invocation (a no-op when they are fresh), under
//! a file lock so parallel test processes wait for one build instead of racing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use assent_plugin_build::{BuildOptions, Progress, build_rust};

/// Directories holding guest plugin crates, relative to the workspace root.
const GUEST_DIRS: &[&str] = &["examples/rust", "tests/plugins"];

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// Where guest builds go: beside the host's target directory, so the two never contend for
/// cargo's build lock (tests run while the outer cargo may still hold it).
pub fn guest_target_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("ASSENT_GUEST_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    // The test binary lives at `<target>/<profile>/deps/<name>`.
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(|| workspace_root().join("target"))
        .join("guests")
}

/// Every guest package in the workspace.
pub fn guest_packages() -> Vec<String> {
    let root = workspace_root();
    let mut packages = Vec::new();
    for dir in GUEST_DIRS {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let manifest = entry.path().join("Cargo.toml");
            if let Some(name) = std::fs::read_to_string(&manifest)
                .ok()
                .and_then(|text| package_name(&text))
            {
                packages.push(name);
            }
        }
    }
    packages.sort();
    packages
}

fn package_name(manifest: &str) -> Option<String> {
    manifest.lines().find_map(|line| {
        let value = line.trim().strip_prefix("name")?.trim().strip_prefix('=')?;
        Some(value.trim().trim_matches('"').to_owned())
    })
}

fn built() -> &'static BTreeMap<String, PathBuf> {
    static BUILT: OnceLock<BTreeMap<String, PathBuf>> = OnceLock::new();
    BUILT.get_or_init(|| {
        let target_dir = guest_target_dir();
        if let Err(error) = std::fs::create_dir_all(&target_dir) {
            panic!("cannot create {}: {error}", target_dir.display());
        }
        let lock = std::fs::File::create(target_dir.join(".assent-build-lock"))
            .unwrap_or_else(|error| panic!("cannot create the build lock: {error}"));
        lock.lock()
            .unwrap_or_else(|error| panic!("cannot take the build lock: {error}"));
        let options = BuildOptions {
            packages: guest_packages(),
            target_dir: Some(target_dir),
        };
        let components = build_rust(&workspace_root(), &options, |progress| {
            if let Progress::Diagnostic { rendered } = progress {
                eprintln!("{rendered}");
            }
        })
        .unwrap_or_else(|error| panic!("building the guest plugins failed: {error:?}"));
        components
            .into_iter()
            .map(|component| (component.package, component.path))
            .collect()
    })
}

/// The path of a guest plugin's component, built from source.
pub fn plugin_path(package: &str) -> PathBuf {
    match built().get(package) {
        Some(path) => path.clone(),
        None => panic!(
            "no guest plugin `{package}`; built: {:?}",
            built().keys().collect::<Vec<_>>()
        ),
    }
}

/// The bytes of a guest plugin's component, built from source.
pub fn plugin_bytes(package: &str) -> Vec<u8> {
    let path = plugin_path(package);
    std::fs::read(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// The same component with a custom section naming `label` appended: another content hash
/// (so another plugin to every cache) that behaves the same, without another build.
pub fn plugin_variant(bytes: &[u8], label: &str) -> Vec<u8> {
    fn leb128(mut value: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let name = b"assent-test-variant";
    let mut payload = Vec::new();
    leb128(name.len(), &mut payload);
    payload.extend_from_slice(name);
    payload.extend_from_slice(label.as_bytes());
    let mut variant = bytes.to_vec();
    variant.push(0); // a custom section
    leb128(payload.len(), &mut variant);
    variant.extend(payload);
    variant
}

pub mod aws;
pub mod bench;

mod databases;
pub use databases::{TestDatabase, postgres_database, sqlite_database, test_databases};

mod http;
pub use http::Api;

mod python;
pub use python::{python_plugin_bytes, python_plugin_bytes_with};

pub mod providers;
pub mod slack;
