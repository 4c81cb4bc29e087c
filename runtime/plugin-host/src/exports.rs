//! The functions a plugin exports, found once per plugin and type-checked once per plugin.
//!
//! Generated bindings look up and type-check every export of an instance each time it is
//! instantiated; profiling showed that at ~20% of an instantiate + call. Here each export's
//! index is resolved when the plugin loads, its type is checked against exactly the Rust types
//! used to call it on the first instance (the one that answers `describe`), and later instances
//! reuse that check.

use wasmtime::component::{ComponentExportIndex, Instance, InstancePre, TypedFunc};
use wasmtime::{AsContextMut, Store};

use crate::contract::v0_1_0::wit;
use crate::state::CallState;

type PluginResult<T> = Result<T, wit::PluginError>;

macro_rules! plugin_exports {
    ($(
        $(#[$doc:meta])*
        $field:ident: $interface:literal . $name:literal ($($param:ty),*) -> $ret:ty;
    )*) => {
        /// Export indices of one plugin. Invariant: `check` has succeeded for the component
        /// they were resolved from before any accessor is used.
        #[derive(Debug)]
        pub(crate) struct Exports {
            $( $field: ComponentExportIndex, )*
        }

        impl Exports {
            /// Resolves every export's index; names the first one missing.
            pub(crate) fn resolve(pre: &InstancePre<CallState>) -> Result<Exports, String> {
                let component = pre.component();
                Ok(Exports {
                    $( $field: {
                        let interface = component
                            .get_export_index(None, $interface)
                            .ok_or_else(|| format!("no export `{}`", $interface))?;
                        component
                            .get_export_index(Some(&interface), $name)
                            .ok_or_else(|| format!("`{}` exports no function `{}`", $interface, $name))?
                    }, )*
                })
            }

            /// Checks every export's type against the types the host calls it with.
            pub(crate) fn check(
                &self,
                store: &mut Store<CallState>,
                instance: &Instance,
            ) -> Result<(), String> {
                $(
                    instance
                        .get_typed_func::<($($param,)*), ($ret,)>(store.as_context_mut(), &self.$field)
                        .map_err(|error| format!("`{}` in `{}`: {error:#}", $name, $interface))?;
                )*
                Ok(())
            }

            $(
                $(#[$doc])*
                pub(crate) fn $field(
                    &self,
                    store: &mut Store<CallState>,
                    instance: &Instance,
                ) -> wasmtime::Result<TypedFunc<($($param,)*), ($ret,)>> {
                    let func = instance
                        .get_func(store.as_context_mut(), &self.$field)
                        .ok_or_else(|| wasmtime::format_err!("the plugin has no `{}` export", $name))?;
                    // SAFETY: `check` verified this export of this component against exactly
                    // these parameter and result types (see the invariant on `Exports`); every
                    // instance of a component has the same export types.
                    #[allow(unsafe_code)]
                    let typed = unsafe { TypedFunc::new_unchecked(func) };
                    Ok(typed)
                }
            )*
        }
    };
}

plugin_exports! {
    describe: "assent:flow/meta@0.1.0" . "describe" () -> wit::Manifest;
    get_permissions: "assent:flow/flow@0.1.0" . "get-permissions" (wit::Event) -> PluginResult<wit::RequestPermission>;
    get_request_notifications: "assent:flow/flow@0.1.0" . "get-request-notifications" (wit::Event) -> PluginResult<Vec<wit::Notification>>;
    get_approvers: "assent:flow/flow@0.1.0" . "get-approvers" (wit::Event) -> PluginResult<wit::Approvers>;
    get_identity: "assent:flow/flow@0.1.0" . "get-identity" (wit::Event) -> PluginResult<Option<String>>;
    get_timeout: "assent:flow/flow@0.1.0" . "get-timeout" (wit::Event) -> PluginResult<Option<u64>>;
    on_step: "assent:flow/flow@0.1.0" . "on-step" (wit::Step, wit::Event) -> PluginResult<wit::HookOutcome>;
    after_step: "assent:flow/flow@0.1.0" . "after-step" (wit::Step, wit::Event) -> PluginResult<()>;
    fetch_remote_identity: "assent:flow/strategy@0.1.0" . "fetch-remote-identity" (wit::User) -> PluginResult<Option<String>>;
    escalate: "assent:flow/strategy@0.1.0" . "escalate" (wit::Target, wit::Event) -> PluginResult<Option<String>>;
    deescalate: "assent:flow/strategy@0.1.0" . "deescalate" (wit::Target, wit::Event) -> PluginResult<Option<String>>;
}
