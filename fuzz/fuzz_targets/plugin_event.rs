//! An event as JSON (what `assent plugin call` reads, and what the runner hands a plugin)
//! crossing the contract into a real plugin: the echo test plugin, loaded once, writes back
//! what it received. Any event crosses without a panic in the host or a trap in the plugin,
//! and the plugin sees the host's own values.
//!
//! `ASSENT_FUZZ_PLUGIN` names the echo plugin's component (`scripts/fuzz` builds it).

#![no_main]

use std::sync::LazyLock;

use assent_plugin_host::{CallFailure, HostConfig, Plugin, PluginHost};
use assent_types::Event;
use libfuzzer_sys::fuzz_target;
use tokio::runtime::Runtime;

struct Echo {
    runtime: Runtime,
    plugin: Plugin,
}

static ECHO: LazyLock<Echo> = LazyLock::new(|| {
    let path = std::env::var("ASSENT_FUZZ_PLUGIN").unwrap_or_else(|_| {
        panic!("set ASSENT_FUZZ_PLUGIN to the echo plugin's component (scripts/fuzz does)")
    });
    let bytes = std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|error| panic!("a runtime: {error}"));
    let plugin = runtime.block_on(async {
        let host = PluginHost::new(HostConfig::default())
            .unwrap_or_else(|error| panic!("a plugin host: {error}"));
        host.load(bytes)
            .await
            .unwrap_or_else(|error| panic!("{path}: {error}"))
    });
    Echo { runtime, plugin }
});

fuzz_target!(|data: &[u8]| {
    let Ok(event) = serde_json::from_slice::<Event>(data) else {
        return;
    };
    let echo = &*ECHO;
    echo.runtime.block_on(async {
        let mut session = echo
            .plugin
            .session()
            .await
            .unwrap_or_else(|error| panic!("a session: {error}"));
        match session.get_identity(&event).await {
            Ok(Some(summary)) => {
                let run = format!("run={}", event.run.id);
                assert!(summary.contains(&run), "`{run}` missing from {summary}");
                let user = format!("user={}/{}/", event.user.id, event.user.email);
                assert!(summary.contains(&user), "`{user}` missing from {summary}");
            }
            Ok(None) => panic!("the echo plugin always answers get_identity"),
            // The host refuses an answer past its size cap, saying so; and the plugin fails
            // on purpose when the flow's vars say `fail=get_identity`. Nothing else may fail.
            Err(error) if matches!(error.cause, CallFailure::BadReturn(_)) => {}
            Err(error)
                if matches!(error.cause, CallFailure::Plugin(_))
                    && event.flow.vars.get("fail").map(String::as_str) == Some("get_identity") => {}
            Err(error) => panic!("the event did not cross: {error}"),
        }
    });
});
