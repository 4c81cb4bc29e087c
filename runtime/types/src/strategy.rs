//! How a flow grants and takes back access (Sym's `sym_strategy`): an uploaded plugin's
//! `escalate`/`deescalate`, or one of the host's own strategies acting through an
//! integration of the flow's environment.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::IntegrationType;

/// The kinds of strategy, by Sym's `sym_strategy` types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StrategyType {
    /// An uploaded strategy plugin.
    Custom,
    /// Okta group membership.
    Okta,
    /// A GitHub repository collaborator with a permission.
    Github,
    /// An AWS IAM Identity Center permission set or group assignment.
    AwsSso,
    /// AWS IAM group membership.
    AwsIam,
    /// The customer's own AWS Lambda function, invoked with the run.
    AwsLambda,
    /// Google Workspace group membership.
    GoogleGroup,
    /// A webhook: the run POSTed, HMAC-signed, to the customer's endpoint.
    Http,
}

impl StrategyType {
    pub const ALL: &'static [StrategyType] = &[
        StrategyType::Custom,
        StrategyType::Okta,
        StrategyType::Github,
        StrategyType::AwsSso,
        StrategyType::AwsIam,
        StrategyType::AwsLambda,
        StrategyType::GoogleGroup,
        StrategyType::Http,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StrategyType::Custom => "custom",
            StrategyType::Okta => "okta",
            StrategyType::Github => "github",
            StrategyType::AwsSso => "aws_sso",
            StrategyType::AwsIam => "aws_iam",
            StrategyType::AwsLambda => "aws_lambda",
            StrategyType::GoogleGroup => "google_group",
            StrategyType::Http => "http",
        }
    }

    /// The type of integration a built-in strategy acts through; `None` for `custom`, which
    /// may name any integration (or none).
    pub fn integration_type(self) -> Option<IntegrationType> {
        match self {
            StrategyType::Custom => None,
            StrategyType::Okta => Some(IntegrationType::Okta),
            StrategyType::Github => Some(IntegrationType::Github),
            StrategyType::AwsSso | StrategyType::AwsIam | StrategyType::AwsLambda => {
                Some(IntegrationType::Aws)
            }
            StrategyType::GoogleGroup => Some(IntegrationType::Google),
            StrategyType::Http => Some(IntegrationType::Http),
        }
    }

    /// The settings each of the strategy's targets must have, with what they hold.
    pub fn target_settings(self) -> &'static [(&'static str, &'static str)] {
        match self {
            StrategyType::Custom => &[],
            StrategyType::AwsLambda => &[(
                "arn",
                "the Lambda function's ARN, e.g. `arn:aws:lambda:us-east-1:123456789012:function:grant`",
            )],
            StrategyType::Okta => &[("group_id", "the Okta group's id, e.g. `00g1a2b3c4`")],
            StrategyType::Github => &[("repo_name", "the repository's name, e.g. `api`")],
            StrategyType::AwsSso => &[
                (
                    "permission_set_arn",
                    "the permission set's ARN, e.g. `arn:aws:sso:::permissionSet/ssoins-1/ps-1`",
                ),
                ("account_id", "the AWS account's 12-digit id"),
            ],
            StrategyType::AwsIam => &[("iam_group", "the IAM group's name")],
            StrategyType::GoogleGroup => &[(
                "group_email",
                "the group's address, e.g. `db-admins@acme.com`",
            )],
            StrategyType::Http => &[(
                "url",
                "the `https://` address the grant is POSTed to, on the integration's allowed hosts",
            )],
        }
    }
}

impl fmt::Display for StrategyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A flow's strategy.
///
/// In JSON: `{"type": "okta", "integration": "okta"}`, or `{"type": "custom", "plugin":
/// "<hash>"}` with an optional `integration` (Sym's `AccessStrategy.integration`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StrategyJson", into = "StrategyJson")]
pub enum Strategy {
    /// An uploaded plugin grants and takes back access.
    Plugin {
        hash: String,
        integration: Option<String>,
    },
    /// The host grants and takes back access through `integration`.
    BuiltIn {
        strategy_type: StrategyType,
        integration: String,
    },
}

impl Strategy {
    /// A custom strategy plugin with no integration: what a flow's bare `strategy` hash means.
    pub fn plugin(hash: impl Into<String>) -> Strategy {
        Strategy::Plugin {
            hash: hash.into(),
            integration: None,
        }
    }

    pub fn strategy_type(&self) -> StrategyType {
        match self {
            Strategy::Plugin { .. } => StrategyType::Custom,
            Strategy::BuiltIn { strategy_type, .. } => *strategy_type,
        }
    }

    /// The hash of the strategy's plugin, if it is one.
    pub fn plugin_hash(&self) -> Option<&str> {
        match self {
            Strategy::Plugin { hash, .. } => Some(hash),
            Strategy::BuiltIn { .. } => None,
        }
    }

    /// The integration it acts through, if it names one.
    pub fn integration(&self) -> Option<&str> {
        match self {
            Strategy::Plugin { integration, .. } => integration.as_deref(),
            Strategy::BuiltIn { integration, .. } => Some(integration),
        }
    }
}

/// A strategy as JSON spells it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StrategyJson {
    #[serde(rename = "type")]
    strategy_type: StrategyType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    plugin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    integration: Option<String>,
}

impl TryFrom<StrategyJson> for Strategy {
    type Error = String;

    fn try_from(json: StrategyJson) -> Result<Strategy, String> {
        match (json.strategy_type, json.plugin, json.integration) {
            (StrategyType::Custom, Some(hash), integration) => {
                Ok(Strategy::Plugin { hash, integration })
            }
            (StrategyType::Custom, None, _) => Err(
                "a `custom` strategy needs `plugin`, the hash of its uploaded strategy plugin"
                    .to_owned(),
            ),
            (strategy_type, Some(_), _) => Err(format!(
                "strategy type `{strategy_type}` is run by Assent and takes no `plugin`; use type `custom` for a strategy plugin"
            )),
            (strategy_type, None, Some(integration)) => Ok(Strategy::BuiltIn {
                strategy_type,
                integration,
            }),
            (strategy_type, None, None) => Err(format!(
                "strategy type `{strategy_type}` needs `integration`: the name of the environment's integration (of type `{}`) it acts through",
                strategy_type
                    .integration_type()
                    .map_or("any", IntegrationType::as_str)
            )),
        }
    }
}

impl From<Strategy> for StrategyJson {
    fn from(strategy: Strategy) -> StrategyJson {
        match strategy {
            Strategy::Plugin { hash, integration } => StrategyJson {
                strategy_type: StrategyType::Custom,
                plugin: Some(hash),
                integration,
            },
            Strategy::BuiltIn {
                strategy_type,
                integration,
            } => StrategyJson {
                strategy_type,
                plugin: None,
                integration: Some(integration),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strategies_read_and_write_as_sym_spells_them() {
        let okta: Strategy =
            serde_json::from_value(json!({ "type": "okta", "integration": "okta-prod" })).unwrap();
        assert_eq!(
            okta,
            Strategy::BuiltIn {
                strategy_type: StrategyType::Okta,
                integration: "okta-prod".into()
            }
        );
        assert_eq!(
            serde_json::to_value(&okta).unwrap(),
            json!({ "type": "okta", "integration": "okta-prod" })
        );
        let custom: Strategy =
            serde_json::from_value(json!({ "type": "custom", "plugin": "abc" })).unwrap();
        assert_eq!(custom, Strategy::plugin("abc"));
        assert_eq!(custom.plugin_hash(), Some("abc"));
    }

    #[test]
    fn a_strategy_missing_its_part_says_which() {
        let error = |value| {
            serde_json::from_value::<Strategy>(value)
                .unwrap_err()
                .to_string()
        };
        assert!(error(json!({ "type": "okta" })).contains("needs `integration`"));
        assert!(error(json!({ "type": "custom" })).contains("needs `plugin`"));
        assert!(
            error(json!({ "type": "okta", "plugin": "x", "integration": "o" }))
                .contains("takes no `plugin`")
        );
    }
}
