//! Who a Slack user is in Assent, and who an Assent user is in Slack: matched once by email
//! (`users.info` one way, `users.lookupByEmail` the other) and remembered. People whose
//! email domain the workspace accepts become members on first use.

use assent_store::{NewUser, SlackWorkspace, Store};
use assent_types::{Identity, Role, User};

use super::Slack;

/// Why a Slack user could not act in Assent. Shown to them, so it says what to do.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PersonError {
    #[error(
        "Assent cannot see your email address in Slack, so it cannot tell who you are. Ask your Slack admin to let apps read emails (`users:read.email`)."
    )]
    NoEmail,
    #[error(
        "`{email}` is not an Assent user of this organisation, and its domain is not one the organisation accepts. Ask an Assent admin to add you."
    )]
    NotMember { email: String },
    #[error("Slack could not tell Assent who you are ({0}). Try again in a moment.")]
    Slack(#[from] assent_slack::SlackApiError),
    #[error("Assent could not look you up ({0}). Try again in a moment.")]
    Store(#[from] assent_store::StoreError),
}

fn domain_of(email: &str) -> Option<&str> {
    email.rsplit_once('@').map(|(_, domain)| domain)
}

pub(crate) async fn person(
    slack: &Slack,
    store: &Store,
    workspace: &SlackWorkspace,
    token: &str,
    slack_user_id: &str,
) -> Result<User, PersonError> {
    if let Some(user) = store
        .slack_user(&workspace.org_id, &workspace.team_id, slack_user_id)
        .await?
    {
        return Ok(user);
    }
    let profile = slack.api().user_profile(token, slack_user_id).await?;
    let email = profile
        .email
        .map(|email| email.trim().to_lowercase())
        .filter(|email| !email.is_empty())
        .ok_or(PersonError::NoEmail)?;
    let user = match store.user_by_email(&workspace.org_id, &email).await? {
        Some(user) => user,
        None => {
            let accepted = domain_of(&email).is_some_and(|domain| {
                workspace
                    .domains
                    .iter()
                    .any(|accepted| accepted.eq_ignore_ascii_case(domain))
            });
            if !accepted {
                return Err(PersonError::NotMember { email });
            }
            store
                .upsert_user(
                    &workspace.org_id,
                    &NewUser {
                        email: email.clone(),
                        username: Some(profile.username.clone()),
                        first_name: profile.real_name.clone(),
                        last_name: None,
                        role: Role::Member,
                        identities: vec![Identity {
                            service: "slack".into(),
                            external_id: slack_user_id.to_owned(),
                        }],
                    },
                )
                .await?
        }
    };
    Ok(store
        .link_slack_user(&workspace.org_id, &workspace.team_id, slack_user_id, &user)
        .await?)
}

/// The Slack id of `user` in the workspace: the one they have, else the one Slack has for
/// their email, remembered for next time. `None` when Slack knows no one by that email (or
/// cannot be asked now: the caller's message then goes without them).
pub(crate) async fn slack_id_of(
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
pub(crate) async fn slack_id_by_email(slack: &Slack, token: &str, email: &str) -> Option<String> {
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
    user.identities
        .iter()
        .find(|identity| identity.service == "slack")
        .map(|identity| identity.external_id.as_str())
}
