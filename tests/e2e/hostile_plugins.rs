//! Hostile and malformed plugins are refused or stopped with the right error, and the host
//! keeps serving the next call.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use assent_plugin_host::{CallFailure, HostConfig, Limits, LoadError, Plugin, PluginHost};
use assent_tests::plugin_bytes;
use assent_types::{Event, PermissionLevel, PluginError, Step};

fn host() -> PluginHost {
    PluginHost::new(HostConfig::default()).unwrap()
}

fn behaving(behavior: &str) -> Event {
    let mut event = Event {
        name: Step::Request,
        ..Event::default()
    };
    event.flow.vars.insert("behavior".into(), behavior.into());
    event
}

async fn hostile(host: &PluginHost) -> Plugin {
    host.load(plugin_bytes("hostile-plugin")).await.unwrap()
}

/// The host still answers normally: the same plugin with good input, and another plugin.
async fn assert_host_serves_next_call(host: &PluginHost, plugin: &Plugin) {
    let mut session = plugin.session().await.unwrap();
    let permission = session.get_permissions(&behaving("none")).await.unwrap();
    assert_eq!(
        permission.approve_deny,
        assent_types::Permission::Level(PermissionLevel::Member)
    );
    let other = host.load(plugin_bytes("echo-plugin")).await.unwrap();
    assert!(
        other
            .session()
            .await
            .unwrap()
            .get_permissions(&Event::default())
            .await
            .is_ok()
    );
}

async fn failure(plugin: &Plugin, behavior: &str) -> CallFailure {
    let mut session = plugin.session().await.unwrap();
    let error = session
        .get_permissions(&behaving(behavior))
        .await
        .expect_err("the hostile call must fail");
    assert_eq!(error.handler, "get_permissions");
    assert_eq!(error.plugin, plugin.name());
    error.cause
}

#[tokio::test]
async fn an_infinite_loop_hits_the_deadline() {
    let host = host();
    let plugin = hostile(&host).await;
    assert_eq!(
        failure(&plugin, "loop").await,
        CallFailure::DeadlineExceeded {
            deadline: Duration::from_millis(100)
        }
    );
    assert_host_serves_next_call(&host, &plugin).await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_looping_plugin_does_not_hold_the_worker_thread() {
    let host = host();
    let slow_limits = Limits {
        deadline: Duration::from_secs(5),
        ..Limits::default()
    };
    let looping = hostile(&host).await.with_limits(slow_limits);
    let spinner = tokio::spawn(async move { failure(&looping, "loop").await });
    tokio::task::yield_now().await;

    // On a single-threaded runtime this call can only run if the loop yields.
    let echo = host.load(plugin_bytes("echo-plugin")).await.unwrap();
    let mut session = echo.session().await.unwrap();
    assert!(session.get_permissions(&Event::default()).await.is_ok());
    assert!(!spinner.is_finished(), "the loop should still be running");
    // Stopped by its CPU deadline — or, on a machine so loaded that five seconds of CPU take
    // longer than the wall-clock limit, by that: either way the loop ended and never held
    // the thread.
    let stopped = spinner.await.unwrap();
    assert!(
        matches!(
            stopped,
            CallFailure::DeadlineExceeded { .. } | CallFailure::WallClockExceeded { .. }
        ),
        "{stopped:?}"
    );
}

/// The deadline counts the plugin's own CPU time, not the time its call waits for a thread:
/// a call of a few tens of milliseconds of work finishes even when the one thread it runs on
/// is held, between two of its slices, for three times its whole deadline (as under load,
/// behind other tenants' calls or other processes).
#[tokio::test(flavor = "current_thread")]
async fn waiting_for_the_thread_does_not_count_against_the_deadline() {
    let host = host();
    let plugin = hostile(&host).await;
    let deadline = Limits::default().deadline;

    // Find an amount of work that spans several epoch ticks (so the call yields the thread
    // midway) and stays well inside the deadline.
    let mut iterations = 1_000_000_u64;
    let mut work = behaving("work");
    let alone = loop {
        work.flow
            .vars
            .insert("iterations".into(), iterations.to_string());
        let mut session = plugin.session().await.unwrap();
        session.get_permissions(&work).await.unwrap();
        let used = session.cpu_time();
        if used >= Duration::from_millis(20) || iterations > 1 << 40 {
            break used;
        }
        iterations *= 2;
    };
    assert!(alone < deadline / 2, "the work alone took {alone:?}");

    let mut session = plugin.session().await.unwrap();
    let started = std::time::Instant::now();
    let call = tokio::spawn(async move {
        let answer = session.get_permissions(&work).await;
        (answer, session.cpu_time())
    });
    // Queued behind the call: runs when the call first yields, and holds the thread.
    let hog = tokio::spawn(async move { std::thread::sleep(deadline * 3) });
    let (answer, used) = call.await.unwrap();
    hog.await.unwrap();

    assert!(started.elapsed() >= deadline * 3);
    assert!(answer.is_ok(), "{answer:?}");
    assert!(used < deadline, "charged {used:?}");
}

/// A plugin that waits for ever (here in a sleep; later, on a call that never answers) uses
/// no CPU, so the wall-clock limit stops it, and says it was waiting.
#[tokio::test]
async fn a_plugin_that_waits_for_ever_hits_the_wall_clock_limit() {
    let host = host();
    let limits = Limits {
        wall_clock: Duration::from_millis(500),
        ..Limits::default()
    };
    let plugin = hostile(&host).await.with_limits(limits);
    let cause = failure(&plugin, "sleep").await;
    assert_eq!(
        cause,
        CallFailure::WallClockExceeded {
            limit: Duration::from_millis(500)
        }
    );
    assert!(cause.to_string().contains("waiting"), "{cause}");
    assert_host_serves_next_call(&host, &plugin).await;
}

#[tokio::test]
async fn a_memory_bomb_hits_the_memory_limit() {
    let host = host();
    let plugin = hostile(&host).await;
    assert_eq!(
        failure(&plugin, "memory").await,
        CallFailure::OutOfMemory { limit: 64 << 20 }
    );
    assert_host_serves_next_call(&host, &plugin).await;
}

#[tokio::test]
async fn a_panic_is_a_trap_with_the_panic_message() {
    let host = host();
    let plugin = hostile(&host).await;
    let CallFailure::Trap { trap } = failure(&plugin, "trap").await else {
        panic!("expected a trap");
    };
    assert!(trap.contains("unreachable"), "{trap}");
    assert!(
        trap.contains("the hostile plugin panicked on purpose"),
        "{trap}"
    );
    assert_host_serves_next_call(&host, &plugin).await;
}

#[tokio::test]
async fn unbounded_recursion_is_a_trap() {
    let host = host();
    let plugin = hostile(&host).await;
    let CallFailure::Trap { trap } = failure(&plugin, "stack").await else {
        panic!("expected a trap");
    };
    // Rust keeps its shadow stack in linear memory: overflowing it is an out-of-bounds access;
    // overflowing wasm's own call stack is "call stack exhausted".
    assert!(
        trap.contains("out of bounds memory access") || trap.contains("stack"),
        "{trap}"
    );
    assert_host_serves_next_call(&host, &plugin).await;
}

#[tokio::test]
async fn a_trapped_session_refuses_further_calls() {
    let host = host();
    let plugin = hostile(&host).await;
    let mut session = plugin.session().await.unwrap();
    assert!(session.get_permissions(&behaving("trap")).await.is_err());
    let error = session
        .get_permissions(&behaving("none"))
        .await
        .unwrap_err();
    assert_eq!(error.cause, CallFailure::Poisoned);
}

#[tokio::test]
async fn files_are_out_of_reach() {
    let host = host();
    let plugin = hostile(&host).await;
    for behavior in ["read-file", "write-file"] {
        let CallFailure::Plugin(PluginError { kind, message }) = failure(&plugin, behavior).await
        else {
            panic!("expected the plugin's own io error");
        };
        assert_eq!(kind, "io", "{behavior}: {message}");
    }
    assert!(!std::path::Path::new("/tmp/assent-hostile").exists());
}

#[tokio::test]
async fn sockets_are_refused() {
    let host = host();
    let plugin = hostile(&host).await;
    let CallFailure::Plugin(PluginError { kind, message }) = failure(&plugin, "socket").await
    else {
        panic!("expected the plugin's own io error");
    };
    assert_eq!(kind, "io", "{message}");
}

#[tokio::test]
async fn the_environment_is_empty() {
    let host = host();
    let plugin = hostile(&host).await;
    assert_eq!(
        failure(&plugin, "env").await,
        CallFailure::Plugin(PluginError {
            kind: "env".into(),
            message: "0 variables, 0 arguments".into()
        })
    );
}

#[tokio::test]
async fn stdout_is_captured_and_bounded() {
    let host = host();
    let plugin = hostile(&host).await;
    let mut session = plugin.session().await.unwrap();
    session.get_permissions(&behaving("flood")).await.unwrap();
    let (stdout, stderr) = session.output();
    assert!(stdout.starts_with("xxxx"));
    assert!(
        stdout.ends_with("more bytes dropped]"),
        "{}",
        &stdout[stdout.len() - 60..]
    );
    assert!(stdout.len() < 17 << 10);
    assert!(stderr.is_empty());
}

// Malformed uploads.

async fn load_error(bytes: Vec<u8>) -> LoadError {
    host()
        .load(bytes)
        .await
        .expect_err("the plugin must be refused")
}

#[tokio::test]
async fn junk_and_empty_bytes_are_refused() {
    assert!(matches!(load_error(Vec::new()).await, LoadError::Empty));
    assert!(matches!(
        load_error(b"#!/usr/bin/env python3\n".to_vec()).await,
        LoadError::NotWasm
    ));
}

#[tokio::test]
async fn a_core_module_is_not_a_component() {
    let module = wat::parse_str("(module (func (export \"get_permissions\")))").unwrap();
    let error = load_error(module).await;
    assert!(matches!(error, LoadError::CoreModule));
    assert!(error.to_string().contains("wasm32-wasip2"), "{error}");
}

#[tokio::test]
async fn truncated_bytes_are_refused() {
    let bytes = plugin_bytes("approval-only");
    let error = load_error(bytes[..bytes.len() / 2].to_vec()).await;
    let LoadError::Invalid { reason } = &error else {
        panic!("expected an invalid component, got {error}");
    };
    assert!(reason.contains("truncated"), "{reason}");
}

#[tokio::test]
async fn a_component_of_another_world_is_not_a_plugin() {
    let component = wat::parse_str(
        r#"(component
            (instance $api)
            (export "acme:billing/api@1.0.0" (instance $api)))"#,
    )
    .unwrap();
    let error = load_error(component).await;
    assert_eq!(
        error.to_string(),
        "the component does not export `assent:flow/meta`, so it is not an Assent plugin; build it with the Assent SDK (its exports: acme:billing/api@1.0.0)"
    );
}

#[tokio::test]
async fn an_unknown_contract_version_is_named() {
    let component = wat::parse_str(
        r#"(component
            (instance $meta)
            (export "assent:flow/meta@0.9.0" (instance $meta)))"#,
    )
    .unwrap();
    let error = load_error(component).await;
    assert_eq!(
        error.to_string(),
        "the plugin targets `assent:flow@0.9.0`, which this host does not run; supported versions: 0.3.0, 0.2.0, 0.1.0"
    );
}

#[tokio::test]
async fn a_component_missing_the_contract_exports_is_refused() {
    let component = wat::parse_str(
        r#"(component
            (instance $meta)
            (export "assent:flow/meta@0.1.0" (instance $meta)))"#,
    )
    .unwrap();
    let error = load_error(component).await;
    assert!(
        matches!(error, LoadError::ContractMismatch { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("assent:flow@0.1.0"), "{error}");
}

#[tokio::test]
async fn imports_beyond_the_sandbox_are_refused_by_name() {
    let component = wat::parse_str(
        r#"(component
            (import "wasi:http/outgoing-handler@0.2.0" (instance))
            (instance $meta)
            (export "assent:flow/meta@0.1.0" (instance $meta)))"#,
    )
    .unwrap();
    let error = load_error(component).await;
    assert!(
        matches!(&error, LoadError::ForbiddenImport { import, .. } if import == "wasi:http/outgoing-handler@0.2.0"),
        "{error}"
    );
}

#[tokio::test]
async fn an_oversized_plugin_is_refused_before_parsing() {
    let host = PluginHost::new(HostConfig {
        max_component_bytes: 1024,
        ..HostConfig::default()
    })
    .unwrap();
    let error = host.load(plugin_bytes("approval-only")).await.unwrap_err();
    assert!(
        matches!(error, LoadError::TooLarge { limit: 1024, .. }),
        "{error}"
    );
}

/// What a plugin hands back is bounded: a huge error message is cut to what a person reads,
/// saying so, and a huge answer is refused naming its size and the limit; the host serves
/// the next call either way.
#[tokio::test]
async fn huge_messages_are_cut_and_huge_answers_refused() {
    let host = host();
    let plugin = hostile(&host).await;
    let CallFailure::Plugin(PluginError { kind, message }) = failure(&plugin, "huge-error").await
    else {
        panic!("a plugin error is the plugin's own");
    };
    assert_eq!(kind, "huge");
    assert!(message.len() < 5 << 10, "{} bytes kept", message.len());
    assert!(
        message.ends_with("[cut: the plugin's text was 8388608 bytes; the first 4096 are kept]"),
        "{}",
        &message[message.len() - 120..]
    );
    let answer = failure(&plugin, "huge-answer").await;
    let CallFailure::BadReturn(reason) = answer else {
        panic!("an oversized answer is a bad return, not {answer:?}");
    };
    assert!(
        reason.contains("bytes, over the 65536 a handler may return"),
        "{reason}"
    );
    assert_host_serves_next_call(&host, &plugin).await;
}
