//! What each type of integration needs before it is stored, and what a secret's name may be.
//!
//! Checked here, without I/O, so `PUT /integrations/{name}` and configuration as code refuse
//! the same things with the same words; whether the referenced secrets exist is the runner's
//! to check (it reads the store) and reported with [`IntegrationError::MissingSecret`].

use assent_types::{IntegrationSpec, IntegrationType, SECRET_SETTING_SUFFIX};
use thiserror::Error;

use crate::flow::valid_name;

/// Why an integration or a secret was refused. Each says what to change.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum IntegrationError {
    #[error("`{0}` is not a usable name; use 1 to 63 letters, digits, `-` and `_`")]
    BadName(String),
    #[error("a `{kind}` integration needs its `external_id`: {what}")]
    MissingExternalId {
        kind: IntegrationType,
        what: &'static str,
    },
    #[error("a `{kind}` integration needs the setting `{setting}`: {what}")]
    MissingSetting {
        kind: IntegrationType,
        setting: &'static str,
        what: &'static str,
    },
    #[error("a `{kind}` integration has no setting `{setting}`; it takes {takes}")]
    UnknownSetting {
        kind: IntegrationType,
        setting: String,
        takes: String,
    },
    #[error(
        "setting `{setting}` is `{value}`, which is not a URL; give an `https://` address such as `https://api.example.com`"
    )]
    BadUrl { setting: String, value: String },
    #[error(
        "an `aws` integration needs an access key: `access_key_id` (or `access_key_id_secret`) and `secret_access_key_secret`; with `role_arn` as well, Assent assumes that role with the key"
    )]
    NoAwsCredentials,
    #[error(
        "setting `{setting}` names secret `{secret}`, which environment `{environment}` does not have; set it first with PUT /api/v1/environments/{environment}/secrets/{secret}"
    )]
    MissingSecret {
        setting: String,
        secret: String,
        environment: String,
    },
    #[error(
        "secret `{secret}` is used by {integrations}; point them at another secret or delete them first"
    )]
    SecretInUse {
        secret: String,
        integrations: String,
    },
    #[error("a secret's value may not be empty")]
    EmptySecret,
    #[error("a secret's value is {size} bytes, over the {MAX_SECRET_BYTES} a secret may hold")]
    SecretTooLarge { size: usize },
}

// A secret is a token, a key or a service account's JSON key file (about 2.3 KiB); 64 KiB
// holds any of them with room to spare, and bounds what one row keeps.
pub const MAX_SECRET_BYTES: usize = 64 << 10;

/// What a type of integration takes: its `external_id`, if it needs one, and its settings.
struct Shape {
    external_id: Option<&'static str>,
    required: &'static [(&'static str, &'static str)],
    optional: &'static [&'static str],
}

/// Settings every integration takes: `api_url` overrides the provider's API base.
const COMMON: &[&str] = &["api_url"];

fn shape(kind: IntegrationType) -> Shape {
    const TOKEN: (&str, &str) = (
        "api_token_secret",
        "the name of the secret holding its API token",
    );
    match kind {
        IntegrationType::Okta => Shape {
            external_id: Some("your Okta domain, e.g. `acme.okta.com`"),
            required: &[TOKEN],
            optional: &[],
        },
        IntegrationType::Pagerduty => Shape {
            external_id: None,
            required: &[TOKEN],
            optional: &[],
        },
        IntegrationType::Github => Shape {
            external_id: Some("the GitHub organisation, e.g. `acme`"),
            required: &[TOKEN],
            optional: &[],
        },
        IntegrationType::Google => Shape {
            external_id: Some("your Google Workspace domain, e.g. `acme.com`"),
            required: &[
                (
                    "credentials_secret",
                    "the name of the secret holding a service account's JSON key",
                ),
                (
                    "admin_email",
                    "the Workspace admin the service account acts as",
                ),
            ],
            optional: &[],
        },
        IntegrationType::Jira => Shape {
            external_id: Some("your Jira site, e.g. `https://acme.atlassian.net`"),
            required: &[TOKEN, ("email", "the account the API token belongs to")],
            optional: &[],
        },
        IntegrationType::Aws => Shape {
            external_id: None,
            required: &[("region", "the AWS region, e.g. `us-east-1`")],
            optional: &[
                "role_arn",
                "role_external_id",
                "access_key_id",
                "access_key_id_secret",
                "secret_access_key_secret",
                "session_token_secret",
                "sso_instance_arn",
                "identity_store_id",
            ],
        },
        IntegrationType::Knowbe4 => Shape {
            external_id: None,
            required: &[TOKEN],
            optional: &["region"],
        },
        IntegrationType::Onelogin => Shape {
            external_id: Some("your OneLogin domain, e.g. `acme.onelogin.com`"),
            required: &[
                ("client_id", "the API credential's client id"),
                (
                    "client_secret_secret",
                    "the name of the secret holding the API credential's client secret",
                ),
            ],
            optional: &[],
        },
        IntegrationType::Slack => Shape {
            external_id: Some("the Slack workspace's team id, e.g. `T0123ABCD`"),
            required: &[],
            optional: &[],
        },
        IntegrationType::Http => Shape {
            external_id: None,
            required: &[(
                "allowed_hosts",
                "the hosts plugins may call, comma-separated, e.g. `api.example.com`",
            )],
            optional: &[
                "auth_header",
                "auth_scheme",
                "auth_token_secret",
                "signing_secret",
            ],
        },
    }
}

/// Checks a name of an integration or a secret.
pub fn check_name(name: &str) -> Result<(), IntegrationError> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(IntegrationError::BadName(name.to_owned()))
    }
}

/// Checks a secret's value before it is sealed.
pub fn check_secret_value(value: &str) -> Result<(), IntegrationError> {
    if value.is_empty() {
        return Err(IntegrationError::EmptySecret);
    }
    if value.len() > MAX_SECRET_BYTES {
        return Err(IntegrationError::SecretTooLarge { size: value.len() });
    }
    Ok(())
}

/// Checks an integration's name, `external_id` and settings against its type.
pub fn validate(name: &str, spec: &IntegrationSpec) -> Result<(), IntegrationError> {
    check_name(name)?;
    let kind = spec.integration_type;
    let shape = shape(kind);
    if let Some(what) = shape.external_id
        && spec.external_id.trim().is_empty()
    {
        return Err(IntegrationError::MissingExternalId { kind, what });
    }
    for (setting, what) in shape.required {
        if spec
            .settings
            .get(*setting)
            .is_none_or(|value| value.trim().is_empty())
        {
            return Err(IntegrationError::MissingSetting {
                kind,
                setting,
                what,
            });
        }
    }
    let takes = |setting: &str| {
        COMMON.contains(&setting)
            || shape.optional.contains(&setting)
            || shape.required.iter().any(|(name, _)| *name == setting)
    };
    if let Some(unknown) = spec.settings.keys().find(|setting| !takes(setting)) {
        let mut known: Vec<&str> = shape.required.iter().map(|(name, _)| *name).collect();
        known.extend(shape.optional);
        known.extend(COMMON);
        return Err(IntegrationError::UnknownSetting {
            kind,
            setting: unknown.clone(),
            takes: known
                .iter()
                .map(|name| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    for (setting, secret) in spec.secret_references() {
        debug_assert!(setting.ends_with(SECRET_SETTING_SUFFIX));
        check_name(secret)?;
    }
    if let Some(url) = spec.settings.get("api_url")
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        return Err(IntegrationError::BadUrl {
            setting: "api_url".into(),
            value: url.clone(),
        });
    }
    if kind == IntegrationType::Aws
        && !((spec.settings.contains_key("access_key_id")
            || spec.settings.contains_key("access_key_id_secret"))
            && spec.settings.contains_key("secret_access_key_secret"))
    {
        return Err(IntegrationError::NoAwsCredentials);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn spec(
        kind: IntegrationType,
        external_id: &str,
        settings: &[(&str, &str)],
    ) -> IntegrationSpec {
        IntegrationSpec {
            integration_type: kind,
            external_id: external_id.into(),
            settings: settings
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    #[test]
    fn each_type_takes_what_it_needs() {
        let okta = spec(
            IntegrationType::Okta,
            "acme.okta.com",
            &[("api_token_secret", "okta-token")],
        );
        assert_eq!(validate("okta", &okta), Ok(()));
        assert_eq!(
            okta.secret_references().collect::<Vec<_>>(),
            vec![("api_token_secret", "okta-token")]
        );
        assert!(matches!(
            validate(
                "okta",
                &spec(IntegrationType::Okta, "", &[("api_token_secret", "t")])
            ),
            Err(IntegrationError::MissingExternalId { .. })
        ));
        assert!(matches!(
            validate("okta", &spec(IntegrationType::Okta, "acme.okta.com", &[])),
            Err(IntegrationError::MissingSetting {
                setting: "api_token_secret",
                ..
            })
        ));
        let typo = spec(
            IntegrationType::Okta,
            "acme.okta.com",
            &[("api_token_secret", "t"), ("api_tokn", "x")],
        );
        let Err(error) = validate("okta", &typo) else {
            panic!("a misspelt setting is refused");
        };
        assert!(error.to_string().contains("`api_tokn`"), "{error}");
        assert!(error.to_string().contains("`api_token_secret`"), "{error}");
        let slack = spec(IntegrationType::Slack, "T0123", &[]);
        assert_eq!(validate("slack", &slack), Ok(()));
    }

    #[test]
    fn aws_needs_a_role_or_keys_and_urls_are_urls() {
        let keys = spec(
            IntegrationType::Aws,
            "",
            &[
                ("region", "us-east-1"),
                ("access_key_id_secret", "a"),
                ("secret_access_key_secret", "b"),
            ],
        );
        assert_eq!(validate("aws", &keys), Ok(()));
        let neither = spec(IntegrationType::Aws, "", &[("region", "us-east-1")]);
        assert_eq!(
            validate("aws", &neither),
            Err(IntegrationError::NoAwsCredentials)
        );
        // A role is assumed with a key: alone it is not enough.
        let role_alone = spec(
            IntegrationType::Aws,
            "",
            &[
                ("region", "us-east-1"),
                ("role_arn", "arn:aws:iam::1:role/r"),
            ],
        );
        assert_eq!(
            validate("aws", &role_alone),
            Err(IntegrationError::NoAwsCredentials)
        );
        let url = spec(
            IntegrationType::Http,
            "",
            &[("allowed_hosts", "api.example.com"), ("api_url", "ftp://x")],
        );
        assert!(matches!(
            validate("web", &url),
            Err(IntegrationError::BadUrl { .. })
        ));
        assert!(matches!(
            validate("bad name", &neither),
            Err(IntegrationError::BadName(_))
        ));
        let secret_name = spec(
            IntegrationType::Pagerduty,
            "",
            &[("api_token_secret", "no spaces")],
        );
        assert!(matches!(
            validate("pd", &secret_name),
            Err(IntegrationError::BadName(_))
        ));
    }

    #[test]
    fn secret_values_are_bounded() {
        assert_eq!(check_secret_value(""), Err(IntegrationError::EmptySecret));
        assert_eq!(check_secret_value("t"), Ok(()));
        assert!(matches!(
            check_secret_value(&"x".repeat(MAX_SECRET_BYTES + 1)),
            Err(IntegrationError::SecretTooLarge { .. })
        ));
    }
}
