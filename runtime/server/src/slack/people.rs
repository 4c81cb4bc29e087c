//! Who a Slack user is in Assent: remembered, else Slack's `users.info` gives their email and
//! the runner admits them (the user with that email, or a new member when the workspace
//! accepts the email's domain).

use assent_runner::{Admission, RuntimeError, SlackProfile};
use assent_store::SlackWorkspace;
use assent_types::User;

use super::state::SlackState;

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
    Runtime(#[from] RuntimeError),
}

impl From<assent_store::StoreError> for PersonError {
    fn from(error: assent_store::StoreError) -> PersonError {
        PersonError::Runtime(error.into())
    }
}

impl SlackState {
    /// The Assent user behind `slack_user_id` of `workspace`.
    pub(super) async fn person(
        &self,
        workspace: &SlackWorkspace,
        token: &str,
        slack_user_id: &str,
    ) -> Result<User, PersonError> {
        let store = self.runner.store();
        if let Some(user) = store
            .slack_user(&workspace.org_id, &workspace.team_id, slack_user_id)
            .await?
        {
            return Ok(user);
        }
        let profile = self.slack.api().user_profile(token, slack_user_id).await?;
        let email = profile
            .email
            .map(|email| email.trim().to_lowercase())
            .filter(|email| !email.is_empty())
            .ok_or(PersonError::NoEmail)?;
        let profile = SlackProfile {
            email,
            real_name: profile.real_name,
            is_guest: profile.is_guest,
        };
        match self
            .runner
            .admit_slack_user(workspace, slack_user_id, profile)
            .await?
        {
            Admission::Admitted(user) => Ok(user),
            Admission::Refused { email } => Err(PersonError::NotMember { email }),
        }
    }

    /// The email of the Slack user picked in a field (known to Slack even if not to
    /// Assent), or their id if Slack cannot tell.
    pub(super) async fn email_of(
        &self,
        workspace: &SlackWorkspace,
        token: &str,
        id: &str,
    ) -> String {
        match self.person(workspace, token, id).await {
            Ok(user) => user.email,
            Err(PersonError::NotMember { email }) => email,
            Err(_) => id.to_owned(),
        }
    }
}
