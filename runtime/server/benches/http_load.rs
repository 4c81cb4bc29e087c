//! Load on the HTTP API: many clients requesting access at once through a real plugin.
//!
//! `cargo bench -p assent-server --bench http_load` runs it on SQLite, and on PostgreSQL too
//! when `DATABASE_URL` is set. Each request is the full path a `POST /events/request` takes:
//! token check, flow lookup, input checks, a plugin instance running
//! `get_request_notifications`, `get_timeout`, `on_request` and `after_request`, and one
//! transaction storing the run, its timer and its audit entries.
//!
//! Knobs (environment): `LOAD_CLIENTS` (default 32), `LOAD_SECONDS` (default 10).
//! The clients run in the same process as the server, so they share its cores.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use assent_server::{Server, ServerConfig, WorkerConfig};
use assent_tests::bench::{env_number, percentile};
use assent_tests::{Api, TestDatabase, plugin_bytes, postgres_database, sqlite_database};
use serde_json::json;

async fn run(database: TestDatabase, clients: u64, seconds: u64) {
    let server = Server::start(ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: database.url.clone(),
        cache_dir: Some(assent_tests::guest_target_dir().join("compiled")),
        plugin_cache: assent_server::CacheBudget::default(),
        operator_token: Some("bench".into()),
        worker: WorkerConfig::default(),
        slack: None,
        secrets: assent_server::Keyring::from_hex(assent_tests::slack::SECRETS_KEY, None).unwrap(),
        outbound: assent_server::OutboundPolicy::default(),
    })
    .await
    .unwrap();
    let base = format!("http://{}/api/v1", server.addr);
    let operator = Api::new(&base, "bench");
    let (_, created) = operator
        .post(
            "/orgs",
            json!({ "slug": "bench", "name": "Bench", "admin_email": "admin@bench.test" }),
        )
        .await;
    let admin = operator.with_token(created["token"].as_str().unwrap());
    let (_, plugin) = admin.upload(plugin_bytes("echo-plugin")).await;
    let (status, _) = admin
        .put(
            "/flows/prod",
            json!({
                "vars": { "channels": "#access" },
                "fields": [{ "name": "reason", "type": "string", "required": true }],
                "plugin": plugin["hash"],
            }),
        )
        .await;
    assert!(status.is_success());
    let token = created["token"].as_str().unwrap().to_owned();

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients as usize)
        .build()
        .unwrap();
    let url = format!("{base}/events/request");
    let body = serde_json::to_vec(&json!({ "flow": "prod", "flow_inputs": { "reason": "load" } }))
        .unwrap();
    // Warm up: connections, plugin load, statement caches.
    for _ in 0..50 {
        let response = client
            .post(&url)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (client, url, token, body) =
                (client.clone(), url.clone(), token.clone(), body.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut failures = 0_u64;
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    let response = client
                        .post(&url)
                        .bearer_auth(&token)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await;
                    match response {
                        Ok(response) if response.status() == 201 => {
                            let _ = response.bytes().await;
                            latencies.push(sent.elapsed());
                        }
                        _ => failures += 1,
                    }
                }
                (latencies, failures)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut failures = 0;
    for task in tasks {
        let (mine, failed) = task.await.unwrap();
        latencies.extend(mine);
        failures += failed;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    println!(
        "{:<8} POST /events/request  clients {clients:>3}  requests {:>6}  failed {failures}  {:>7.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms",
        database.kind,
        latencies.len(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
    );
    server.abort();
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument of `postgres` or `sqlite` picks one.
    let filter = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    let clients = env_number("LOAD_CLIENTS", 32);
    let seconds = env_number("LOAD_SECONDS", 10);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        if filter.as_deref().is_none_or(|f| f == "sqlite") {
            run(sqlite_database(), clients, seconds).await;
        }
        if filter.as_deref().is_none_or(|f| f == "postgres") {
            match postgres_database().await {
                Some(database) => run(database, clients, seconds).await,
                None => println!("postgres  skipped: set DATABASE_URL to measure PostgreSQL"),
            }
        }
    });
}
