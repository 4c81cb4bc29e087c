//! A configured connection to another system (Sym's `sym_integration`), as it is stored and
//! as the API reads and writes it.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The systems Assent connects to. `http` is any other HTTPS API, reached through an allow-list
/// of hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntegrationType {
    Okta,
    Pagerduty,
    Github,
    Google,
    Jira,
    Aws,
    Knowbe4,
    Onelogin,
    Slack,
    Http,
}

impl IntegrationType {
    pub const ALL: &'static [IntegrationType] = &[
        IntegrationType::Okta,
        IntegrationType::Pagerduty,
        IntegrationType::Github,
        IntegrationType::Google,
        IntegrationType::Jira,
        IntegrationType::Aws,
        IntegrationType::Knowbe4,
        IntegrationType::Onelogin,
        IntegrationType::Slack,
        IntegrationType::Http,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IntegrationType::Okta => "okta",
            IntegrationType::Pagerduty => "pagerduty",
            IntegrationType::Github => "github",
            IntegrationType::Google => "google",
            IntegrationType::Jira => "jira",
            IntegrationType::Aws => "aws",
            IntegrationType::Knowbe4 => "knowbe4",
            IntegrationType::Onelogin => "onelogin",
            IntegrationType::Slack => "slack",
            IntegrationType::Http => "http",
        }
    }
}

impl fmt::Display for IntegrationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of [`IntegrationType::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not an integration type; use one of okta, pagerduty, github, google, jira, aws, knowbe4, onelogin, slack, http"
)]
pub struct UnknownIntegrationType(pub String);

impl FromStr for IntegrationType {
    type Err = UnknownIntegrationType;

    fn from_str(name: &str) -> Result<IntegrationType, UnknownIntegrationType> {
        IntegrationType::ALL
            .iter()
            .copied()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| UnknownIntegrationType(name.to_owned()))
    }
}

/// Settings whose name ends in this hold the name of one of the environment's secrets, as
/// Sym's `api_token_secret = sym_secret.okta.id` does: the integration uses the secret's
/// value, and nothing outside the host ever sees it.
pub const SECRET_SETTING_SUFFIX: &str = "_secret";

/// An integration as it is configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationSpec {
    #[serde(rename = "type")]
    pub integration_type: IntegrationType,
    /// The integration's id in its system: an Okta domain, a GitHub organisation, a Slack
    /// team id, an AWS account id.
    #[serde(default)]
    pub external_id: String,
    /// Its settings. `api_url` overrides the provider's API base (EU or GovCloud endpoints);
    /// a setting ending in `_secret` names a secret of the environment.
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
}

impl IntegrationSpec {
    /// The settings that reference secrets, and the secrets' names.
    pub fn secret_references(&self) -> impl Iterator<Item = (&str, &str)> {
        self.settings
            .iter()
            .filter(|(setting, _)| setting.ends_with(SECRET_SETTING_SUFFIX))
            .map(|(setting, secret)| (setting.as_str(), secret.as_str()))
    }
}
