//! What a plugin reaches beyond its sandbox, wired into every session the runner opens: its
//! organisation's people (`directory`) and its flow environment's integrations — Okta,
//! PagerDuty, `http` APIs — called here with the integration's secrets, which never enter
//! the plugin. Every request is audited on the run (integration, method, host, path, status,
//! duration); a secret a plugin reads is audited by name.

use std::sync::Arc;

use assent_integrations::{CallRecord, Connection, Failure, FailureKind, FetchRequest};
use assent_plugin_host::{
    CallError, HttpRequest, HttpResponse, IntegrationError, IntegrationErrorKind,
    IntegrationFuture, Integrations, Plugin,
};
use assent_secrets::SecretValue;
use assent_store::{EventKind, IntegrationRecord, NewEvent};
use assent_types::IntegrationType;
use serde_json::{Value, json};

use crate::directory::directory_of;
use crate::{Runner, RuntimeError, TenantSession};

/// Where a session's plugin runs: the flow's environment (whose integrations it reaches) and
/// the run its calls are audited on.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Reach<'a> {
    pub environment: Option<&'a str>,
    pub run_id: Option<&'a str>,
}

impl<'a> Reach<'a> {
    /// A flow's plugin in `environment`, for run `run_id` if there is one yet.
    pub(crate) fn flow(environment: &'a str, run_id: Option<&'a str>) -> Reach<'a> {
        Reach {
            environment: Some(environment),
            run_id,
        }
    }
}

impl Runner {
    /// A session of `plugin` for `org_id`: its `users` import reaches the organisation's
    /// people, its `integrations` import the environment's integrations.
    pub(crate) async fn session(
        &self,
        org_id: &str,
        plugin: &Plugin,
        reach: Reach<'_>,
    ) -> Result<TenantSession, CallError> {
        let mut tenant = self.plugins.session(org_id, plugin).await?;
        tenant.session = tenant.session.with_directory(directory_of(self, org_id));
        if let Some(environment) = reach.environment {
            tenant.session =
                tenant
                    .session
                    .with_integrations(Arc::new(EnvironmentIntegrations::new(
                        self,
                        org_id,
                        environment,
                        reach.run_id,
                    )));
        }
        Ok(tenant)
    }
}

/// One flow environment's integrations, for one session or one built-in strategy's step.
pub(crate) struct EnvironmentIntegrations {
    runner: Runner,
    org_id: String,
    environment: String,
    run_id: Option<String>,
}

fn not_configured(message: String) -> IntegrationError {
    IntegrationError::new(IntegrationErrorKind::NotConfigured, message)
}

/// What a plugin hears of a runner failure: the configuration's fault in its words, the
/// database's own words stay in the server's log.
fn unavailable(error: RuntimeError) -> IntegrationError {
    match error {
        RuntimeError::Sealing(message) => not_configured(message),
        other => {
            tracing::warn!(error = %other, "an integration call could not read its configuration");
            IntegrationError::new(
                IntegrationErrorKind::Unavailable,
                "the environment's integrations cannot be read just now; try again",
            )
        }
    }
}

fn failed(failure: Failure) -> IntegrationError {
    IntegrationError {
        kind: match failure.kind() {
            FailureKind::NotConfigured => IntegrationErrorKind::NotConfigured,
            FailureKind::InvalidRequest => IntegrationErrorKind::InvalidRequest,
            FailureKind::Refused => IntegrationErrorKind::Refused,
            FailureKind::Timeout => IntegrationErrorKind::Timeout,
            FailureKind::Unavailable => IntegrationErrorKind::Unavailable,
            FailureKind::Provider => IntegrationErrorKind::Provider,
        },
        status: failure.status(),
        message: failure.to_string(),
    }
}

impl EnvironmentIntegrations {
    pub(crate) fn new(
        runner: &Runner,
        org_id: &str,
        environment: &str,
        run_id: Option<&str>,
    ) -> EnvironmentIntegrations {
        EnvironmentIntegrations {
            runner: runner.clone(),
            org_id: org_id.to_owned(),
            environment: environment.to_owned(),
            run_id: run_id.map(str::to_owned),
        }
    }

    async fn records(&self) -> Result<(String, Vec<IntegrationRecord>), IntegrationError> {
        let store = &self.runner.store;
        let environment_id = store
            .environment_id(&self.org_id, &self.environment)
            .await
            .map_err(|error| unavailable(error.into()))?
            .ok_or_else(|| {
                not_configured(format!(
                    "environment `{}` has no integrations; add one with PUT /api/v1/environments/{}/integrations/{{name}}",
                    self.environment, self.environment
                ))
            })?;
        let records = store
            .integrations(&self.org_id, &environment_id)
            .await
            .map_err(|error| unavailable(error.into()))?;
        Ok((environment_id, records))
    }

    /// `record` with the values of the secrets it references.
    async fn connect(
        &self,
        environment_id: &str,
        record: IntegrationRecord,
    ) -> Result<Connection, IntegrationError> {
        let mut secrets = std::collections::BTreeMap::new();
        for (setting, secret) in record.spec.secret_references() {
            let value = self
                .runner
                .secret_value(&self.org_id, environment_id, secret)
                .await
                .map_err(unavailable)?
                .ok_or_else(|| {
                    not_configured(format!(
                        "integration `{}`: setting `{setting}` names secret `{secret}`, which environment `{}` does not have; set it with PUT /api/v1/environments/{}/secrets/{secret}",
                        record.name, self.environment, self.environment
                    ))
                })?;
            secrets.insert(setting.to_owned(), value);
        }
        Ok(Connection {
            name: record.name,
            spec: record.spec,
            secrets,
        })
    }

    /// The integration called `name`, or else the environment's one integration of type `name`.
    pub(crate) async fn connection(&self, name: &str) -> Result<Connection, IntegrationError> {
        let (environment_id, records) = self.records().await?;
        let by_type = name.parse::<IntegrationType>().ok();
        let record = match records.iter().position(|record| record.name == name) {
            Some(at) => records.into_iter().nth(at),
            None => {
                let of_type: Vec<IntegrationRecord> = records
                    .into_iter()
                    .filter(|record| Some(record.spec.integration_type) == by_type)
                    .collect();
                if of_type.len() > 1 {
                    return Err(not_configured(format!(
                        "environment `{}` has {} `{name}` integrations ({}); name the one to use",
                        self.environment,
                        of_type.len(),
                        of_type
                            .iter()
                            .map(|r| format!("`{}`", r.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
                of_type.into_iter().next()
            }
        };
        let record = record.ok_or_else(|| {
            not_configured(format!(
                "environment `{}` has no integration `{name}`; add one with PUT /api/v1/environments/{}/integrations/{name}",
                self.environment, self.environment
            ))
        })?;
        self.connect(&environment_id, record).await
    }

    /// Appends each request to the run's audit log. A failed append is logged, not the
    /// plugin's problem: its call went out either way.
    pub(crate) async fn audit(&self, records: Vec<CallRecord>) {
        if records.is_empty() {
            return;
        }
        let events: Vec<NewEvent> = records
            .into_iter()
            .map(|record| NewEvent {
                run_id: self.run_id.clone(),
                kind: EventKind::IntegrationCall,
                actor: None,
                data: json!(record),
            })
            .collect();
        if let Err(error) = self.runner.store.append(&self.org_id, &events).await {
            tracing::error!(%error, "an integration call could not be audited");
        }
    }
}

impl Integrations for EnvironmentIntegrations {
    fn call(
        &self,
        integration: String,
        operation: String,
        args: String,
    ) -> IntegrationFuture<'_, String> {
        Box::pin(async move {
            let args: Value = serde_json::from_str(&args).map_err(|error| {
                IntegrationError::new(
                    IntegrationErrorKind::InvalidRequest,
                    format!("the arguments of `{operation}` are not JSON: {error}"),
                )
            })?;
            let connection = self.connection(&integration).await?;
            let mut records = Vec::new();
            let answer = assent_integrations::call(
                &self.runner.outbound,
                &connection,
                &operation,
                &args,
                &mut records,
            )
            .await;
            self.audit(records).await;
            Ok(answer.map_err(failed)?.to_string())
        })
    }

    fn fetch(&self, request: HttpRequest) -> IntegrationFuture<'_, HttpResponse> {
        Box::pin(async move {
            let (environment_id, records) = self.records().await?;
            let mut connections = Vec::new();
            for record in records {
                if record.spec.integration_type == IntegrationType::Http {
                    connections.push(self.connect(&environment_id, record).await?);
                }
            }
            let mut calls = Vec::new();
            let answer = assent_integrations::fetch(
                &self.runner.outbound,
                &connections,
                FetchRequest {
                    method: request.method,
                    url: request.url,
                    headers: request.headers,
                    body: request.body,
                    timeout: request.timeout,
                    integration: request.integration,
                },
                &mut calls,
            )
            .await;
            self.audit(calls).await;
            let response = answer.map_err(failed)?;
            Ok(HttpResponse {
                status: response.status,
                headers: response.headers,
                body: response.body,
            })
        })
    }

    fn secret(&self, integration: String, setting: String) -> IntegrationFuture<'_, String> {
        Box::pin(async move {
            let connection = self.connection(&integration).await?;
            let value: &SecretValue = connection.secrets.get(&setting).ok_or_else(|| {
                not_configured(format!(
                    "integration `{integration}` has no secret setting `{setting}`; its secret settings are {}",
                    connection
                        .secrets
                        .keys()
                        .map(|key| format!("`{key}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
            let event = NewEvent {
                run_id: self.run_id.clone(),
                kind: EventKind::SecretRetrieved,
                actor: None,
                data: json!({ "integration": integration, "setting": setting }),
            };
            if let Err(error) = self.runner.store.append(&self.org_id, &[event]).await {
                tracing::error!(%error, "a secret's retrieval could not be audited");
                return Err(IntegrationError::new(
                    IntegrationErrorKind::Unavailable,
                    "the secret cannot be read just now (its retrieval could not be recorded); try again",
                ));
            }
            Ok(value.expose().to_owned())
        })
    }
}
