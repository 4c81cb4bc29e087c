//! Users of an organisation, and the API tokens they act with.

use assent_types::{Identity, Role, User};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::unique;
use crate::{Store, StoreError, Tx, new_id, now_millis};

/// A user to create or update.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewUser {
    pub email: String,
    /// A bot's name (no `@`). `None` keeps an existing user's username; a new user's is
    /// their email, as every person's is.
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    /// `None` keeps an existing user's role (a new user is a member).
    #[serde(default)]
    pub role: Option<Role>,
    /// `None` keeps an existing user's identities (a new user has none).
    #[serde(default)]
    pub identities: Option<Vec<Identity>>,
}

/// Who an API token speaks for.
#[derive(Debug, Clone)]
pub struct Principal {
    pub org_id: String,
    pub user: User,
}

const USER_COLUMNS: &str = "id, email, username, first_name, last_name, role, identities";

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::Member => "member",
        Role::Guest => "guest",
    }
}

fn parse_role(name: &str) -> Role {
    match name {
        "admin" => Role::Admin,
        "guest" => Role::Guest,
        _ => Role::Member,
    }
}

pub(crate) fn user_from_row(row: &AnyRow) -> Result<User, StoreError> {
    let identities: String = row.try_get("identities")?;
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        username: row.try_get("username")?,
        first_name: row.try_get("first_name")?,
        last_name: row.try_get("last_name")?,
        role: parse_role(&row.try_get::<String, _>("role")?),
        identities: serde_json::from_str(&identities).map_err(StoreError::corrupt("identities"))?,
    })
}

fn identities_json(identities: &[Identity]) -> String {
    serde_json::to_string(identities).unwrap_or_else(|_| "[]".to_owned())
}

/// SHA-256 of a token, as stored.
pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn fresh_token() -> Result<String, StoreError> {
    let mut secret = [0_u8; 32];
    getrandom::fill(&mut secret).map_err(|error| {
        StoreError::Database(sqlx::Error::Protocol(format!(
            "the system has no randomness for a token: {error}"
        )))
    })?;
    Ok(format!("assent_{}", hex::encode(secret)))
}

/// Whether a user of the organisation has `username` (asked before an insert, so that a
/// clash is reported as the username's rather than the email's).
async fn username_taken(
    connection: &mut sqlx::AnyConnection,
    org_id: &str,
    username: &str,
) -> Result<bool, StoreError> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT id FROM users WHERE org_id = $1 AND username = $2")
            .bind(org_id)
            .bind(username)
            .fetch_optional(connection)
            .await?;
    Ok(row.is_some())
}

fn username_conflict(username: &str) -> String {
    format!("another user with username `{username}`")
}

/// Creates a user. A person's username is their email; a bot's is its own name. Either way
/// no two users of an organisation share one (plugins compare them), which the
/// `users_by_username` index keeps.
pub(crate) async fn insert_user(
    tx: &mut Tx,
    org_id: &str,
    user: &NewUser,
) -> Result<User, StoreError> {
    let email = user.email.trim().to_lowercase();
    let username = user.username.clone().unwrap_or_else(|| email.clone());
    if username_taken(&mut tx.inner, org_id, &username).await? {
        return Err(StoreError::Conflict(username_conflict(&username)));
    }
    let created = User {
        id: new_id(),
        email,
        username,
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        role: user.role.unwrap_or(Role::Member),
        identities: user.identities.clone().unwrap_or_default(),
    };
    sqlx::query(
        "INSERT INTO users (id, org_id, email, username, first_name, last_name, role, identities, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&created.id)
    .bind(org_id)
    .bind(&created.email)
    .bind(&created.username)
    .bind(&created.first_name)
    .bind(&created.last_name)
    .bind(role_name(created.role))
    .bind(identities_json(&created.identities))
    .bind(now_millis())
    .execute(&mut *tx.inner)
    .await
    .map_err(unique(format!("a user with email `{}`", created.email)))?;
    Ok(created)
}

pub(crate) async fn insert_token(
    tx: &mut Tx,
    org_id: &str,
    user_id: &str,
    name: &str,
) -> Result<String, StoreError> {
    let token = fresh_token()?;
    sqlx::query(
        "INSERT INTO api_tokens (id, org_id, user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new_id())
    .bind(org_id)
    .bind(user_id)
    .bind(name)
    .bind(token_hash(&token))
    .bind(now_millis())
    .execute(&mut *tx.inner)
    .await?;
    Ok(token)
}

impl Store {
    /// Creates the user, or updates the one with that email: only what `user` gives (names,
    /// role, identities) changes.
    pub async fn upsert_user(&self, org_id: &str, user: &NewUser) -> Result<User, StoreError> {
        let email = user.email.trim().to_lowercase();
        if let Some(existing) = self.user_by_email(org_id, &email).await? {
            // Another user's username is refused by the `users_by_username` index.
            let username = user.username.clone().unwrap_or(existing.username.clone());
            sqlx::query(
                "UPDATE users SET username = $1, first_name = $2, last_name = $3, role = $4, identities = $5
                 WHERE org_id = $6 AND id = $7",
            )
            .bind(&username)
            .bind(user.first_name.clone().or(existing.first_name.clone()))
            .bind(user.last_name.clone().or(existing.last_name.clone()))
            .bind(role_name(user.role.unwrap_or(existing.role)))
            .bind(identities_json(
                user.identities.as_ref().unwrap_or(&existing.identities),
            ))
            .bind(org_id)
            .bind(&existing.id)
            .execute(&self.writes)
            .await
            .map_err(unique(username_conflict(&username)))?;
            return self
                .user(org_id, &existing.id)
                .await?
                .ok_or_else(|| StoreError::Conflict(format!("user `{email}` changed meanwhile")));
        }
        let mut tx = self.begin().await?;
        let created = insert_user(&mut tx, org_id, user).await?;
        tx.commit().await?;
        Ok(created)
    }

    pub async fn user(&self, org_id: &str, id: &str) -> Result<Option<User>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE org_id = $1 AND id = $2"
        ));
        let row = sqlx::query(sql)
            .bind(org_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub async fn user_by_email(
        &self,
        org_id: &str,
        email: &str,
    ) -> Result<Option<User>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE org_id = $1 AND email = $2"
        ));
        let row = sqlx::query(sql)
            .bind(org_id)
            .bind(email.trim().to_lowercase())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub async fn users(&self, org_id: &str) -> Result<Vec<User>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE org_id = $1 ORDER BY email"
        ));
        let rows = sqlx::query(sql).bind(org_id).fetch_all(&self.pool).await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Makes a new API token for the user; the token is returned once and stored hashed.
    pub async fn create_token(
        &self,
        org_id: &str,
        user_id: &str,
        name: &str,
    ) -> Result<String, StoreError> {
        let mut tx = self.begin().await?;
        let token = insert_token(&mut tx, org_id, user_id, name).await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Who `token` belongs to, if it is a live token.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Principal>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT t.org_id AS org_id, {} FROM api_tokens t JOIN users u ON u.id = t.user_id AND u.org_id = t.org_id
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
            USER_COLUMNS
                .split(", ")
                .map(|column| format!("u.{column} AS {column}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        let row = sqlx::query(sql)
            .bind(token_hash(token))
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(Principal {
                org_id: row.try_get("org_id")?,
                user: user_from_row(&row)?,
            })
        })
        .transpose()
    }
}
