//! The organisation's people as plugins reach them (contract 0.2.0's `users` import): counts of
//! a person's past requests from the audit log, identities kept on a person, and people by
//! email. Every session the runner opens carries the directory of the run's organisation, so
//! a plugin can only ever reach its own organisation's people.

use std::sync::Arc;

use assent_plugin_host::{Directory, EventCountQuery, ServiceError, ServiceFuture};
use assent_store::{EventCount, EventKind, NewEvent, NewUser, StoreError};
use assent_types::{Identity, User};
use serde_json::json;

use crate::{Runner, RuntimeError};

/// One organisation's people, for its plugins.
struct OrgDirectory {
    runner: Runner,
    org_id: String,
}

/// The organisation's people, for a session of one of its plugins.
pub(crate) fn directory_of(runner: &Runner, org_id: &str) -> Arc<dyn Directory> {
    Arc::new(OrgDirectory {
        runner: runner.clone(),
        org_id: org_id.to_owned(),
    })
}

/// A time as a plugin gave it (RFC 3339), in Unix milliseconds.
fn millis(name: &str, time: Option<&str>) -> Result<Option<i64>, ServiceError> {
    let Some(time) = time else { return Ok(None) };
    let parsed = humantime::parse_rfc3339_weak(time).map_err(|_| {
        ServiceError::InvalidInput(format!(
            "`{name}` is `{time}`, not a time; give an RFC 3339 time such as `2026-01-31T09:00:00Z`"
        ))
    })?;
    let since_epoch = parsed
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Ok(Some(
        i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX),
    ))
}

/// What a plugin hears of a runner error: the rule it broke, or that the directory is down
/// (the database's own words stay in the server's log, not in a plugin's error).
fn service_error(error: RuntimeError) -> ServiceError {
    match error {
        RuntimeError::InvalidInput(message) => ServiceError::InvalidInput(message),
        RuntimeError::Store(StoreError::Conflict(what)) => {
            ServiceError::InvalidInput(format!("{what} already exists"))
        }
        other => {
            tracing::warn!(error = %other, "a plugin's user directory call failed");
            ServiceError::Unavailable(
                "the organisation's user directory is unavailable just now; try again".into(),
            )
        }
    }
}

impl OrgDirectory {
    async fn count(&self, query: EventCountQuery) -> Result<u64, ServiceError> {
        let count = EventCount {
            requester_id: query.user_id,
            step: query.event,
            since: millis("since", query.since.as_deref())?,
            until: millis("until", query.until.as_deref())?,
            flow_name: query.flow,
            target_id: query.target,
            include_errored: query.include_errored,
        };
        self.runner
            .store
            .event_count(&self.org_id, &count)
            .await
            .map_err(|error| service_error(error.into()))
    }

    async fn keep_identity(&self, email: String, identity: Identity) -> Result<User, ServiceError> {
        let Some(user) = self
            .runner
            .store
            .user_by_email(&self.org_id, &email)
            .await
            .map_err(|error| service_error(error.into()))?
        else {
            return Err(ServiceError::InvalidInput(format!(
                "the organisation has no user `{email}`; add them first (`get_or_create_user_by_email`)"
            )));
        };
        if identity.service.trim().is_empty() || identity.external_id.trim().is_empty() {
            return Err(ServiceError::InvalidInput(
                "an identity needs a `service` and the user's id in it".into(),
            ));
        }
        let mut identities: Vec<Identity> = user
            .identities
            .into_iter()
            .filter(|kept| {
                kept.service != identity.service || kept.service_id != identity.service_id
            })
            .collect();
        let service = identity.service.clone();
        identities.push(identity);
        let change = NewUser {
            email: user.email.clone(),
            identities: Some(identities),
            ..NewUser::default()
        };
        let kept = self
            .runner
            .put_user_from_plugin(&self.org_id, change, json!({ "identity": service }))
            .await
            .map_err(service_error)?;
        Ok(kept)
    }

    async fn user_by_email(&self, email: String) -> Result<User, ServiceError> {
        let known = self
            .runner
            .store
            .user_by_email(&self.org_id, &email)
            .await
            .map_err(|error| service_error(error.into()))?;
        if let Some(user) = known {
            return Ok(user);
        }
        let new = NewUser {
            email,
            ..NewUser::default()
        };
        self.runner
            .put_user_from_plugin(&self.org_id, new, json!({ "created": true }))
            .await
            .map_err(service_error)
    }
}

impl Directory for OrgDirectory {
    fn event_count(&self, query: EventCountQuery) -> ServiceFuture<'_, u64> {
        Box::pin(self.count(query))
    }

    fn persist_identity(&self, email: String, identity: Identity) -> ServiceFuture<'_, User> {
        Box::pin(self.keep_identity(email, identity))
    }

    fn get_or_create_user(&self, email: String) -> ServiceFuture<'_, User> {
        Box::pin(self.user_by_email(email))
    }
}

impl Runner {
    /// A change to a person a plugin asked for: the same rules as any other, audited as the
    /// plugin's (no person acted), with `detail` saying what changed.
    async fn put_user_from_plugin(
        &self,
        org_id: &str,
        user: NewUser,
        detail: serde_json::Value,
    ) -> Result<User, RuntimeError> {
        crate::admin::require_email(&user.email)?;
        let kept = self.store.upsert_user(org_id, &user).await?;
        let mut data = json!({ "user": kept.email, "by": "plugin" });
        if let (Some(data), Some(detail)) = (data.as_object_mut(), detail.as_object()) {
            data.extend(detail.clone());
        }
        self.store
            .append(org_id, &[NewEvent::org(EventKind::UserUpdated, None, data)])
            .await?;
        Ok(kept)
    }
}
