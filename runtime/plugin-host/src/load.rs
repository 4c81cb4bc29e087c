//! Loading a plugin: check the bytes, compile them (or reuse the cached artifact), check the
//! component against the contract, and ask it which handlers it implements.

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::artifacts::Artifacts;
use crate::contract::{self, ContractVersion};
use crate::error::LoadError;

const WASM_MAGIC: &[u8; 4] = b"\0asm";
/// Version and layer fields of a core module (`1`, layer 0) and of a component (`0xd`, layer 1).
const CORE_MODULE_VERSION: [u8; 4] = [0x01, 0x00, 0x00, 0x00];
const COMPONENT_VERSION: [u8; 4] = [0x0d, 0x00, 0x01, 0x00];

/// Imports the host provides. Everything else is refused at load time with its name.
const ALLOWED_IMPORT_PREFIXES: &[&str] = &[
    "wasi:cli/",
    "wasi:io/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:filesystem/",
    "wasi:sockets/",
    "assent:flow/log@",
    "assent:flow/users@",
    "assent:flow/integrations@",
    "assent:flow/types@",
];

/// The hex SHA-256 of a plugin's bytes: its identity everywhere (store, cache, audit).
pub fn content_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Cheap checks before any parsing: size and header.
pub(crate) fn check_bytes(bytes: &[u8], max_bytes: usize) -> Result<(), LoadError> {
    if bytes.is_empty() {
        return Err(LoadError::Empty);
    }
    if bytes.len() > max_bytes {
        return Err(LoadError::TooLarge {
            size: bytes.len(),
            limit: max_bytes,
        });
    }
    if bytes.len() < 8 || &bytes[..4] != WASM_MAGIC {
        return Err(LoadError::NotWasm);
    }
    match <[u8; 4]>::try_from(&bytes[4..8]) {
        Ok(CORE_MODULE_VERSION) => Err(LoadError::CoreModule),
        Ok(COMPONENT_VERSION) => Ok(()),
        _ => Err(LoadError::Invalid {
            reason: "unknown WebAssembly version in the header; build with a current toolchain"
                .into(),
        }),
    }
}

/// Compiles `bytes`, or loads the artifact a previous compile left on disk.
pub(crate) fn compile(
    engine: &Engine,
    bytes: &[u8],
    hash: &str,
    artifacts: Option<&Artifacts>,
) -> Result<Component, LoadError> {
    let Some(artifacts) = artifacts else {
        return compile_fresh(engine, bytes);
    };
    if let Some(component) = artifacts.read(engine, hash) {
        return Ok(component);
    }
    let component = compile_fresh(engine, bytes)?;
    artifacts.store(&component, hash)?;
    Ok(component)
}

fn compile_fresh(engine: &Engine, bytes: &[u8]) -> Result<Component, LoadError> {
    Component::new(engine, bytes).map_err(|error| LoadError::Invalid {
        reason: describe_compile_error(&error),
    })
}

/// wasmtime's error chain reads "failed to parse WebAssembly module: unexpected end-of-file"
/// or "section range … is out of bounds" for a cut-off upload; say what that usually means.
fn describe_compile_error(error: &wasmtime::Error) -> String {
    let chain = format!("{error:#}");
    if chain.contains("unexpected end") || chain.contains("out of bounds") {
        format!("{chain} (the file looks truncated; upload it again)")
    } else {
        chain
    }
}

/// Finds the contract version the component targets (refusing one this host does not run)
/// and refuses imports the host lacks.
pub(crate) fn check_contract(
    engine: &Engine,
    component: &Component,
) -> Result<ContractVersion, LoadError> {
    let component_type = component.component_type();

    for (import, _) in component_type.imports(engine) {
        if !ALLOWED_IMPORT_PREFIXES
            .iter()
            .any(|prefix| import.starts_with(prefix))
        {
            return Err(LoadError::ForbiddenImport {
                import: import.to_owned(),
                reason: "plugins get WASI 0.2 (sealed: no files, network or environment), `assent:flow/log`, `assent:flow/users` and `assent:flow/integrations`".into(),
            });
        }
    }

    let exports: Vec<&str> = component_type
        .exports(engine)
        .map(|(name, _)| name)
        .collect();
    let meta_prefix = format!("{}/meta@", contract::PACKAGE);
    let Some(meta) = exports.iter().find(|name| name.starts_with(&meta_prefix)) else {
        return Err(LoadError::NotAPlugin {
            expected: format!("{}/meta", contract::PACKAGE),
            found: if exports.is_empty() {
                "none".into()
            } else {
                exports.join(", ")
            },
        });
    };
    meta[meta_prefix.len()..].parse()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_checks_name_the_problem() {
        assert!(matches!(check_bytes(b"", 10), Err(LoadError::Empty)));
        assert!(matches!(
            check_bytes(&[0; 20], 10),
            Err(LoadError::TooLarge {
                size: 20,
                limit: 10
            })
        ));
        assert!(matches!(
            check_bytes(b"#!/bin/sh", 100),
            Err(LoadError::NotWasm)
        ));
        assert!(matches!(
            check_bytes(b"\0asm\x01\0\0\0", 100),
            Err(LoadError::CoreModule)
        ));
        assert!(check_bytes(b"\0asm\x0d\0\x01\0", 100).is_ok());
    }

    #[test]
    fn content_hash_is_sha256_hex() {
        assert_eq!(
            content_hash(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
