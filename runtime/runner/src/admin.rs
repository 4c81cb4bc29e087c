//! The organisation's own state, each change audited: organisations, people and their
//! tokens, environments, and the Slack workspaces connected to it (with the people who come
//! in through them).

use assent_store::{EventKind, NewEvent, NewUser, Provisioned, SlackWorkspace, now_millis};
use assent_types::{Identity, Role, User};
use serde_json::json;

use crate::{Runner, RuntimeError};

// A slug is at most 63 characters: a DNS label's limit, so an organisation's slug can name
// a subdomain or a path segment anywhere it is shown.
const MAX_SLUG: usize = 63;

fn valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= MAX_SLUG
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A person's username is their email, as in Sym ("username: email, or bot username"), so
/// flows that compare `username` with lists of emails match; only a bot may be given a name,
/// and one without `@`, so it never passes for a person.
fn check_username(user: &NewUser) -> Result<(), RuntimeError> {
    match user.username.as_deref() {
        Some(name) if name.trim().is_empty() => Err(RuntimeError::InvalidInput(
            "`username` is empty; leave it out (a person's username is their email) or give \
             a bot a name"
                .into(),
        )),
        Some(name) if name.contains('@') && !name.eq_ignore_ascii_case(user.email.trim()) => {
            Err(RuntimeError::InvalidInput(format!(
                "a person's username is their email `{}`, not `{name}`; leave `username` out, \
                 or give a bot a name without `@`",
                user.email.trim()
            )))
        }
        _ => Ok(()),
    }
}

pub(crate) fn require_email(email: &str) -> Result<(), RuntimeError> {
    if email.contains('@') {
        Ok(())
    } else {
        Err(RuntimeError::InvalidInput(format!(
            "`{email}` is not an email address"
        )))
    }
}

/// What Slack says about one of its users, for matching them to an Assent user. (Their
/// Slack handle is not kept: a person's username is their email.)
#[derive(Debug, Clone)]
pub struct SlackProfile {
    /// Lowercase, trimmed.
    pub email: String,
    pub real_name: Option<String>,
    /// A guest of the Slack workspace: admitted as an Assent guest, who may request and act
    /// only on flows that allow guests.
    pub is_guest: bool,
}

/// Whether a Slack user may act in the organisation.
#[derive(Debug, Clone)]
pub enum Admission {
    /// An Assent user of the organisation, now remembered for the workspace.
    Admitted(User),
    /// Not a user, and the workspace does not accept their email's domain.
    Refused { email: String },
}

impl Runner {
    /// Creates an organisation with its `main` environment, its first admin and their token.
    pub async fn create_organization(
        &self,
        slug: &str,
        name: &str,
        admin_email: &str,
    ) -> Result<Provisioned, RuntimeError> {
        if !valid_slug(slug) {
            return Err(RuntimeError::InvalidInput(format!(
                "`{slug}` is not a usable slug; use 1 to {MAX_SLUG} lowercase letters, digits and `-`"
            )));
        }
        require_email(admin_email)?;
        Ok(self
            .store
            .create_organization(slug, name, admin_email)
            .await?)
    }

    /// Creates the user with `user.email`, or updates what `user` gives. The organisation's
    /// last admin stays one, so it can never lock itself out.
    pub async fn put_user(
        &self,
        org_id: &str,
        actor: Option<&User>,
        user: NewUser,
    ) -> Result<User, RuntimeError> {
        require_email(&user.email)?;
        check_username(&user)?;
        if user.role.is_some_and(|role| role != Role::Admin) {
            let admins: Vec<User> = self
                .store
                .users(org_id)
                .await?
                .into_iter()
                .filter(|known| known.role == Role::Admin)
                .collect();
            if let [last] = admins.as_slice()
                && last.email.eq_ignore_ascii_case(user.email.trim())
            {
                return Err(RuntimeError::LastAdmin(last.email.clone()));
            }
        }
        let user = self.store.upsert_user(org_id, &user).await?;
        let event = NewEvent::org(
            EventKind::UserUpdated,
            actor,
            json!({ "user": user.email, "role": user.role }),
        );
        self.store.append(org_id, &[event]).await?;
        Ok(user)
    }

    /// Makes `email` an admin of the organisation `slug` (the operator's way back in for an
    /// organisation whose admins are gone or locked out).
    pub async fn restore_admin(&self, slug: &str, email: &str) -> Result<User, RuntimeError> {
        let organization = self
            .store
            .organization_by_slug(slug)
            .await?
            .ok_or_else(|| RuntimeError::NotFound(format!("organisation `{slug}`")))?;
        let admin = NewUser {
            email: email.to_owned(),
            username: None,
            first_name: None,
            last_name: None,
            role: Some(Role::Admin),
            identities: None,
        };
        self.put_user(&organization.id, None, admin).await
    }

    /// An API token for `user`, named `name` (what it is for); shown only now.
    pub async fn create_token(
        &self,
        org_id: &str,
        actor: Option<&User>,
        user: &User,
        name: &str,
    ) -> Result<String, RuntimeError> {
        let token = self.store.create_token(org_id, &user.id, name).await?;
        let event = NewEvent::org(
            EventKind::TokenCreated,
            actor,
            json!({ "user": user.email, "name": name }),
        );
        self.store.append(org_id, &[event]).await?;
        Ok(token)
    }

    /// Sets where plugin and strategy errors of `environment`'s flows are reported (a Slack
    /// channel), or stops reporting them.
    pub async fn set_error_logger(
        &self,
        org_id: &str,
        actor: Option<&User>,
        environment: &str,
        channel: Option<&str>,
    ) -> Result<(), RuntimeError> {
        self.store
            .set_error_logger(org_id, environment, channel)
            .await?;
        let event = NewEvent::org(
            EventKind::EnvironmentUpdated,
            actor,
            json!({ "environment": environment, "error_logger": channel }),
        );
        self.store.append(org_id, &[event]).await?;
        Ok(())
    }

    /// Spends the install link with `nonce` (issued to `org_id`, valid until `expires_at`):
    /// `false` when it was used before, so one link connects one workspace.
    pub async fn redeem_install_link(
        &self,
        org_id: &str,
        nonce: &str,
        expires_at: i64,
    ) -> Result<bool, RuntimeError> {
        Ok(self
            .store
            .redeem_install_link(org_id, nonce, expires_at, now_millis())
            .await?)
    }

    /// Connects a Slack workspace to its organisation (an install finished).
    pub async fn connect_slack_workspace(
        &self,
        workspace: &SlackWorkspace,
    ) -> Result<(), RuntimeError> {
        self.store.put_slack_workspace(workspace).await?;
        let event = NewEvent::org(
            EventKind::SlackConnected,
            None,
            json!({
                "team_id": workspace.team_id,
                "team_name": workspace.team_name,
                "domains": workspace.domains,
            }),
        );
        self.store.append(&workspace.org_id, &[event]).await?;
        Ok(())
    }

    /// Disconnects the workspace (uninstalled, or its token revoked); runs and people stay.
    pub async fn disconnect_slack_workspace(
        &self,
        team_id: &str,
        why: &str,
    ) -> Result<Option<SlackWorkspace>, RuntimeError> {
        Ok(self.store.remove_slack_workspace(team_id, why).await?)
    }

    /// The Assent user behind a Slack user of `workspace`, as Slack describes them: the
    /// user with their email, or — when the workspace accepts the email's domain — a new
    /// member. Either way remembered, so Slack is asked once per person.
    pub async fn admit_slack_user(
        &self,
        workspace: &SlackWorkspace,
        slack_user_id: &str,
        profile: SlackProfile,
    ) -> Result<Admission, RuntimeError> {
        let org_id = &workspace.org_id;
        let user = match self.store.user_by_email(org_id, &profile.email).await? {
            Some(user) => user,
            None if accepts(workspace, &profile.email) => {
                let member = NewUser {
                    email: profile.email.clone(),
                    username: None,
                    first_name: profile.real_name,
                    last_name: None,
                    role: Some(if profile.is_guest {
                        Role::Guest
                    } else {
                        Role::Member
                    }),
                    identities: Some(vec![Identity::new("slack", slack_user_id)]),
                };
                self.store.upsert_user(org_id, &member).await?
            }
            None => {
                return Ok(Admission::Refused {
                    email: profile.email,
                });
            }
        };
        let linked = self
            .store
            .link_slack_user(org_id, &workspace.team_id, slack_user_id, &user)
            .await?;
        Ok(Admission::Admitted(linked))
    }
}

/// Whether the workspace lets people with `email` in as members on first use.
fn accepts(workspace: &SlackWorkspace, email: &str) -> bool {
    let domain = email.rsplit_once('@').map(|(_, domain)| domain);
    domain.is_some_and(|domain| {
        workspace
            .domains
            .iter()
            .any(|accepted| accepted.eq_ignore_ascii_case(domain))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_short_lowercase_labels() {
        assert!(valid_slug("acme-2"));
        assert!(valid_slug(&"a".repeat(MAX_SLUG)));
        for bad in ["", "Acme", "a_b", "a.b", &"a".repeat(MAX_SLUG + 1)] {
            assert!(!valid_slug(bad), "{bad}");
        }
    }

    #[test]
    fn a_workspace_accepts_only_its_domains() {
        let workspace = SlackWorkspace {
            team_id: "T1".into(),
            org_id: "o".into(),
            team_name: String::new(),
            bot_user_id: String::new(),
            sealed_token: Vec::new(),
            domains: vec!["demo.test".into()],
            installed_at: 0,
        };
        assert!(accepts(&workspace, "x@demo.test"));
        assert!(accepts(&workspace, "x@DEMO.test"));
        assert!(!accepts(&workspace, "x@partner.test"));
        assert!(!accepts(&workspace, "x@sub.demo.test"));
        assert!(!accepts(&workspace, "no-at-sign"));
    }
}
