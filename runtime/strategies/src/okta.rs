//! Okta group membership: the requester joins the target's `group_id` at escalation and
//! leaves it at deescalation (Okta's Groups API through the `okta` integration).

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
    let group_id = setting(grant, "group_id", StrategyType::Okta)?;
    let operation = match change {
        Change::Grant => "add_user_to_group",
        Change::Revoke => "remove_user_from_group",
    };
    let args = json!({ "user": okta_login(grant), "group_id": group_id });
    let answer = assent_integrations::call(outbound, connection, operation, &args, records).await?;
    Ok(json!({
        "okta": {
            "user_id": answer["user_id"],
            "group_id": group_id,
            "member": change == Change::Grant,
        }
    }))
}

/// Who the requester is in Okta: their `okta` identity when they have one, else their email,
/// which is their Okta login by default.
fn okta_login<'a>(grant: Grant<'a>) -> &'a str {
    let user = &grant.event.user;
    user.identities
        .iter()
        .find(|identity| identity.service == "okta" && !identity.external_id.is_empty())
        .map_or(user.email.as_str(), |identity| {
            identity.external_id.as_str()
        })
}
