//! Plugin host costs: compile, precompiled load, and instantiate + call `get_permissions`
//! with and without the pooling allocator, as an async call and on the blocking pool.
//!
//! `cargo bench -p assent-plugin-host` runs criterion, then prints p50/p99 over
//! individually timed calls (criterion reports means and medians, not tails).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use assent_plugin_host::contract::v0_1_0::{self, wit};
use assent_plugin_host::lru::Lru;
use assent_plugin_host::{HostConfig, LoadedPlugins, Plugin, PluginHost};
use assent_tests::plugin_bytes;
use assent_types::{Event, FieldValue, Role, Step, User};
use criterion::{BenchmarkId, Criterion};
use tokio::runtime::Runtime;
use wasmtime::Store;
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

const PLUGIN: &str = "echo-plugin";

fn event() -> Event {
    let mut event = Event {
        name: Step::Request,
        user: User {
            id: "u-ada".into(),
            email: "ada@example.com".into(),
            username: "ada".into(),
            role: Role::Member,
            ..User::default()
        },
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
    event
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn host(pooling: bool) -> PluginHost {
    PluginHost::new(HostConfig {
        pooling,
        ..HostConfig::default()
    })
    .unwrap()
}

async fn instantiate_and_call(plugin: &Plugin, event: &Event) {
    let mut session = plugin.session().await.unwrap();
    black_box(session.get_permissions(event).await.unwrap());
}

/// The alternative to async calls: a synchronous instance on tokio's blocking pool.
struct Blocking {
    pre: v0_1_0::PluginPre<SyncState>,
}

struct SyncState {
    table: ResourceTable,
    wasi: WasiCtx,
}

impl WasiView for SyncState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl v0_1_0::assent::flow::log::Host for SyncState {
    fn log(&mut self, _: v0_1_0::assent::flow::log::Level, _: String, _: Vec<(String, String)>) {}
}

impl Blocking {
    fn new(plugin: &Plugin) -> Blocking {
        let engine = plugin.component().engine();
        let mut linker = Linker::<SyncState>::new(engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
        v0_1_0::assent::flow::log::add_to_linker::<SyncState, HasSelf<SyncState>>(
            &mut linker,
            |state| state,
        )
        .unwrap();
        let pre =
            v0_1_0::PluginPre::new(linker.instantiate_pre(plugin.component()).unwrap()).unwrap();
        Blocking { pre }
    }

    fn call(&self, event: &wit::Event) {
        let mut store = Store::new(
            self.pre.engine(),
            SyncState {
                table: ResourceTable::new(),
                wasi: WasiCtx::builder().build(),
            },
        );
        store.set_epoch_deadline(1_000);
        let instance = self.pre.instance_pre().instantiate(&mut store).unwrap();
        let bindings = v0_1_0::Plugin::new(&mut store, &instance).unwrap();
        let func = bindings.assent_flow_flow().func_get_permissions();
        let (permission,) = func.call(&mut store, (event,)).unwrap();
        assert!(black_box(permission).is_ok());
    }
}

fn benches(criterion: &mut Criterion) {
    let runtime = runtime();
    let bytes = plugin_bytes(PLUGIN);
    let event = event();

    let mut group = criterion.benchmark_group("load");
    group.sample_size(20);
    let compiling = host(true);
    group.bench_function("compile (cranelift) + describe", |bench| {
        bench.to_async(&runtime).iter(|| async {
            black_box(compiling.load(bytes.clone()).await.unwrap());
        })
    });
    let cache = std::env::temp_dir().join("assent-bench-cache");
    let cached = PluginHost::new(HostConfig {
        cache_dir: Some(cache.clone()),
        ..HostConfig::default()
    })
    .unwrap();
    runtime.block_on(cached.load(bytes.clone())).unwrap();
    group.bench_function("precompiled artifact + describe", |bench| {
        bench.to_async(&runtime).iter(|| async {
            black_box(cached.load(bytes.clone()).await.unwrap());
        })
    });
    group.finish();

    // The plugin caches: a plugin found in memory, and what keeping 10,000 plugins within
    // budget costs an insert (one eviction scan). A plugin evicted from memory loads as
    // "precompiled artifact + describe" above; evicted from disk too, as "compile".
    let mut group = criterion.benchmark_group("cache");
    let plugin = runtime.block_on(cached.load(bytes.clone())).unwrap();
    let loaded = LoadedPlugins::new(u64::MAX);
    loaded.insert(&plugin);
    group.bench_function("loaded plugin, found in memory", |bench| {
        bench.iter(|| black_box(loaded.get(plugin.hash()).unwrap()))
    });
    const TENANTS: u64 = 10_000;
    let mut lru = Lru::new(TENANTS);
    for tenant in 0..TENANTS {
        lru.insert(&format!("{tenant:064x}"), tenant, 1, tenant);
    }
    let mut next = TENANTS;
    group.bench_function("insert beside 10,000 plugins, evicting one", |bench| {
        bench.iter(|| {
            next += 1;
            black_box(lru.insert(&format!("{next:064x}"), next, 1, next));
        })
    });
    group.finish();

    let mut group = criterion.benchmark_group("get_permissions");
    for pooling in [true, false] {
        let host = host(pooling);
        let plugin = runtime.block_on(host.load(bytes.clone())).unwrap();
        let label = if pooling { "pooling" } else { "on-demand" };
        group.bench_with_input(
            BenchmarkId::new("instantiate + call, async", label),
            &plugin,
            |bench, plugin| {
                bench
                    .to_async(&runtime)
                    .iter(|| instantiate_and_call(plugin, &event))
            },
        );
    }

    let host = host(true);
    let plugin = runtime.block_on(host.load(bytes.clone())).unwrap();
    let blocking = std::sync::Arc::new(Blocking::new(&plugin));
    let wit_event = std::sync::Arc::new(wit::Event::from(&event));
    group.bench_function(
        "instantiate + call, sync on the blocking pool/pooling",
        |bench| {
            bench.to_async(&runtime).iter(|| {
                let blocking = std::sync::Arc::clone(&blocking);
                let wit_event = std::sync::Arc::clone(&wit_event);
                async move {
                    tokio::task::spawn_blocking(move || blocking.call(&wit_event))
                        .await
                        .unwrap()
                }
            })
        },
    );
    group.bench_function(
        "instantiate + call, sync on the calling thread/pooling",
        |bench| bench.iter(|| blocking.call(&wit_event)),
    );
    let mut session = runtime.block_on(plugin.session()).unwrap();
    group.bench_function("call on a live instance (one session per step)", |bench| {
        bench.iter(|| {
            runtime.block_on(async { black_box(session.get_permissions(&event).await.unwrap()) })
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(cache);
}

/// p50 and p99 of individually timed instantiate + call round trips.
fn percentiles() {
    const CALLS: usize = 20_000;
    let runtime = runtime();
    let bytes = plugin_bytes(PLUGIN);
    let event = event();
    println!("\ninstantiate + call get_permissions, {CALLS} calls each:");
    for pooling in [true, false] {
        let host = host(pooling);
        let plugin = runtime.block_on(host.load(bytes.clone())).unwrap();
        let mut samples: Vec<Duration> = runtime.block_on(async {
            for _ in 0..1_000 {
                instantiate_and_call(&plugin, &event).await;
            }
            let mut samples = Vec::with_capacity(CALLS);
            for _ in 0..CALLS {
                let start = Instant::now();
                instantiate_and_call(&plugin, &event).await;
                samples.push(start.elapsed());
            }
            samples
        });
        samples.sort();
        let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize];
        println!(
            "  {:<10} p50 {:>7.1} µs   p99 {:>7.1} µs",
            if pooling { "pooling" } else { "on-demand" },
            at(0.50).as_secs_f64() * 1e6,
            at(0.99).as_secs_f64() * 1e6
        );
    }
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    benches(&mut criterion);
    criterion.final_summary();
    percentiles();
}
