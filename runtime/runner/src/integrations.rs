//! Integrations (Sym's `sym_integration`): configured per environment, checked against their
//! type and against the environment's secrets, and shown to plugins — settings, never secret
//! values — as `event.flow.environment.integrations`.

use assent_engine::IntegrationError;
use assent_store::{EventKind, FlowRecord, IntegrationRecord, NewEvent};
use assent_types::{Environment, Integration, IntegrationSpec, User};
use serde_json::json;

use crate::{Runner, RuntimeError};

impl Runner {
    /// Creates or replaces integration `name` of `environment`. Every secret its settings
    /// reference must already be set.
    pub async fn put_integration(
        &self,
        org_id: &str,
        actor: Option<&User>,
        environment: &str,
        name: &str,
        spec: &IntegrationSpec,
    ) -> Result<IntegrationRecord, RuntimeError> {
        assent_engine::integration::validate(name, spec)?;
        let environment_id = self.store.ensure_environment(org_id, environment).await?;
        let secrets = self.store.secrets(org_id, &environment_id).await?;
        if let Some((setting, secret)) = spec
            .secret_references()
            .find(|(_, secret)| !secrets.iter().any(|known| known.name == *secret))
        {
            return Err(IntegrationError::MissingSecret {
                setting: setting.to_owned(),
                secret: secret.to_owned(),
                environment: environment.to_owned(),
            }
            .into());
        }
        let record = self
            .store
            .put_integration(
                org_id,
                &environment_id,
                name,
                spec,
                actor.map(|user| user.email.as_str()),
            )
            .await?;
        let event = NewEvent::org(
            EventKind::IntegrationUpdated,
            actor,
            json!({
                "environment": environment,
                "integration": name,
                "type": spec.integration_type,
                "version": record.version,
            }),
        );
        self.store.append(org_id, &[event]).await?;
        Ok(record)
    }

    pub async fn integration(
        &self,
        org_id: &str,
        environment: &str,
        name: &str,
    ) -> Result<IntegrationRecord, RuntimeError> {
        let environment_id = self.environment_id(org_id, environment).await?;
        self.store
            .integration(org_id, &environment_id, name)
            .await?
            .ok_or_else(|| {
                RuntimeError::NotFound(format!(
                    "integration `{name}` of environment `{environment}`"
                ))
            })
    }

    pub async fn integrations(
        &self,
        org_id: &str,
        environment: &str,
    ) -> Result<Vec<IntegrationRecord>, RuntimeError> {
        let environment_id = self.environment_id(org_id, environment).await?;
        Ok(self.store.integrations(org_id, &environment_id).await?)
    }

    pub async fn delete_integration(
        &self,
        org_id: &str,
        actor: Option<&User>,
        environment: &str,
        name: &str,
    ) -> Result<(), RuntimeError> {
        let environment_id = self.environment_id(org_id, environment).await?;
        if !self
            .store
            .delete_integration(org_id, &environment_id, name)
            .await?
        {
            return Err(RuntimeError::NotFound(format!(
                "integration `{name}` of environment `{environment}`"
            )));
        }
        let event = NewEvent::org(
            EventKind::IntegrationDeleted,
            actor,
            json!({ "environment": environment, "integration": name }),
        );
        self.store.append(org_id, &[event]).await?;
        Ok(())
    }

    /// The integrations of `environment`; none when it does not exist yet.
    pub(crate) async fn environment_integrations(
        &self,
        org_id: &str,
        environment: &str,
    ) -> Result<Vec<IntegrationRecord>, RuntimeError> {
        Ok(
            match self.store.environment_id(org_id, environment).await? {
                Some(environment_id) => self.store.integrations(org_id, &environment_id).await?,
                None => Vec::new(),
            },
        )
    }

    /// The flow's environment as its plugins see it: its name and integrations.
    pub(crate) async fn environment_of(
        &self,
        org_id: &str,
        flow: &FlowRecord,
    ) -> Result<Environment, RuntimeError> {
        let integrations = self
            .environment_integrations(org_id, &flow.environment)
            .await?;
        Ok(Environment {
            name: flow.environment.clone(),
            integrations: integrations.into_iter().map(as_seen_by_plugins).collect(),
        })
    }
}

/// An integration as a plugin sees it: its settings, in which a secret appears only by name.
fn as_seen_by_plugins(record: IntegrationRecord) -> Integration {
    Integration {
        name: record.name,
        integration_type: record.spec.integration_type.as_str().to_owned(),
        external_id: record.spec.external_id,
        settings: record.spec.settings,
    }
}
