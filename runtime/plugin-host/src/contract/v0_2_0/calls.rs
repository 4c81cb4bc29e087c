//! The exports of an `assent:flow@0.2.0` plugin, and how a version-neutral [`Call`] maps onto
//! them.

use assent_types as host;
use wasmtime::Store;
use wasmtime::component::Instance;

use super::{convert, wit};
use crate::contract::{Call, Manifest, Reply};
use crate::exports::plugin_exports;
use crate::state::CallState;

type PluginResult<T> = Result<T, wit::PluginError>;

plugin_exports! {
    describe: "assent:flow/meta@0.2.0" . "describe" () -> wit::Manifest;
    get_permissions: "assent:flow/flow@0.2.0" . "get-permissions" (wit::Event) -> PluginResult<wit::RequestPermission>;
    get_request_notifications: "assent:flow/flow@0.2.0" . "get-request-notifications" (wit::Event) -> PluginResult<Vec<wit::Notification>>;
    get_approvers: "assent:flow/flow@0.2.0" . "get-approvers" (wit::Event) -> PluginResult<wit::Approvers>;
    get_identity: "assent:flow/flow@0.2.0" . "get-identity" (wit::Event) -> PluginResult<Option<String>>;
    get_timeout: "assent:flow/flow@0.2.0" . "get-timeout" (wit::Event) -> PluginResult<Option<u64>>;
    on_step: "assent:flow/flow@0.2.0" . "on-step" (wit::Step, wit::Event) -> PluginResult<wit::HookOutcome>;
    after_step: "assent:flow/flow@0.2.0" . "after-step" (wit::Step, wit::Event) -> PluginResult<()>;
    fetch_remote_identity: "assent:flow/strategy@0.2.0" . "fetch-remote-identity" (wit::User) -> PluginResult<Option<String>>;
    escalate: "assent:flow/strategy@0.2.0" . "escalate" (wit::Target, wit::Event) -> PluginResult<Option<String>>;
    deescalate: "assent:flow/strategy@0.2.0" . "deescalate" (wit::Target, wit::Event) -> PluginResult<Option<String>>;
    get_flows: "assent:flow/flow@0.2.0" . "get-flows" (wit::User, Vec<wit::Flow>, Vec<(String, String)>) -> PluginResult<Vec<String>>;
    prefetch: "assent:flow/flow@0.2.0" . "prefetch" (String, wit::Event) -> PluginResult<Vec<wit::FieldOption>>;
    on_change: "assent:flow/flow@0.2.0" . "on-change" (String, wit::User, Vec<wit::FormField>) -> PluginResult<Vec<wit::FormField>>;
}

impl Exports {
    /// `meta.describe`, in host terms.
    pub(crate) async fn manifest(
        &self,
        store: &mut Store<CallState>,
        instance: &Instance,
    ) -> wasmtime::Result<Manifest> {
        let manifest = self.describe(store, instance, ()).await?;
        Ok(Manifest {
            sdk: manifest.sdk,
            handlers: manifest.handlers.into_iter().map(Into::into).collect(),
            prefetch_fields: manifest.prefetch_fields,
            on_change_fields: manifest.on_change_fields,
        })
    }

    /// Converts `call` to this version's types, calls its export, and converts the answer back.
    pub(crate) async fn call(
        &self,
        store: &mut Store<CallState>,
        instance: &Instance,
        call: Call<'_>,
    ) -> wasmtime::Result<Result<Reply, host::PluginError>> {
        let reply = match call {
            Call::GetPermissions(event) => self
                .get_permissions(store, instance, (event.into(),))
                .await?
                .map(|permission| Reply::Permissions(permission.into())),
            Call::GetRequestNotifications(event) => self
                .get_request_notifications(store, instance, (event.into(),))
                .await?
                .map(|notifications| {
                    Reply::Notifications(notifications.into_iter().map(Into::into).collect())
                }),
            Call::GetApprovers(event) => self
                .get_approvers(store, instance, (event.into(),))
                .await?
                .map(|approvers| Reply::Approvers(approvers.into())),
            Call::GetIdentity(event) => self
                .get_identity(store, instance, (event.into(),))
                .await?
                .map(Reply::Identity),
            Call::GetTimeout(event) => self
                .get_timeout(store, instance, (event.into(),))
                .await?
                .map(Reply::Timeout),
            Call::On(step, event) => self
                .on_step(store, instance, (step.into(), event.into()))
                .await?
                .map(|outcome| Reply::Hook(outcome.into())),
            Call::After(step, event) => self
                .after_step(store, instance, (step.into(), event.into()))
                .await?
                .map(|()| Reply::Done),
            Call::FetchRemoteIdentity(user) => self
                .fetch_remote_identity(store, instance, (user.into(),))
                .await?
                .map(Reply::Identity),
            Call::Escalate(target, event) => self
                .escalate(store, instance, (target.into(), event.into()))
                .await?
                .map(Reply::Output),
            Call::Deescalate(target, event) => self
                .deescalate(store, instance, (target.into(), event.into()))
                .await?
                .map(Reply::Output),
            Call::GetFlows(user, flows, vars) => {
                let flows = flows.iter().map(Into::into).collect();
                let vars = convert::pairs(vars);
                self.get_flows(store, instance, (user.into(), flows, vars))
                    .await?
                    .map(Reply::Flows)
            }
            Call::Prefetch(field, event) => self
                .prefetch(store, instance, (field.to_owned(), event.into()))
                .await?
                .map(|options| Reply::Options(options.into_iter().map(Into::into).collect())),
            Call::OnChange(field, event, form) => {
                let form = form.iter().map(Into::into).collect();
                // 0.2.0's `on-change` is given the person alone, not the flow.
                self.on_change(
                    store,
                    instance,
                    (field.to_owned(), (&event.user).into(), form),
                )
                .await?
                .map(|form| Reply::Form(form.into_iter().map(Into::into).collect()))
            }
        };
        Ok(reply.map_err(Into::into))
    }
}
