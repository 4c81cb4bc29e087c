//! GitHub repository access: the requester becomes a collaborator of the target's
//! `repo_name` (with its `permission`, `push` unless it says otherwise) at escalation and
//! stops being one at deescalation, through the `github` integration's organisation.

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
    let repo = setting(grant, "repo_name", StrategyType::Github)?;
    let login = github_login(grant)?;
    let (operation, args) = match change {
        Change::Grant => {
            let permission = grant
                .target
                .settings
                .get("permission")
                .map_or("push", String::as_str);
            (
                "add_collaborator",
                json!({ "repo": repo, "user": login, "permission": permission }),
            )
        }
        Change::Revoke => (
            "remove_collaborator",
            json!({ "repo": repo, "user": login }),
        ),
    };
    let answer = assent_integrations::call(outbound, connection, operation, &args, records).await?;
    Ok(json!({ "github": answer }))
}

/// Who the requester is on GitHub: their `github` identity. An email is no GitHub login, so
/// without one there is nobody to grant access to.
fn github_login<'a>(grant: Grant<'a>) -> Result<&'a str, StrategyError> {
    let user = &grant.event.user;
    user.identity("github")
        .ok_or_else(|| StrategyError::NoIdentity {
            user: user.email.clone(),
            service: "github",
        })
}
