//! `#[assent_sdk::plugin]`: put it on `impl Plugin for YourType { … }`.
//!
//! It keeps the `impl` block as written, records which handlers the block defines (so the
//! host never calls a default), and exports the type through the WIT bindings.

use proc_macro::TokenStream;
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::{ImplItem, ItemImpl, parse_macro_input};

/// Handler method names and the WIT `handler` case each one reports.
const HANDLERS: &[(&str, &str)] = &[
    ("get_permissions", "GetPermissions"),
    ("get_request_notifications", "GetRequestNotifications"),
    ("get_approvers", "GetApprovers"),
    ("get_identity", "GetIdentity"),
    ("get_timeout", "GetTimeout"),
    ("on_prompt", "OnPrompt"),
    ("on_request", "OnRequest"),
    ("on_approve", "OnApprove"),
    ("on_deny", "OnDeny"),
    ("on_escalate", "OnEscalate"),
    ("on_deescalate", "OnDeescalate"),
    ("on_request_forward", "OnRequestForward"),
    ("on_request_expire", "OnRequestExpire"),
    ("after_prompt", "AfterPrompt"),
    ("after_request", "AfterRequest"),
    ("after_approve", "AfterApprove"),
    ("after_deny", "AfterDeny"),
    ("after_escalate", "AfterEscalate"),
    ("after_deescalate", "AfterDeescalate"),
    ("after_request_forward", "AfterRequestForward"),
    ("after_request_expire", "AfterRequestExpire"),
    ("fetch_remote_identity", "FetchRemoteIdentity"),
    ("escalate", "Escalate"),
    ("deescalate", "Deescalate"),
    ("get_flows", "GetFlows"),
    ("prefetch", "Prefetch"),
    ("on_change", "OnChange"),
];

#[proc_macro_attribute]
pub fn plugin(attribute: TokenStream, item: TokenStream) -> TokenStream {
    if !attribute.is_empty() {
        let attribute = proc_macro2::TokenStream::from(attribute);
        return syn::Error::new(
            attribute.span(),
            "`#[assent_sdk::plugin]` takes no arguments",
        )
        .to_compile_error()
        .into();
    }
    let block = parse_macro_input!(item as ItemImpl);
    match expand(&block) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

fn expand(block: &ItemImpl) -> syn::Result<proc_macro2::TokenStream> {
    let implements_plugin = block
        .trait_
        .as_ref()
        .and_then(|(_, path, _)| path.segments.last())
        .is_some_and(|segment| segment.ident == "Plugin");
    if !implements_plugin {
        return Err(syn::Error::new(
            block.span(),
            "put `#[assent_sdk::plugin]` on an `impl Plugin for YourType { … }` block",
        ));
    }

    let mut handlers = Vec::new();
    for item in &block.items {
        let ImplItem::Fn(method) = item else { continue };
        let name = method.sig.ident.to_string();
        match HANDLERS.iter().find(|(handler, _)| *handler == name) {
            Some((_, case)) => handlers.push(format_ident!("{}", case)),
            None => {
                let known: Vec<&str> = HANDLERS.iter().map(|(handler, _)| *handler).collect();
                return Err(syn::Error::new(
                    method.sig.ident.span(),
                    format!(
                        "`{name}` is not an Assent handler; handlers are: {}",
                        known.join(", ")
                    ),
                ));
            }
        }
    }

    let self_ty = &block.self_ty;
    Ok(quote! {
        #block

        impl ::assent_sdk::__private::Described for #self_ty {
            const HANDLERS: &'static [::assent_sdk::__private::Handler] = &[
                #(::assent_sdk::__private::Handler::#handlers),*
            ];
        }

        #[doc(hidden)]
        type __AssentPluginExport = ::assent_sdk::__private::Adapter<#self_ty>;
        ::assent_sdk::__private::export!(__AssentPluginExport with_types_in ::assent_sdk::__private::bindings);
    })
}
