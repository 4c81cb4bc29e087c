//! Who an Assent user is in Slack: the id they have, else the one Slack has for their email
//! (`users.lookupByEmail`), remembered for next time.

use assent_store::{SlackWorkspace, Store};
use assent_types::User;

use crate::slack::Slack;

/// The Slack id of `user` in the workspace: the one they have, else the one Slack has for
/// their email, remembered for next time. `None` when Slack knows no one by that email (or
/// cannot be asked now: the caller's message then goes without them).
pub(super) async fn slack_id_of(
    slack: &Slack,
    store: &Store,
    workspace: &SlackWorkspace,
    token: &str,
    user: &User,
) -> Option<String> {
    if let Some(id) = slack_id(user) {
        return Some(id.to_owned());
    }
    // The run holds the user as they were when they asked; they may have been matched since.
    let stored = if user.id.is_empty() {
        None
    } else {
        store.user(&workspace.org_id, &user.id).await.ok().flatten()
    };
    if let Some(id) = stored.as_ref().and_then(slack_id) {
        return Some(id.to_owned());
    }
    let email = stored
        .as_ref()
        .map_or(user.email.as_str(), |u| u.email.as_str());
    let found = slack_id_by_email(slack, token, email).await?;
    if let Some(stored) = &stored
        && let Err(error) = store
            .link_slack_user(&workspace.org_id, &workspace.team_id, &found, stored)
            .await
    {
        tracing::warn!(user = %stored.id, %error, "could not remember a Slack user");
    }
    Some(found)
}

/// The Slack id of whoever has `email` in the workspace, if anyone.
pub(super) async fn slack_id_by_email(slack: &Slack, token: &str, email: &str) -> Option<String> {
    if !email.contains('@') {
        return None;
    }
    match slack.api().user_by_email(token, email).await {
        Ok(found) => found.map(|profile| profile.id),
        Err(error) => {
            tracing::warn!(%email, %error, "could not look up a Slack user by email");
            None
        }
    }
}

/// The user's Slack id, if they have one.
pub(crate) fn slack_id(user: &User) -> Option<&str> {
    user.identity("slack")
}
