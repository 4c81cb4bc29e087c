//! The AWS SSO strategy (IAM Identity Center): the requester is assigned the target's
//! permission set in its account at escalation, and the assignment is deleted at
//! deescalation.

use assent_integrations::{CallRecord, Connection};
use assent_outbound::Outbound;
use assent_types::StrategyType;
use serde_json::{Value, json};

use crate::{Change, Grant, StrategyError, setting};

pub(crate) async fn run(
    outbound: &Outbound,
    connection: &Connection,
    change: Change,
    grant: Grant<'_>,
    records: &mut Vec<CallRecord>,
) -> Result<Value, StrategyError> {
    let permission_set = setting(grant, "permission_set_arn", StrategyType::AwsSso)?;
    let account = setting(grant, "account_id", StrategyType::AwsSso)?;
    let user = &grant.event.user;
    let mut args = json!({
        "permission_set_arn": permission_set,
        "account_id": account,
        "user": user.email,
    });
    // Someone whose Identity Center user id is known is not looked up by email.
    if let Some(id) = user.identity("aws_sso") {
        args["user_id"] = json!(id);
    }
    let operation = match change {
        Change::Grant => "create_account_assignment",
        Change::Revoke => "delete_account_assignment",
    };
    let answer = assent_integrations::call(outbound, connection, operation, &args, records).await?;
    Ok(json!({ "aws_sso": answer }))
}
