//! Load on the Slack path: many people submitting the request form, then approvers clicking
//! Approve on every card, against a fake Slack Web API served in the same process.
//!
//! `cargo bench -p assent-server --bench slack_load` runs it on SQLite, and on PostgreSQL
//! too when `DATABASE_URL` is set. Two phases, each measured from the first payload sent
//! until Slack has seen the last thing it should:
//!
//! - **submit → card**: signed `view_submission` payloads (the form of `/assent req prod`)
//!   posted to `/slack/interactions`; each is verified, its Slack user matched, the run
//!   requested through the plugin, and its notice job delivered: one `chat.postMessage`.
//! - **click → card updated + DM**: a signed Approve click on each card; each is verified,
//!   the approver matched, the step taken through the plugin, then `chat.update` of the card
//!   and the requester's DM (`conversations.open` + `chat.postMessage`).
//!
//! The response latencies are what Slack waits on (it gives up after 3 s). Knobs
//! (environment): `LOAD_CLIENTS` (default 32), `LOAD_RUNS` (default 2000). The clients and
//! the fake Slack run in the same process as the server, so they share its two cores.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use assent_server::{Server, ServerConfig, SlackConfig, WorkerConfig};
use assent_tests::bench::{env_number, percentile};
use assent_tests::slack::{
    CLIENT_ID, CLIENT_SECRET, FakeSlack, SIGNING_SECRET, SlackSender, connect,
};
use assent_tests::{Api, TestDatabase, plugin_bytes, postgres_database, sqlite_database};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

const TEAM: &str = "T0BENCH";
const CHANNEL: &str = "#access";

/// Sends `payloads` with at most `clients` in flight; returns each response's latency.
async fn send_all(sender: &SlackSender, payloads: Vec<Value>, clients: usize) -> Vec<Duration> {
    let limit = Arc::new(Semaphore::new(clients));
    let tasks: Vec<_> = payloads
        .into_iter()
        .map(|payload| {
            let (sender, limit) = (sender.clone(), limit.clone());
            tokio::spawn(async move {
                let _slot = limit.acquire_owned().await.unwrap();
                let sent = Instant::now();
                let (status, body) = sender.interaction(&payload).await;
                assert_eq!(status, 200, "{body}");
                sent.elapsed()
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(tasks.len());
    for task in tasks {
        latencies.push(task.await.unwrap());
    }
    latencies.sort();
    latencies
}

/// Waits until the fake has seen `count` calls to `method`.
async fn until(slack: &FakeSlack, method: &str, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while slack.count(method) < count {
        assert!(
            Instant::now() < deadline,
            "only {} of {count} {method}; the last private reply: {:?}",
            slack.count(method),
            slack
                .calls("chat.postEphemeral")
                .last()
                .map(|reply| reply.body["text"].clone())
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn report(
    database: &TestDatabase,
    phase: &str,
    runs: usize,
    took: Duration,
    latencies: &[Duration],
) {
    println!(
        "{:<8} {phase:<28} runs {runs:>5}  {:>6.0} runs/s  response p50 {:>6.2} ms  p99 {:>6.2} ms",
        database.kind,
        runs as f64 / took.as_secs_f64(),
        percentile(latencies, 0.50).as_secs_f64() * 1e3,
        percentile(latencies, 0.99).as_secs_f64() * 1e3,
    );
}

async fn run(database: TestDatabase, clients: usize, runs: usize) {
    let slack = FakeSlack::start().await;
    let server = Server::start(ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: database.url.clone(),
        cache_dir: Some(assent_tests::guest_target_dir().join("compiled")),
        plugin_cache: assent_server::CacheBudget::default(),
        operator_token: Some("bench".into()),
        worker: WorkerConfig::default(),
        slack: Some(SlackConfig {
            signing_secret: SIGNING_SECRET.into(),
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            api_url: slack.api_url(),
            authorize_url: SlackConfig::DEFAULT_AUTHORIZE_URL.into(),
            public_url: "https://assent.example.test".into(),
            command: "/assent".into(),
        }),
        secrets: assent_server::Keyring::from_hex(assent_tests::slack::SECRETS_KEY, None).unwrap(),
        outbound: assent_server::OutboundPolicy::default(),
    })
    .await
    .unwrap();
    let base = format!("http://{}", server.addr);
    let operator = Api::new(&format!("{base}/api/v1"), "bench");
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
                "vars": { "channels": CHANNEL },
                "fields": [{ "name": "reason", "type": "string", "required": true }],
                "plugin": plugin["hash"],
            }),
        )
        .await;
    assert!(status.is_success());
    connect(&base, &admin, &slack, TEAM, "xoxb-bench", &["bench.test"]).await;
    slack.add_user("U0REQUESTER", "requester@bench.test", "requester");
    slack.add_user("U0APPROVER", "approver@bench.test", "approver");
    let sender = SlackSender::new(&base);

    // The form, as `/assent req prod` opens it.
    let (status, reply) = sender.command(TEAM, "U0REQUESTER", "C0", "req prod").await;
    assert_eq!(status, 200, "{reply}");
    let mut view = slack.calls("views.open").pop().unwrap().body["view"].clone();
    view["id"] = json!("V0BENCH");
    view["team_id"] = json!(TEAM);
    view["hash"] = json!("1700000000.hash");
    view["state"] = json!({ "values": {
        "reason": { "value": { "type": "plain_text_input", "value": "load" } }
    } });
    let submission = json!({
        "type": "view_submission",
        "team": { "id": TEAM, "domain": "bench" },
        "user": { "id": "U0REQUESTER", "username": "requester", "team_id": TEAM },
        "api_app_id": "A0ASSENT",
        "trigger_id": "1337.44.trigger",
        "view": view,
    });

    // Warm up: connections, plugin load, both people matched, statement caches.
    let warm = 50;
    send_all(&sender, vec![submission.clone(); warm], clients).await;
    until(&slack, "chat.postMessage", warm).await;

    let posted_before = slack.count("chat.postMessage");
    let started = Instant::now();
    let latencies = send_all(&sender, vec![submission; runs], clients).await;
    until(&slack, "chat.postMessage", posted_before + runs).await;
    report(
        &database,
        "submit → card",
        runs,
        started.elapsed(),
        &latencies,
    );

    // One Approve click per card, warm-up cards included.
    let clicks: Vec<Value> = slack
        .calls("chat.postMessage")
        .into_iter()
        .filter(|call| call.body["channel"] == CHANNEL)
        .map(|card| {
            let text = card.body.to_string();
            let start = text.find("\"value\":\"").expect("the card has buttons") + 9;
            let run_id = &text[start..start + 36];
            json!({
                "type": "block_actions",
                "team": { "id": TEAM, "domain": "bench" },
                "user": { "id": "U0APPROVER", "username": "approver", "team_id": TEAM },
                "api_app_id": "A0ASSENT",
                "trigger_id": "1337.43.trigger",
                "container": { "type": "message", "message_ts": card.response["ts"],
                               "channel_id": CHANNEL, "is_ephemeral": false },
                "channel": { "id": CHANNEL, "name": "access" },
                "actions": [ { "type": "button", "action_id": "assent_approve",
                               "block_id": "assent_decide", "value": run_id,
                               "action_ts": "1700000000.1" } ]
            })
        })
        .collect();
    let (warm_clicks, clicks) = clicks.split_at(warm);
    send_all(&sender, warm_clicks.to_vec(), clients).await;
    until(&slack, "chat.update", warm).await;
    let (updated_before, dms_before) = (
        slack.count("chat.update"),
        slack.count("conversations.open"),
    );
    let started = Instant::now();
    let latencies = send_all(&sender, clicks.to_vec(), clients).await;
    until(&slack, "chat.update", updated_before + clicks.len()).await;
    until(&slack, "conversations.open", dms_before + clicks.len()).await;
    report(
        &database,
        "click → card updated + DM",
        clicks.len(),
        started.elapsed(),
        &latencies,
    );
    server.abort();
}

fn main() {
    // `RUST_LOG=warn` shows what the server logged under load (failed deliveries, retries).
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    // `cargo bench` passes `--bench`; a filter argument of `postgres` or `sqlite` picks one.
    let filter = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    let clients = env_number("LOAD_CLIENTS", 32) as usize;
    let runs = env_number("LOAD_RUNS", 2000) as usize;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        if filter.as_deref().is_none_or(|f| f == "sqlite") {
            run(sqlite_database(), clients, runs).await;
        }
        if filter.as_deref().is_none_or(|f| f == "postgres") {
            match postgres_database().await {
                Some(database) => run(database, clients, runs).await,
                None => println!("postgres  skipped: set DATABASE_URL to measure PostgreSQL"),
            }
        }
    });
}
