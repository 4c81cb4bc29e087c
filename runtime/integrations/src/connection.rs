//! One configured integration with the values of the secrets it references.

use std::collections::BTreeMap;

use assent_secrets::SecretValue;
use assent_types::IntegrationSpec;

use crate::failure::Failure;

/// An integration, ready to call.
#[derive(Debug, Clone)]
pub struct Connection {
    pub name: String,
    pub spec: IntegrationSpec,
    /// The values of the secrets its `_secret` settings name, by setting.
    pub secrets: BTreeMap<String, SecretValue>,
}

impl Connection {
    /// The value of the secret that `setting` names.
    pub(crate) fn secret(&self, setting: &str) -> Result<&SecretValue, Failure> {
        self.secrets
            .get(setting)
            .ok_or_else(|| Failure::MissingSecret {
                integration: self.name.clone(),
                setting: setting.to_owned(),
            })
    }

    pub(crate) fn setting(&self, name: &str) -> Option<&str> {
        self.spec
            .settings
            .get(name)
            .map(String::as_str)
            .filter(|value| !value.trim().is_empty())
    }

    /// The API base: the `api_url` setting, or the provider's own.
    pub(crate) fn base_url(&self, default: impl FnOnce(&str) -> String) -> String {
        let base = match self.setting("api_url") {
            Some(url) => url.to_owned(),
            None => default(self.spec.external_id.trim()),
        };
        base.trim_end_matches('/').to_owned()
    }
}
