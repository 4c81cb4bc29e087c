//! Slack workspaces, the Slack users matched to Assent users, and the request cards posted
//! for each run.
//!
//! The one lookup not scoped by organisation is [`Store::slack_workspace`]: an inbound
//! payload names only its team, and the team is what selects the organisation.

use assent_types::{Identity, User};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{EventKind, NewEvent, Store, StoreError, now_millis};

/// A workspace connected to an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackWorkspace {
    pub team_id: String,
    pub org_id: String,
    pub team_name: String,
    pub bot_user_id: String,
    /// The bot token as sealed by the runtime; the store never sees it in the clear.
    pub sealed_token: Vec<u8>,
    /// Email domains whose people become members on first use.
    pub domains: Vec<String>,
    pub installed_at: i64,
}

/// A request card posted for a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackMessage {
    pub notification: u32,
    /// The destination as the plugin named it.
    pub destination: String,
    pub channel: String,
    pub ts: String,
}

const WORKSPACE_COLUMNS: &str =
    "team_id, org_id, team_name, bot_user_id, bot_token, domains, installed_at";

fn workspace_from_row(row: &AnyRow) -> Result<SlackWorkspace, StoreError> {
    let domains: String = row.try_get("domains")?;
    Ok(SlackWorkspace {
        team_id: row.try_get("team_id")?,
        org_id: row.try_get("org_id")?,
        team_name: row.try_get("team_name")?,
        bot_user_id: row.try_get("bot_user_id")?,
        sealed_token: row.try_get("bot_token")?,
        domains: serde_json::from_str(&domains)
            .map_err(StoreError::corrupt("workspace domains"))?,
        installed_at: row.try_get("installed_at")?,
    })
}

impl Store {
    /// Connects the workspace to its organisation, or refreshes its bot token. A workspace
    /// connected to another organisation stays there.
    pub async fn put_slack_workspace(&self, workspace: &SlackWorkspace) -> Result<(), StoreError> {
        let domains = serde_json::to_string(&workspace.domains)
            .map_err(StoreError::corrupt("workspace domains"))?;
        let updated = sqlx::query(
            "UPDATE slack_workspaces SET team_name = $1, bot_user_id = $2, bot_token = $3, domains = $4, installed_at = $5
             WHERE team_id = $6 AND org_id = $7",
        )
        .bind(&workspace.team_name)
        .bind(&workspace.bot_user_id)
        .bind(workspace.sealed_token.clone())
        .bind(&domains)
        .bind(workspace.installed_at)
        .bind(&workspace.team_id)
        .bind(&workspace.org_id)
        .execute(&self.writes)
        .await?;
        if updated.rows_affected() > 0 {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO slack_workspaces (team_id, org_id, team_name, bot_user_id, bot_token, domains, installed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&workspace.team_id)
        .bind(&workspace.org_id)
        .bind(&workspace.team_name)
        .bind(&workspace.bot_user_id)
        .bind(workspace.sealed_token.clone())
        .bind(&domains)
        .bind(workspace.installed_at)
        .execute(&self.writes)
        .await
        .map_err(crate::error::unique(format!(
            "a connection of Slack workspace `{}` to another organisation",
            workspace.team_id
        )))?;
        Ok(())
    }

    /// The workspace with this team id, whichever organisation it belongs to.
    pub async fn slack_workspace(
        &self,
        team_id: &str,
    ) -> Result<Option<SlackWorkspace>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {WORKSPACE_COLUMNS} FROM slack_workspaces WHERE team_id = $1"
        ));
        let row = sqlx::query(sql)
            .bind(team_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(workspace_from_row).transpose()
    }

    /// Every connected workspace, for a rotation of the server's key (the server's concern,
    /// not a tenant's, so it names no organisation).
    pub async fn slack_workspaces_all(&self) -> Result<Vec<SlackWorkspace>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {WORKSPACE_COLUMNS} FROM slack_workspaces ORDER BY team_id"
        ));
        sqlx::query(sql)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(workspace_from_row)
            .collect()
    }

    /// The organisation's workspace (the first connected, if there are several).
    pub async fn slack_workspace_of(
        &self,
        org_id: &str,
    ) -> Result<Option<SlackWorkspace>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {WORKSPACE_COLUMNS} FROM slack_workspaces WHERE org_id = $1 ORDER BY installed_at, team_id LIMIT 1"
        ));
        let row = sqlx::query(sql)
            .bind(org_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(workspace_from_row).transpose()
    }

    /// Disconnects the workspace (Slack says the app was uninstalled or its token revoked)
    /// and forgets which of its people are whom, auditing it with `why`; returns what was
    /// removed. Runs, their cards and the users themselves stay: a reinstall picks up where
    /// this left off.
    pub async fn remove_slack_workspace(
        &self,
        team_id: &str,
        why: &str,
    ) -> Result<Option<SlackWorkspace>, StoreError> {
        let Some(workspace) = self.slack_workspace(team_id).await? else {
            return Ok(None);
        };
        let mut tx = self.begin().await?;
        for table in ["slack_users", "slack_workspaces"] {
            let sql = sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE team_id = $1 AND org_id = $2"
            ));
            sqlx::query(sql)
                .bind(team_id)
                .bind(&workspace.org_id)
                .execute(&mut *tx.inner)
                .await?;
        }
        tx.append(
            &workspace.org_id,
            &[NewEvent::org(
                EventKind::SlackDisconnected,
                None,
                serde_json::json!({
                    "team_id": workspace.team_id,
                    "team_name": workspace.team_name,
                    "why": why,
                }),
            )],
        )
        .await?;
        tx.commit().await?;
        Ok(Some(workspace))
    }

    /// Records that the install link with `nonce` was used; `false` if it already was. Links
    /// that expired before `now` are forgotten on the way (they are refused anyway).
    pub async fn redeem_install_link(
        &self,
        org_id: &str,
        nonce: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        sqlx::query("DELETE FROM slack_install_links WHERE expires_at < $1")
            .bind(now)
            .execute(&self.writes)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO slack_install_links (nonce, org_id, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (nonce) DO NOTHING",
        )
        .bind(nonce)
        .bind(org_id)
        .bind(expires_at)
        .execute(&self.writes)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// The Assent user a Slack user was matched to.
    pub async fn slack_user(
        &self,
        org_id: &str,
        team_id: &str,
        slack_user_id: &str,
    ) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(
            "SELECT u.id AS id, u.email AS email, u.username AS username, u.first_name AS first_name,
                    u.last_name AS last_name, u.role AS role, u.identities AS identities
             FROM slack_users s JOIN users u ON u.org_id = s.org_id AND u.id = s.user_id
             WHERE s.org_id = $1 AND s.team_id = $2 AND s.slack_user_id = $3",
        )
        .bind(org_id)
        .bind(team_id)
        .bind(slack_user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(crate::users::user_from_row).transpose()
    }

    /// Records that `slack_user_id` is `user`, and adds the Slack identity to the user (so
    /// plugins see it and messages can mention them).
    pub async fn link_slack_user(
        &self,
        org_id: &str,
        team_id: &str,
        slack_user_id: &str,
        user: &User,
    ) -> Result<User, StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO slack_users (team_id, slack_user_id, org_id, user_id) VALUES ($1, $2, $3, $4)
             ON CONFLICT (team_id, slack_user_id) DO NOTHING",
        )
        .bind(team_id)
        .bind(slack_user_id)
        .bind(org_id)
        .bind(&user.id)
        .execute(&mut *tx.inner)
        .await?;
        let mut linked = user.clone();
        if !linked
            .identities
            .iter()
            .any(|identity| identity.service == "slack")
        {
            linked
                .identities
                .push(Identity::new("slack", slack_user_id));
            sqlx::query("UPDATE users SET identities = $1 WHERE org_id = $2 AND id = $3")
                .bind(
                    serde_json::to_string(&linked.identities)
                        .map_err(StoreError::corrupt("identities"))?,
                )
                .bind(org_id)
                .bind(&user.id)
                .execute(&mut *tx.inner)
                .await?;
        }
        tx.commit().await?;
        Ok(linked)
    }

    /// The cards posted for a run, oldest first.
    pub async fn slack_messages(
        &self,
        org_id: &str,
        run_id: &str,
    ) -> Result<Vec<SlackMessage>, StoreError> {
        let rows = sqlx::query(
            "SELECT notification, destination, channel, ts FROM slack_messages
             WHERE org_id = $1 AND run_id = $2 ORDER BY created_at, notification",
        )
        .bind(org_id)
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SlackMessage {
                    notification: u32::try_from(row.try_get::<i64, _>("notification")?)
                        .unwrap_or(u32::MAX),
                    destination: row.try_get("destination")?,
                    channel: row.try_get("channel")?,
                    ts: row.try_get("ts")?,
                })
            })
            .collect()
    }

    /// Remembers a posted card; posting the same notification to the same destination
    /// again (a retried delivery) keeps the first.
    pub async fn record_slack_message(
        &self,
        org_id: &str,
        run_id: &str,
        message: &SlackMessage,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO slack_messages (org_id, run_id, notification, destination, channel, ts, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (run_id, notification, destination) DO NOTHING",
        )
        .bind(org_id)
        .bind(run_id)
        .bind(i64::from(message.notification))
        .bind(&message.destination)
        .bind(&message.channel)
        .bind(&message.ts)
        .bind(now_millis())
        .execute(&self.writes)
        .await?;
        Ok(())
    }

    /// Where the environment's plugin errors are reported (a Slack channel), if anywhere.
    pub async fn error_logger(
        &self,
        org_id: &str,
        environment: &str,
    ) -> Result<Option<String>, StoreError> {
        let row =
            sqlx::query("SELECT error_logger FROM environments WHERE org_id = $1 AND name = $2")
                .bind(org_id)
                .bind(environment)
                .fetch_optional(&self.pool)
                .await?;
        Ok(match row {
            Some(row) => row.try_get::<Option<String>, _>("error_logger")?,
            None => None,
        })
    }

    /// Sets (or with `None` clears) the environment's error logger, creating the environment
    /// if it does not exist.
    pub async fn set_error_logger(
        &self,
        org_id: &str,
        environment: &str,
        channel: Option<&str>,
    ) -> Result<(), StoreError> {
        let environment_id = self.ensure_environment(org_id, environment).await?;
        sqlx::query("UPDATE environments SET error_logger = $1 WHERE org_id = $2 AND id = $3")
            .bind(channel)
            .bind(org_id)
            .bind(environment_id)
            .execute(&self.writes)
            .await?;
        Ok(())
    }
}
