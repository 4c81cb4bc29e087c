//! One tenant's plugin spins until its deadline on every request; how much slower does
//! another tenant get?
//!
//! `cargo bench -p assent-server --bench noisy_neighbour` starts the server in-process on
//! SQLite with two organisations. Tenant B (`quiet`) runs one client loop: a member requests
//! access through the echo plugin and an admin approves it; each loop's latency is one
//! sample. It is measured alone, then while tenant A (`noisy`) runs `LOAD_NOISY_CLIENTS`
//! (default 4) client loops requesting a flow whose `get_permissions` never returns, so each
//! of A's requests burns its plugin's whole CPU deadline. The clients run on a runtime of
//! their own (one thread); the server has the process's default runtime.
//!
//! Knobs (environment): `LOAD_SECONDS` (default 10, per phase), `LOAD_NOISY_CLIENTS`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use assent_server::{Server, ServerConfig, WorkerConfig};
use assent_tests::bench::{env_number, percentile};
use assent_tests::{Api, plugin_bytes, sqlite_database};
use serde_json::{Value, json};

/// An organisation with an admin and a member (tokens for both), running `plugin` in flow
/// `flow` with `vars`.
async fn organisation(operator: &Api, slug: &str, plugin: Vec<u8>, vars: Value) -> (Api, Api) {
    let (_, created) = operator
        .post(
            "/orgs",
            json!({ "slug": slug, "name": slug, "admin_email": format!("admin@{slug}.test") }),
        )
        .await;
    let admin = operator.with_token(created["token"].as_str().unwrap());
    let email = format!("ann@{slug}.test");
    admin
        .put(&format!("/users/{email}"), json!({ "role": "member" }))
        .await;
    let (_, token) = admin
        .post("/tokens", json!({ "email": email, "name": "bench" }))
        .await;
    let member = admin.with_token(token["token"].as_str().unwrap());
    let (_, uploaded) = admin.upload(plugin).await;
    let (status, flow) = admin
        .put(
            "/flows/prod",
            json!({
                "vars": vars,
                "fields": [{ "name": "reason", "type": "string", "required": true }],
                "plugin": uploaded["hash"],
            }),
        )
        .await;
    assert!(status.is_success(), "{flow}");
    (admin, member)
}

/// Tenant B's loop: request, then approve; one latency per loop, for `seconds`.
async fn quiet_loop(admin: &Api, member: &Api, seconds: u64) -> Vec<Duration> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut samples = Vec::new();
    while Instant::now() < deadline {
        let started = Instant::now();
        let (status, body) = member
            .post(
                "/events/request",
                json!({ "flow": "prod", "flow_inputs": { "reason": "bench" } }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let run = body["run"]["id"].as_str().unwrap();
        let (status, body) = admin.post(&format!("/runs/{run}/approve"), json!({})).await;
        assert_eq!(status, 200, "{body}");
        samples.push(started.elapsed());
    }
    samples.sort();
    samples
}

fn report(label: &str, samples: &[Duration]) -> Duration {
    let p50 = percentile(samples, 0.50);
    println!(
        "quiet tenant, {label:<28} loops {:>5}  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
        samples.len(),
        p50.as_secs_f64() * 1e3,
        percentile(samples, 0.99).as_secs_f64() * 1e3,
        samples.last().unwrap().as_secs_f64() * 1e3,
    );
    p50
}

fn main() {
    let seconds = env_number("LOAD_SECONDS", 10);
    let noisy_clients = env_number("LOAD_NOISY_CLIENTS", 4);
    let database = sqlite_database();
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = server_runtime.block_on(async {
        Server::start(ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            database_url: database.url.clone(),
            cache_dir: Some(assent_tests::guest_target_dir().join("compiled")),
            plugin_cache: assent_server::CacheBudget::default(),
            operator_token: Some("bench".into()),
            worker: WorkerConfig::default(),
            slack: None,
            secrets: assent_server::Keyring::from_hex(assent_tests::slack::SECRETS_KEY, None)
                .unwrap(),
            outbound: assent_server::OutboundPolicy::default(),
        })
        .await
        .unwrap()
    });
    let base = format!("http://{}/api/v1", server.addr);

    let clients = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    clients.block_on(async {
        let operator = Api::new(&base, "bench");
        let (quiet_admin, quiet_member) = organisation(
            &operator,
            "quiet",
            plugin_bytes("echo-plugin"),
            json!({ "channels": "#access" }),
        )
        .await;
        let (_, noisy_member) = organisation(
            &operator,
            "noisy",
            plugin_bytes("hostile-plugin"),
            json!({ "behavior": "loop" }),
        )
        .await;
        // Warm up: connections, plugin loads, statement caches.
        quiet_loop(&quiet_admin, &quiet_member, 1).await;

        let alone = quiet_loop(&quiet_admin, &quiet_member, seconds).await;
        let baseline = report("alone", &alone);

        let stop = Arc::new(AtomicBool::new(false));
        let noisy_requests = Arc::new(AtomicU64::new(0));
        let refused = Arc::new(AtomicU64::new(0));
        let noisy: Vec<_> = (0..noisy_clients)
            .map(|_| {
                let (member, stop) = (noisy_member.clone(), Arc::clone(&stop));
                let (requests, refused) = (Arc::clone(&noisy_requests), Arc::clone(&refused));
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let (status, _) = member
                            .post(
                                "/events/request",
                                json!({ "flow": "prod", "flow_inputs": { "reason": "spin" } }),
                            )
                            .await;
                        requests.fetch_add(1, Ordering::Relaxed);
                        if status == 429 {
                            refused.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        let beside = quiet_loop(&quiet_admin, &quiet_member, seconds).await;
        stop.store(true, Ordering::Relaxed);
        for client in noisy {
            client.await.unwrap();
        }
        let label = format!("beside {noisy_clients} spinning clients");
        let contended = report(&label, &beside);
        println!(
            "noisy tenant: {} requests ({} answered 429); quiet p50 ratio {:.2}",
            noisy_requests.load(Ordering::Relaxed),
            refused.load(Ordering::Relaxed),
            contended.as_secs_f64() / baseline.as_secs_f64(),
        );
    });
    server.abort();
}
