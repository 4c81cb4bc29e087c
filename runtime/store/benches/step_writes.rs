//! How many step transactions per second the store commits: each is what a new request
//! writes (the run, three audit entries, one timer), from `WRITERS` concurrent tasks.
//!
//! `cargo bench -p assent-store --bench step_writes` (PostgreSQL too with `DATABASE_URL`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use assent_engine::{RunStatus, Trigger};
use assent_store::{
    EventKind, FlowParams, NewEvent, NewFlow, NewJob, PluginRecord, RunBody, RunRecord, Store,
    new_id, now_millis,
};
use assent_tests::{TestDatabase, postgres_database, sqlite_database};
use assent_types::Step;
use serde_json::json;

async fn run(database: TestDatabase) {
    let store = Store::connect(&database.url).await.unwrap();
    let org = store
        .create_organization("bench", "Bench", "a@bench.test")
        .await
        .unwrap();
    let org_id = org.organization.id.clone();
    let record = PluginRecord {
        hash: "h".into(),
        size: 1,
        sdk: "rust".into(),
        contract_version: "0.1.0".into(),
        handlers: vec![],
        created_at: 0,
    };
    store.put_plugin(&org_id, &record, b"x").await.unwrap();
    let environment = store.ensure_environment(&org_id, "main").await.unwrap();
    let flow = store
        .put_flow(
            &org_id,
            &NewFlow {
                name: "f".into(),
                label: "f".into(),
                environment_id: environment,
                vars: Default::default(),
                fields: vec![],
                params: FlowParams::default(),
                plugin_hash: "h".into(),
                strategy: None,
            },
        )
        .await
        .unwrap();
    let writers = 32;
    let duration = Duration::from_secs(5);
    let deadline = Instant::now() + duration;
    let tasks: Vec<_> = (0..writers)
        .map(|_| {
            let (store, org_id, flow_id, admin) = (
                store.clone(),
                org_id.clone(),
                flow.id.clone(),
                org.admin.clone(),
            );
            tokio::spawn(async move {
                let mut done = 0_u64;
                while Instant::now() < deadline {
                    let now = now_millis();
                    let run = RunRecord {
                        id: new_id(),
                        org_id: org_id.clone(),
                        flow_id: flow_id.clone(),
                        flow_name: "f".into(),
                        requester_id: admin.id.clone(),
                        status: RunStatus::Requested,
                        notification: 0,
                        version: 1,
                        body: RunBody {
                            requester: admin.clone(),
                            ..RunBody::default()
                        },
                        created_at: now,
                        updated_at: now,
                    };
                    let events: Vec<NewEvent> = [
                        EventKind::Hook,
                        EventKind::Step(Step::Request),
                        EventKind::Notify,
                    ]
                    .iter()
                    .map(|kind| {
                        NewEvent::run(&run.id, *kind, Some(&admin), json!({ "step": "request" }))
                    })
                    .collect();
                    let mut tx = store.begin().await.unwrap();
                    tx.insert_run(&run).await.unwrap();
                    tx.schedule(
                        &org_id,
                        &[NewJob {
                            run_id: run.id.clone(),
                            task: Trigger::RequestTimeout.into(),
                            due_at: now + 3_600_000,
                            leased_to: None,
                        }],
                    )
                    .await
                    .unwrap();
                    tx.append(&org_id, &events).await.unwrap();
                    tx.commit().await.unwrap();
                    done += 1;
                }
                done
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    println!(
        "{:<8} step transactions: {:>7.0}/s ({writers} writers, {} s)",
        database.kind,
        total as f64 / duration.as_secs_f64(),
        duration.as_secs()
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        run(sqlite_database()).await;
        if let Some(database) = postgres_database().await {
            run(database).await;
        }
    });
}
