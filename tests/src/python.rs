//! Python plugins built from source once per source version: the component is kept under
//! the guest target directory, named by a hash of the `impl.py` and the whole Python SDK, so
//! a test run rebuilds only what changed (componentize-py takes ~10 s per plugin).

use std::path::{Path, PathBuf};

use assent_plugin_build::{PythonToolchain, build_python_files};
use sha2::{Digest, Sha256};

use crate::{guest_target_dir, workspace_root};

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
    let mut digest = Sha256::new();
    for path in std::iter::once(&file).chain(&parts) {
        digest.update(std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())));
    }
    hash_tree(&mut digest, &toolchain.sdk, &toolchain.sdk);
    let hash = hex::encode(&digest.finalize()[..8]);
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
