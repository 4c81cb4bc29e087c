//! The functions a plugin exports, found once per plugin and type-checked once per plugin.
//!
//! Generated bindings look up and type-check every export of an instance each time it is
//! instantiated; profiling showed that at ~20% of an instantiate + call. Here each export's
//! index is resolved when the plugin loads, its type is checked against exactly the Rust types
//! used to call it on the first instance (the one that answers `describe`), and later instances
//! reuse that check.
//!
//! Each contract version lists its exports with [`plugin_exports!`] (see
//! `contract::v0_1_0::calls`); this module knows no version.

/// Declares `Exports`: one plugin's export indices, with `resolve`, `check`, and one async
/// method per export that calls it on an instance.
macro_rules! plugin_exports {
    ($(
        $(#[$doc:meta])*
        $field:ident: $interface:literal . $name:literal ($($param:ty),*) -> $ret:ty;
    )*) => {
        /// Export indices of one plugin. Invariant: `check` has succeeded for the component
        /// they were resolved from before any export is called.
        #[derive(Debug)]
        pub(crate) struct Exports {
            $( $field: ::wasmtime::component::ComponentExportIndex, )*
        }

        impl Exports {
            /// Resolves every export's index; names the first one missing.
            pub(crate) fn resolve(
                pre: &::wasmtime::component::InstancePre<$crate::state::CallState>,
            ) -> Result<Exports, String> {
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
                store: &mut ::wasmtime::Store<$crate::state::CallState>,
                instance: &::wasmtime::component::Instance,
            ) -> Result<(), String> {
                use ::wasmtime::AsContextMut as _;
                $(
                    instance
                        .get_typed_func::<($($param,)*), ($ret,)>(store.as_context_mut(), &self.$field)
                        .map_err(|error| format!("`{}` in `{}`: {error:#}", $name, $interface))?;
                )*
                Ok(())
            }

            $(
                $(#[$doc])*
                pub(crate) async fn $field(
                    &self,
                    store: &mut ::wasmtime::Store<$crate::state::CallState>,
                    instance: &::wasmtime::component::Instance,
                    params: ($($param,)*),
                ) -> ::wasmtime::Result<$ret> {
                    use ::wasmtime::AsContextMut as _;
                    let func = instance
                        .get_func(store.as_context_mut(), &self.$field)
                        .ok_or_else(|| ::wasmtime::format_err!("the plugin has no `{}` export", $name))?;
                    // SAFETY: `check` verified this export of this component against exactly
                    // these parameter and result types (see the invariant on `Exports`); every
                    // instance of a component has the same export types.
                    #[allow(unsafe_code)]
                    let typed = unsafe {
                        ::wasmtime::component::TypedFunc::<($($param,)*), ($ret,)>::new_unchecked(func)
                    };
                    let (result,) = typed.call_async(store, params).await?;
                    Ok(result)
                }
            )*
        }
    };
}

pub(crate) use plugin_exports;
