//! The AWS IAM strategy: the requester's IAM user joins the target's `iam_group` at
//! escalation and leaves it at deescalation. The IAM user is the requester's `aws_iam`
//! identity, else their email.

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
    let group = setting(grant, "iam_group", StrategyType::AwsIam)?;
    let user = &grant.event.user;
    let iam_user = user.identity("aws_iam").unwrap_or(user.email.as_str());
    let operation = match change {
        Change::Grant => "add_user_to_group",
        Change::Revoke => "remove_user_from_group",
    };
    let args = json!({ "group": group, "user": iam_user });
    let answer = assent_integrations::call(outbound, connection, operation, &args, records).await?;
    Ok(json!({ "aws_iam": answer }))
}
