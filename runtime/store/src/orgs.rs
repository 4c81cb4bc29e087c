//! Organisations: the tenants. Made by the operator, with a first admin and their token.

use serde::Serialize;
use sqlx::Row;

use crate::error::unique;
use crate::users::{NewUser, insert_token, insert_user};
use crate::{Store, StoreError, new_id, now_millis};
use assent_types::{Role, User};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Organization {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub created_at: i64,
}

/// A new organisation with its first admin, and that admin's token (shown only now).
#[derive(Debug, Clone)]
pub struct Provisioned {
    pub organization: Organization,
    pub admin: User,
    pub token: String,
}

/// Every organisation starts with this environment; flows go in it unless told otherwise.
pub const DEFAULT_ENVIRONMENT: &str = "main";

impl Store {
    /// Creates an organisation, its `main` environment, its first admin and their token.
    pub async fn create_organization(
        &self,
        slug: &str,
        name: &str,
        admin_email: &str,
    ) -> Result<Provisioned, StoreError> {
        let now = now_millis();
        let organization = Organization {
            id: new_id(),
            slug: slug.to_owned(),
            name: name.to_owned(),
            created_at: now,
        };
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO organizations (id, slug, name, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&organization.id)
        .bind(&organization.slug)
        .bind(&organization.name)
        .bind(now)
        .execute(&mut *tx.inner)
        .await
        .map_err(unique(format!("an organisation with slug `{slug}`")))?;
        sqlx::query(
            "INSERT INTO environments (id, org_id, name, error_logger, created_at) VALUES ($1, $2, $3, NULL, $4)",
        )
        .bind(new_id())
        .bind(&organization.id)
        .bind(DEFAULT_ENVIRONMENT)
        .bind(now)
        .execute(&mut *tx.inner)
        .await?;
        let admin = insert_user(
            &mut tx,
            &organization.id,
            &NewUser {
                email: admin_email.to_owned(),
                username: None,
                first_name: None,
                last_name: None,
                role: Some(Role::Admin),
                identities: None,
            },
        )
        .await?;
        let token = insert_token(&mut tx, &organization.id, &admin.id, "first admin token").await?;
        tx.commit().await?;
        Ok(Provisioned {
            organization,
            admin,
            token,
        })
    }

    pub async fn organization(&self, org_id: &str) -> Result<Option<Organization>, StoreError> {
        let row = sqlx::query("SELECT id, slug, name, created_at FROM organizations WHERE id = $1")
            .bind(org_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(Organization {
                id: row.try_get("id")?,
                slug: row.try_get("slug")?,
                name: row.try_get("name")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .transpose()
    }

    pub async fn organization_by_slug(
        &self,
        slug: &str,
    ) -> Result<Option<Organization>, StoreError> {
        let id: Option<String> = sqlx::query_scalar("SELECT id FROM organizations WHERE slug = $1")
            .bind(slug)
            .fetch_optional(&self.pool)
            .await?;
        match id {
            Some(id) => self.organization(&id).await,
            None => Ok(None),
        }
    }

    /// The id of the organisation's environment called `name`, if it has one.
    pub async fn environment_id(
        &self,
        org_id: &str,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT id FROM environments WHERE org_id = $1 AND name = $2")
                .bind(org_id)
                .bind(name)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// The environment's id, creating it if needed.
    pub async fn ensure_environment(&self, org_id: &str, name: &str) -> Result<String, StoreError> {
        if let Some(id) = self.environment_id(org_id, name).await? {
            return Ok(id);
        }
        let id = new_id();
        let inserted = sqlx::query(
            "INSERT INTO environments (id, org_id, name, error_logger, created_at) VALUES ($1, $2, $3, NULL, $4) ON CONFLICT (org_id, name) DO NOTHING",
        )
        .bind(&id)
        .bind(org_id)
        .bind(name)
        .bind(now_millis())
        .execute(&self.writes)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(id);
        }
        self.environment_id(org_id, name)
            .await?
            .ok_or_else(|| StoreError::Conflict(format!("environment `{name}`")))
    }

    /// The environment's name.
    pub async fn environment_name(
        &self,
        org_id: &str,
        id: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT name FROM environments WHERE org_id = $1 AND id = $2")
                .bind(org_id)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}
