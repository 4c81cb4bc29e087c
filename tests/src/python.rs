//! Python plugins built from source once per source version: the component is kept under
//! the guest target directory, named by a hash of the `impl.py` and the whole Python SDK, so
//! a test run rebuilds only what changed (componentize-py takes ~10 s per plugin).

use std::path::PathBuf;

use assent_plugin_build::{PythonToolchain, build_python_files, python_build_key};

use crate::{guest_target_dir, workspace_root};

/// The component of the `impl.py` at `source` (relative to the workspace), built if needed.
pub fn python_plugin_bytes(source: &str) -> Vec<u8> {
    python_plugin_bytes_with(source, &[])
}

/// The component of `source` built together with `parts` (more files of the same flow, such
/// as Sym's `on_change` file; paths relative to the workspace), built if needed.
pub fn python_plugin_bytes_with(source: &str, parts: &[&str]) -> Vec<u8> {
    let root = workspace_root();
    let file = root.join(source);
    let parts: Vec<PathBuf> = parts.iter().map(|part| root.join(part)).collect();
    let toolchain = PythonToolchain::from_workspace();
    assert!(file.exists(), "{} does not exist", file.display());
    let hash = python_build_key(&file, &parts, &toolchain);
    let dir = guest_target_dir().join("python");
    std::fs::create_dir_all(&dir).unwrap();
    let name = source.replace(['/', '.'], "_");
    let out = dir.join(format!("{name}-{hash}.wasm"));
    if !out.exists() {
        // Built under a temporary name and renamed, so parallel tests never read half a file.
        let partial = dir.join(format!("{name}-{hash}.{}.partial.wasm", std::process::id()));
        build_python_files(&file, &parts, &partial, &toolchain)
            .unwrap_or_else(|error| panic!("building {source} failed: {error}"));
        std::fs::rename(&partial, &out).unwrap();
    }
    std::fs::read(&out).unwrap()
}
