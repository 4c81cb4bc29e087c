//! Secrets: set (sealed with the server's keyring), listed without values, deleted unless an
//! integration uses them, opened only for an integration that references them, and sealed
//! again under a new key when the server's key is rotated.
//!
//! Invariant: a secret's value leaves this module only as a [`SecretValue`] (which prints as
//! `[secret]`), and no audit entry, error or record built here holds it.

use assent_engine::IntegrationError;
use assent_engine::integration::{check_name, check_secret_value};
use assent_secrets::SecretValue;
use assent_store::{EventKind, NewEvent, SecretDeletion, SecretRecord};
use assent_types::User;
use serde_json::json;

use crate::{Runner, RuntimeError};

// A rotation re-seals this many secrets per read: small enough that one page is a quick
// query, and every secret of a large installation is still re-sealed in a few seconds.
const RESEAL_PAGE: i64 = 200;

/// What a rotation re-sealed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resealed {
    pub secrets: usize,
    pub slack_tokens: usize,
}

impl Runner {
    /// Sets secret `name` of `environment` to `value`, as a new version.
    pub async fn put_secret(
        &self,
        org_id: &str,
        actor: Option<&User>,
        environment: &str,
        name: &str,
        value: &SecretValue,
    ) -> Result<SecretRecord, RuntimeError> {
        check_name(name)?;
        check_secret_value(value.expose())?;
        let environment_id = self.store.ensure_environment(org_id, environment).await?;
        let sealed = self
            .keys
            .seal(value.expose().as_bytes())
            .map_err(|error| RuntimeError::Sealing(format!("secret `{name}`: {error}")))?;
        let record = self
            .store
            .put_secret(
                org_id,
                &environment_id,
                name,
                &sealed.bytes,
                sealed.key_id.as_str(),
                actor.map(|user| user.email.as_str()),
            )
            .await?;
        let event = NewEvent::org(
            EventKind::SecretSet,
            actor,
            json!({ "environment": environment, "secret": name, "version": record.version }),
        );
        self.store.append(org_id, &[event]).await?;
        Ok(record)
    }

    /// The environment's secrets, without values.
    pub async fn secrets(
        &self,
        org_id: &str,
        environment: &str,
    ) -> Result<Vec<SecretRecord>, RuntimeError> {
        let environment_id = self.environment_id(org_id, environment).await?;
        Ok(self.store.secrets(org_id, &environment_id).await?)
    }

    /// Deletes secret `name`; refused, naming them, while integrations reference it.
    pub async fn delete_secret(
        &self,
        org_id: &str,
        actor: Option<&User>,
        environment: &str,
        name: &str,
    ) -> Result<(), RuntimeError> {
        let environment_id = self.environment_id(org_id, environment).await?;
        match self
            .store
            .delete_secret(org_id, &environment_id, name)
            .await?
        {
            SecretDeletion::Deleted => {
                let event = NewEvent::org(
                    EventKind::SecretDeleted,
                    actor,
                    json!({ "environment": environment, "secret": name }),
                );
                self.store.append(org_id, &[event]).await?;
                Ok(())
            }
            SecretDeletion::NotFound => Err(RuntimeError::NotFound(format!(
                "secret `{name}` of environment `{environment}`"
            ))),
            SecretDeletion::InUse(integrations) => Err(IntegrationError::SecretInUse {
                secret: name.to_owned(),
                integrations: integrations
                    .iter()
                    .map(|name| format!("integration `{name}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
            }
            .into()),
        }
    }

    /// The value of secret `name` of the environment, for an integration that references it.
    pub(crate) async fn secret_value(
        &self,
        org_id: &str,
        environment_id: &str,
        name: &str,
    ) -> Result<Option<SecretValue>, RuntimeError> {
        let Some(sealed) = self
            .store
            .sealed_secret(org_id, environment_id, name)
            .await?
        else {
            return Ok(None);
        };
        let opened = self.keys.open(&sealed.sealed).map_err(|error| {
            RuntimeError::Sealing(format!(
                "secret `{name}` cannot be opened with this server's keys ({error}); set it again, or start the server with the key it was sealed under as the previous key"
            ))
        })?;
        let value = String::from_utf8(opened.plaintext).map_err(|_| {
            RuntimeError::Sealing(format!("secret `{name}` is not text; set it again"))
        })?;
        Ok(Some(SecretValue::new(value)))
    }

    /// Seals again, under the current key, every secret and Slack bot token the previous key
    /// sealed. Run at start while a previous key is given; once it reports nothing left, the
    /// previous key can be dropped.
    pub async fn reseal_stale_secrets(&self) -> Result<Resealed, RuntimeError> {
        let mut resealed = Resealed::default();
        if self.keys.previous_key_id().is_none() {
            return Ok(resealed);
        }
        let current = self.keys.key_id().as_str().to_owned();
        let mut skipped = 0usize;
        loop {
            let page = self.store.stale_secrets(&current, RESEAL_PAGE).await?;
            // Rows that cannot be opened under either key stay stale; stop once a page holds
            // nothing else, rather than reading them again forever.
            if page.len() <= skipped {
                break;
            }
            skipped = 0;
            for stale in &page {
                let Ok(opened) = self.keys.open(&stale.sealed) else {
                    tracing::error!(org = %stale.org_id, secret = %stale.name, "a secret opens with neither the current nor the previous key; set it again");
                    skipped += 1;
                    continue;
                };
                let sealed = self
                    .keys
                    .seal(&opened.plaintext)
                    .map_err(|error| RuntimeError::Sealing(error.to_string()))?;
                if self
                    .store
                    .reseal_secret(stale, &sealed.bytes, &current)
                    .await?
                {
                    resealed.secrets += 1;
                }
            }
        }
        for mut workspace in self.store.slack_workspaces_all().await? {
            let Ok(opened) = self.keys.open(&workspace.sealed_token) else {
                tracing::error!(team = %workspace.team_id, "a Slack bot token opens with neither key; install the app again");
                continue;
            };
            if opened.stale {
                workspace.sealed_token = self
                    .keys
                    .seal(&opened.plaintext)
                    .map_err(|error| RuntimeError::Sealing(error.to_string()))?
                    .bytes;
                self.store.put_slack_workspace(&workspace).await?;
                resealed.slack_tokens += 1;
            }
        }
        Ok(resealed)
    }

    /// The id of the organisation's environment called `name`, or not found.
    pub(crate) async fn environment_id(
        &self,
        org_id: &str,
        name: &str,
    ) -> Result<String, RuntimeError> {
        self.store
            .environment_id(org_id, name)
            .await?
            .ok_or_else(|| RuntimeError::NotFound(format!("environment `{name}`")))
    }
}
