//! `assent import-terraform`: the `sym_*` resources of a Sym Terraform configuration read
//! into an Assent configuration file (`assent.toml`, which `assent plan` and `assent apply`
//! take), with a note for everything that could not be carried over and why.
//!
//! Two phases: [`read`] parses and evaluates the HCL (variables' defaults, `locals`,
//! `file()`, `path.module`, references between resources); `map` turns Sym's resources into
//! Assent's configuration.

mod map;
pub use map::BUILT_IN_STRATEGIES;
mod read;

use std::path::Path;

use thiserror::Error;

/// Why a directory could not be imported at all. (What could not be carried over is a note
/// of the [`Import`], not an error.)
#[derive(Debug, Error)]
pub enum ImportError {
    #[error("could not read `{path}`: {reason}")]
    Read { path: String, reason: String },
    #[error("`{path}` is not valid HCL: {reason}")]
    Parse { path: String, reason: String },
    #[error("`{path}` holds no `.tf` files; give the directory of a Sym Terraform configuration")]
    NoTerraform { path: String },
}

/// An imported configuration.
#[derive(Debug, Clone)]
pub struct Import {
    pub config: toml::Table,
    /// What did not carry over, and why; one line each.
    pub notes: Vec<String>,
}

impl Import {
    /// The configuration file: the notes as comments, then the configuration.
    pub fn to_toml(&self) -> String {
        let mut out = String::from(
            "# Written by `assent import-terraform` from Sym's Terraform. Paths are relative to\n# this file; `assent plan` shows what `assent apply` would change.\n",
        );
        if !self.notes.is_empty() {
            out.push_str("#\n# Not carried over:\n");
            for note in &self.notes {
                out.push_str(&format!("# - {note}\n"));
            }
        }
        out.push('\n');
        out.push_str(&toml::to_string(&self.config).unwrap_or_default());
        out
    }
}

/// Imports the Terraform configuration in `dir`.
pub fn import(dir: &Path) -> Result<Import, ImportError> {
    let (config, notes) = map::map(read::read(dir)?);
    Ok(Import { config, notes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import_of(files: &[(&str, &str)]) -> Import {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        import(dir.path()).unwrap()
    }

    #[test]
    fn locals_variables_files_and_references_are_resolved() {
        let imported = import_of(&[(
            "main.tf",
            r##"
locals {
  channel = "#${local.env}-errors"
  env     = var.env
}
variable "env" { default = "prod" }
resource "sym_error_logger" "log" { destination = local.channel }
resource "sym_environment" "this" {
  name            = local.env
  error_logger_id = sym_error_logger.log.id
}
resource "sym_flow" "f" {
  name           = "approve-${local.env}"
  implementation = file("${path.module}/impl.py")
  environment_id = sym_environment.this.id
  vars           = { bucket = aws_s3_bucket.b.arn, team = "db" }
  params {
    prompt_field {
      name = "reason"
      type = "string"
    }
  }
}
resource "aws_s3_bucket" "b" { bucket = "x" }
"##,
        )]);
        let text = imported.to_toml();
        assert!(
            text.contains("[environments.prod]\nerror_logger = \"#prod-errors\""),
            "{text}"
        );
        assert!(text.contains("[flows.approve-prod]"), "{text}");
        assert!(text.contains("environment = \"prod\""), "{text}");
        assert!(
            text.contains("[plugins.approve-prod]\npath = \"impl.py\""),
            "{text}"
        );
        assert!(text.contains("team = \"db\""), "{text}");
        assert!(
            imported
                .notes
                .iter()
                .any(|note| note.starts_with("sym_flow.f: `vars` could not be evaluated")),
            "{:?}",
            imported.notes
        );
        assert!(
            imported
                .notes
                .iter()
                .any(|note| note.starts_with("1 resource of other providers")),
            "{:?}",
            imported.notes
        );
    }

    #[test]
    fn a_directory_without_terraform_or_with_bad_hcl_says_so() {
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            import(empty.path()),
            Err(ImportError::NoTerraform { .. })
        ));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.tf"), "resource \"sym_flow\" {").unwrap();
        let error = import(dir.path()).unwrap_err().to_string();
        assert!(error.contains("main.tf` is not valid HCL"), "{error}");
    }
}
