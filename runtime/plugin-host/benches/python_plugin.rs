//! A Python plugin (componentize-py) on the host, beside the same `impl.py` on the machine's
//! CPython: build, first compile, precompiled load, instantiate + call `get_permissions`
//! (p50/p99), and a call on a live instance.
//!
//! `cargo bench -p assent-plugin-host --bench python_plugin`. Needs `scripts/setup` (the
//! project's virtualenv with componentize-py).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use assent_plugin_build::{PythonToolchain, build_python};
use assent_plugin_host::{HostConfig, PluginHost};
use assent_tests::workspace_root;
use assent_types::{Event, FieldValue, Role, Step, User};

const IMPL: &str = "examples/python/permissions/impl.py";
const CALLS: usize = 2_000;

fn event() -> Event {
    let ada = User {
        id: "u-ada".into(),
        email: "ada@example.com".into(),
        username: "ada".into(),
        role: Role::Member,
        ..User::default()
    };
    let mut event = Event {
        name: Step::Request,
        user: ada.clone(),
        ..Event::default()
    };
    event.flow.name = "approval".into();
    event.flow.vars = BTreeMap::from([
        ("request_channel".into(), "#sym-requests".into()),
        ("approvers".into(), "grace,alan".into()),
    ]);
    event.payload.fields = BTreeMap::from([
        ("reason".into(), FieldValue::String("incident 4711".into())),
        ("duration".into(), FieldValue::Duration(3600)),
    ]);
    event.run.id = "run-1".into();
    event.run.actors.insert(Step::Request, ada);
    event
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * fraction).round() as usize]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn main() {
    let root = workspace_root();
    let file = root.join(IMPL);
    let toolchain = PythonToolchain::from_workspace();
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("plugin.wasm");

    let started = Instant::now();
    build_python(&file, &out, &toolchain).unwrap();
    let build = started.elapsed();
    let bytes = std::fs::read(&out).unwrap();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let cache = scratch.path().join("compiled");
        let config = HostConfig {
            cache_dir: Some(cache.clone()),
            ..HostConfig::default()
        };
        let host = PluginHost::new(config.clone()).unwrap();
        let started = Instant::now();
        host.load(bytes.clone()).await.unwrap();
        let compile = started.elapsed();

        // A fresh host, as after a restart: the artifact comes from the disk cache.
        let mut loads = Vec::new();
        let mut plugin = None;
        for _ in 0..5 {
            let host = PluginHost::new(config.clone()).unwrap();
            let started = Instant::now();
            plugin = Some(host.load(bytes.clone()).await.unwrap());
            loads.push(started.elapsed());
        }
        loads.sort();
        let plugin = plugin.unwrap();
        let event = event();

        for _ in 0..200 {
            let mut session = plugin.fresh_session().await.unwrap();
            black_box(session.get_permissions(&event).await.unwrap());
        }
        let mut calls = Vec::with_capacity(CALLS);
        let mut instantiations = Vec::with_capacity(CALLS);
        for _ in 0..CALLS {
            let started = Instant::now();
            let mut session = plugin.fresh_session().await.unwrap();
            let instantiated = started.elapsed();
            black_box(session.get_permissions(&event).await.unwrap());
            calls.push(started.elapsed());
            instantiations.push(instantiated);
        }
        calls.sort();
        instantiations.sort();

        // A session instantiated and warmed with `describe` ahead of time: what a call would
        // cost on the request path if instances were prepared off it.
        let mut prepared = Vec::with_capacity(CALLS);
        for _ in 0..CALLS {
            let mut session = plugin.fresh_session().await.unwrap();
            session.warm_up().await.unwrap();
            let started = Instant::now();
            black_box(session.get_permissions(&event).await.unwrap());
            prepared.push(started.elapsed());
        }
        prepared.sort();

        // The request path as the server sees it: `session()` takes a prepared session,
        // and dropping it makes the next. Calls 2 ms apart (500/s) leave time for that.
        let mut served = Vec::with_capacity(CALLS);
        for _ in 0..CALLS {
            tokio::time::sleep(Duration::from_millis(2)).await;
            let started = Instant::now();
            let mut session = plugin.session().await.unwrap();
            black_box(session.get_permissions(&event).await.unwrap());
            served.push(started.elapsed());
        }
        served.sort();

        let mut session = plugin.session().await.unwrap();
        let mut warm = Vec::with_capacity(CALLS);
        for _ in 0..CALLS {
            let started = Instant::now();
            black_box(session.get_permissions(&event).await.unwrap());
            warm.push(started.elapsed());
        }
        warm.sort();

        println!(
            "python plugin `{IMPL}` ({:.1} MiB component)",
            bytes.len() as f64 / (1 << 20) as f64
        );
        println!("  build (componentize-py)           {:>9.0} ms", ms(build));
        println!(
            "  first compile (cranelift)         {:>9.0} ms",
            ms(compile)
        );
        println!(
            "  precompiled load (median of 5)    {:>9.2} ms",
            ms(loads[2])
        );
        println!(
            "  instantiate + get_permissions     p50 {:.3} ms  p99 {:.3} ms  ({CALLS} calls)",
            ms(percentile(&calls, 0.5)),
            ms(percentile(&calls, 0.99))
        );
        println!(
            "    of which instantiation          p50 {:.3} ms  p99 {:.3} ms",
            ms(percentile(&instantiations, 0.5)),
            ms(percentile(&instantiations, 0.99))
        );
        println!(
            "  session() + get_permissions, prepared p50 {:.3} ms  p99 {:.3} ms  (500 calls/s)",
            ms(percentile(&served, 0.5)),
            ms(percentile(&served, 0.99))
        );
        println!(
            "  first get_permissions after describe p50 {:.3} ms  p99 {:.3} ms",
            ms(percentile(&prepared, 0.5)),
            ms(percentile(&prepared, 0.99))
        );
        println!(
            "  get_permissions on a live instance p50 {:.3} ms  p99 {:.3} ms",
            ms(percentile(&warm, 0.5)),
            ms(percentile(&warm, 0.99))
        );
    });

    // The same file on the machine's CPython.
    let python = toolchain.venv.join("bin/python");
    let script = root.join("runtime/plugin-host/benches/native_python.py");
    let impl_dir = file.parent().unwrap();
    let output = Command::new(&python)
        .arg(&script)
        .arg(&toolchain.sdk)
        .arg(impl_dir)
        .args(["warm", &CALLS.to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let mut numbers = text
        .split_whitespace()
        .map(|n| n.parse::<f64>().unwrap_or(f64::NAN));
    let (p50, p99) = (
        numbers.next().unwrap_or(f64::NAN),
        numbers.next().unwrap_or(f64::NAN),
    );
    println!(
        "native CPython, warm, in-process    p50 {:.3} ms  p99 {:.3} ms",
        p50 / 1e3,
        p99 / 1e3
    );
    let mut fresh = Vec::new();
    for _ in 0..30 {
        let started = Instant::now();
        let status = Command::new(&python)
            .arg(&script)
            .arg(&toolchain.sdk)
            .arg(impl_dir)
            .arg("once")
            .status()
            .unwrap();
        assert!(status.success());
        fresh.push(started.elapsed());
    }
    fresh.sort();
    println!(
        "native CPython, fresh process/call  p50 {:.1} ms  p99 {:.1} ms  (30 runs)",
        ms(percentile(&fresh, 0.5)),
        ms(percentile(&fresh, 0.99))
    );
}
