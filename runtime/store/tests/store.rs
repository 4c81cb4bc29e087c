//! The store against real databases: SQLite always, PostgreSQL when `DATABASE_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashSet};

use assent_engine::{RunStatus, Trigger};
use assent_store::{
    EventKind, FlowParams, Idempotency, NewEvent, NewFlow, NewJob, PluginRecord, RunBody,
    RunRecord, RunWrite, StepCommit, StepWrite, Store, StoredResponse, now_millis,
};
use assent_tests::test_databases;

async fn org_with_flow(store: &Store, slug: &str) -> (String, String, String) {
    let org = store
        .create_organization(slug, slug, &format!("admin@{slug}.test"))
        .await
        .unwrap();
    let org_id = org.organization.id.clone();
    let record = PluginRecord {
        hash: "abc".into(),
        size: 3,
        sdk: "rust".into(),
        contract_version: "0.1.0".into(),
        handlers: vec!["get_permissions".into()],
        created_at: 0,
    };
    store.put_plugin(&org_id, &record, b"abc").await.unwrap();
    let environment = store.ensure_environment(&org_id, "main").await.unwrap();
    let flow = store
        .put_flow(
            &org_id,
            &NewFlow {
                name: "approval".into(),
                label: "Approval".into(),
                environment_id: environment,
                vars: BTreeMap::new(),
                fields: Vec::new(),
                params: FlowParams::default(),
                plugin_hash: "abc".into(),
                strategy: None,
            },
        )
        .await
        .unwrap();
    (org_id, flow.id, org.admin.id)
}

fn run(org_id: &str, flow_id: &str, requester: &str) -> RunRecord {
    RunRecord {
        id: assent_store::new_id(),
        org_id: org_id.into(),
        flow_id: flow_id.into(),
        flow_name: "approval".into(),
        requester_id: requester.into(),
        status: RunStatus::Requested,
        notification: 0,
        version: 1,
        body: RunBody::default(),
        created_at: now_millis(),
        updated_at: now_millis(),
    }
}

#[tokio::test]
async fn rows_belong_to_their_organisation_and_runs_change_only_from_the_version_read() {
    for database in test_databases().await {
        let store = Store::connect(&database.url).await.unwrap();
        let (a, flow, admin) = org_with_flow(&store, "acme").await;
        let (b, _, _) = org_with_flow(&store, "globex").await;

        let mut record = run(&a, &flow, &admin);
        let mut tx = store.begin().await.unwrap();
        tx.insert_run(&record).await.unwrap();
        tx.commit().await.unwrap();

        assert!(
            store.run(&a, &record.id).await.unwrap().is_some(),
            "{}",
            database.kind
        );
        assert!(
            store.run(&b, &record.id).await.unwrap().is_none(),
            "{}",
            database.kind
        );
        assert!(store.flow_version(&b, &flow).await.unwrap().is_none());
        assert!(store.user(&b, &admin).await.unwrap().is_none());
        assert!(store.plugin_bytes(&a, "abc").await.unwrap().is_some());

        // Two steps read version 1; only the first to commit wins.
        record.version = 2;
        record.status = RunStatus::Approved;
        let mut tx = store.begin().await.unwrap();
        assert!(tx.update_run(&record).await.unwrap());
        tx.commit().await.unwrap();
        let mut late = record.clone();
        late.status = RunStatus::Denied;
        let mut tx = store.begin().await.unwrap();
        assert!(!tx.update_run(&late).await.unwrap(), "{}", database.kind);
        tx.commit().await.unwrap();
        assert_eq!(
            store.run(&a, &record.id).await.unwrap().unwrap().status,
            RunStatus::Approved
        );

        // Slugs are unique; the error names the slug.
        let error = store
            .create_organization("acme", "Acme again", "x@acme.test")
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "an organisation with slug `acme` already exists"
        );
    }
}

#[tokio::test]
async fn tokens_are_stored_hashed_and_name_their_user() {
    for database in test_databases().await {
        let store = Store::connect(&database.url).await.unwrap();
        let org = store
            .create_organization("initech", "Initech", "Peter@Initech.test")
            .await
            .unwrap();
        assert!(org.token.starts_with("assent_"));
        let principal = store.authenticate(&org.token).await.unwrap().unwrap();
        assert_eq!(principal.org_id, org.organization.id);
        assert_eq!(principal.user.email, "peter@initech.test");
        assert!(store.authenticate("assent_forged").await.unwrap().is_none());
    }
}

/// Two stores (as two server processes would have) claim the same due jobs concurrently:
/// every job is completed exactly once.
#[tokio::test]
async fn two_workers_never_fire_the_same_job() {
    for database in test_databases().await {
        let first = Store::connect(&database.url).await.unwrap();
        let second = Store::connect(&database.url).await.unwrap();
        let (org, flow, admin) = org_with_flow(&first, "jobs").await;
        let record = run(&org, &flow, &admin);
        let mut tx = first.begin().await.unwrap();
        tx.insert_run(&record).await.unwrap();
        let jobs: Vec<NewJob> = (0..120)
            .map(|i| NewJob {
                run_id: record.id.clone(),
                task: Trigger::NotificationTimeout { notification: i }.into(),
                due_at: now_millis() - 1,
                leased_to: None,
            })
            .collect();
        tx.schedule(&org, &jobs).await.unwrap();
        tx.commit().await.unwrap();

        let work = |store: Store, owner: &'static str| async move {
            let mut fired = Vec::new();
            loop {
                let claimed = store.claim_due(owner, 30_000, 7).await.unwrap();
                if claimed.is_empty() {
                    break;
                }
                for job in claimed {
                    let mut tx = store.begin().await.unwrap();
                    assert!(tx.complete_job(&job.id, owner).await.unwrap());
                    tx.commit().await.unwrap();
                    fired.push(job.id);
                }
            }
            fired
        };
        let (a, b) = tokio::join!(
            tokio::spawn(work(first.clone(), "worker-a")),
            tokio::spawn(work(second.clone(), "worker-b"))
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        let all: HashSet<_> = a.iter().chain(&b).collect();
        assert_eq!(a.len() + b.len(), 120, "{}: every job fired", database.kind);
        assert_eq!(all.len(), 120, "{}: no job fired twice", database.kind);
        assert!(
            first
                .jobs_for_run(&org, &record.id)
                .await
                .unwrap()
                .is_empty()
        );
    }
}

#[tokio::test]
async fn a_worker_that_lost_its_lease_cannot_complete_the_job() {
    for database in test_databases().await {
        let store = Store::connect(&database.url).await.unwrap();
        let (org, flow, admin) = org_with_flow(&store, "lease").await;
        let record = run(&org, &flow, &admin);
        let mut tx = store.begin().await.unwrap();
        tx.insert_run(&record).await.unwrap();
        tx.schedule(
            &org,
            &[NewJob {
                run_id: record.id.clone(),
                task: Trigger::RequestTimeout.into(),
                due_at: now_millis() - 1,
                leased_to: None,
            }],
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();

        // The first worker's lease is already over when it finishes; another took the job.
        let slow = store.claim_due("slow", -1, 10).await.unwrap();
        assert_eq!(slow.len(), 1);
        let fast = store.claim_due("fast", 30_000, 10).await.unwrap();
        assert_eq!(fast.len(), 1);
        assert_eq!(fast[0].attempts, 2);
        let mut tx = store.begin().await.unwrap();
        assert!(!tx.complete_job(&slow[0].id, "slow").await.unwrap());
        drop(tx);
        let mut tx = store.begin().await.unwrap();
        assert!(tx.complete_job(&fast[0].id, "fast").await.unwrap());
        tx.commit().await.unwrap();
        assert_eq!(store.next_job_at().await.unwrap(), None);
    }
}

#[tokio::test]
async fn idempotency_keys_replay_and_refuse_reuse() {
    for database in test_databases().await {
        let store = Store::connect(&database.url).await.unwrap();
        let (org, _, _) = org_with_flow(&store, "idem").await;
        assert_eq!(
            store
                .begin_idempotent(&org, "k1", "f1", 1_000, 0)
                .await
                .unwrap(),
            Idempotency::Proceed
        );
        assert_eq!(
            store
                .begin_idempotent(&org, "k1", "f1", 1_000, 0)
                .await
                .unwrap(),
            Idempotency::InProgress
        );
        let response = StoredResponse {
            status: 201,
            body: "{\"id\":1}".into(),
        };
        store
            .finish_idempotent(&org, "k1", &response)
            .await
            .unwrap();
        assert_eq!(
            store
                .begin_idempotent(&org, "k1", "f1", 1_000, 0)
                .await
                .unwrap(),
            Idempotency::Replay(response)
        );
        assert_eq!(
            store
                .begin_idempotent(&org, "k1", "other", 1_000, 0)
                .await
                .unwrap(),
            Idempotency::Mismatch
        );
        assert_eq!(
            store
                .begin_idempotent(&org, "k2", "f2", 1_000, 0)
                .await
                .unwrap(),
            Idempotency::Proceed
        );
        store.abandon_idempotent(&org, "k2").await.unwrap();
        assert_eq!(
            store
                .begin_idempotent(&org, "k2", "f2", 1_000, 0)
                .await
                .unwrap(),
            Idempotency::Proceed
        );
    }
}

/// A reservation whose request died with its process (no answer, never abandoned) blocks
/// its key only until it is stale; then the same request runs again, once.
#[tokio::test]
async fn a_reservation_left_by_a_crash_is_taken_over_once_stale() {
    for database in test_databases().await {
        let store = Store::connect(&database.url).await.unwrap();
        let (org, _, _) = org_with_flow(&store, "crash").await;
        let begin = |key: &'static str, fingerprint: &'static str, now: i64| {
            let store = store.clone();
            let org = org.clone();
            async move {
                store
                    .begin_idempotent(&org, key, fingerprint, now, now - 60_000)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(begin("k", "f", 1_000_000).await, Idempotency::Proceed);
        // The process dies here. Soon after, the retry waits for the first attempt.
        assert_eq!(begin("k", "f", 1_030_000).await, Idempotency::InProgress);
        // Once the reservation is stale, one retry takes it over and the next waits again.
        assert_eq!(
            begin("k", "f", 1_070_000).await,
            Idempotency::Proceed,
            "{}",
            database.kind
        );
        assert_eq!(begin("k", "f", 1_070_001).await, Idempotency::InProgress);
        // A different request never takes over another's key.
        assert_eq!(begin("k", "other", 2_000_000).await, Idempotency::Mismatch);
        let answer = StoredResponse {
            status: 201,
            body: "{}".into(),
        };
        store.finish_idempotent(&org, "k", &answer).await.unwrap();
        assert_eq!(
            begin("k", "f", 9_000_000).await,
            Idempotency::Replay(answer)
        );
    }
}

/// The SQLite file and its write-ahead log hold every tenant's data: the server's user alone
/// may read them.
#[tokio::test]
async fn the_sqlite_files_are_readable_by_their_owner_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("assent.db");
    let store = Store::connect(path.to_str().unwrap()).await.unwrap();
    let (org, _, _) = org_with_flow(&store, "perms").await;
    store
        .append(
            &org,
            &[NewEvent::org(EventKind::Hook, None, serde_json::json!({}))],
        )
        .await
        .unwrap();
    for file in ["assent.db", "assent.db-wal", "assent.db-shm"] {
        let mode = std::fs::metadata(dir.path().join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file} is {:o}", mode & 0o777);
    }
}

#[tokio::test]
async fn the_audit_log_pages_in_order() {
    for database in test_databases().await {
        let store = Store::connect(&database.url).await.unwrap();
        let (org, _, _) = org_with_flow(&store, "audit").await;
        let (other, _, _) = org_with_flow(&store, "other").await;
        let events: Vec<NewEvent> = (0..5)
            .map(|i| NewEvent::org(EventKind::Hook, None, serde_json::json!({ "i": i })))
            .collect();
        store.append(&org, &events).await.unwrap();
        store.append(&other, &events[..1]).await.unwrap();
        let first = store.audit(&org, None, None, 3).await.unwrap();
        assert_eq!(
            first
                .events
                .iter()
                .map(|e| e.data["i"].as_i64().unwrap())
                .collect::<Vec<_>>(),
            [0, 1, 2]
        );
        let rest = store
            .audit(&org, None, first.next.as_deref(), 3)
            .await
            .unwrap();
        assert_eq!(
            rest.events
                .iter()
                .map(|e| e.data["i"].as_i64().unwrap())
                .collect::<Vec<_>>(),
            [3, 4]
        );
        assert_eq!(rest.next, None);
        let one = &first.events[1];
        assert_eq!(
            store.event(&org, &one.id).await.unwrap().as_ref(),
            Some(one)
        );
        assert_eq!(store.event(&other, &one.id).await.unwrap(), None);
    }
}

fn insert(run: &RunRecord, events: usize) -> StepWrite {
    StepWrite {
        org_id: run.org_id.clone(),
        run: RunWrite::Insert(run.clone()),
        complete_job: None,
        cancel_jobs: false,
        schedule: vec![NewJob {
            run_id: run.id.clone(),
            task: Trigger::RequestTimeout.into(),
            due_at: now_millis() + 60_000,
            leased_to: None,
        }],
        events: (0..events)
            .map(|i| {
                NewEvent::run(
                    &run.id,
                    EventKind::Hook,
                    None,
                    serde_json::json!({ "i": i }),
                )
            })
            .collect(),
    }
}

/// Steps committed together keep their own outcomes: racing updates of one run commit once,
/// a step whose timer lease is gone commits nothing, and a step that breaks a constraint
/// fails alone.
#[tokio::test]
async fn steps_committed_together_keep_their_own_outcomes() {
    for database in test_databases().await {
        let store = Store::connect(&database.url).await.unwrap();
        let (org, flow, admin) = org_with_flow(&store, "batch").await;
        let shared = run(&org, &flow, &admin);
        let outcome = store.commit_step(insert(&shared, 1)).await.unwrap();
        let StepCommit::Committed { job_ids } = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(job_ids.len(), 1);

        let mut steps = Vec::new();
        for _ in 0..10 {
            steps.push(insert(&run(&org, &flow, &admin), 3));
        }
        for status in [RunStatus::Approved, RunStatus::Denied, RunStatus::Expired] {
            let mut next = shared.clone();
            next.version = 2;
            next.status = status;
            steps.push(StepWrite {
                org_id: org.clone(),
                run: RunWrite::Update(next),
                complete_job: None,
                cancel_jobs: true,
                schedule: Vec::new(),
                events: Vec::new(),
            });
        }
        steps.push(StepWrite {
            org_id: org.clone(),
            run: RunWrite::Unchanged,
            complete_job: Some((job_ids[0].clone(), "nobody".into())),
            cancel_jobs: false,
            schedule: Vec::new(),
            events: Vec::new(),
        });
        let mut orphan = run(&org, &flow, &admin);
        orphan.flow_id = "no-such-flow".into();
        steps.push(insert(&orphan, 1));

        let results = futures_join(&store, steps).await;
        let committed = results[..10]
            .iter()
            .filter(|r| matches!(r, Ok(StepCommit::Committed { job_ids }) if job_ids.len() == 1))
            .count();
        assert_eq!(committed, 10, "{}: {results:?}", database.kind);
        let updates: Vec<_> = results[10..13]
            .iter()
            .map(|r| r.as_ref().unwrap().clone())
            .collect();
        assert_eq!(
            updates
                .iter()
                .filter(|r| matches!(r, StepCommit::Committed { .. }))
                .count(),
            1,
            "{updates:?}"
        );
        assert_eq!(
            updates
                .iter()
                .filter(|r| **r == StepCommit::Conflict)
                .count(),
            2
        );
        assert_eq!(results[13].as_ref().unwrap(), &StepCommit::LeaseLost);
        assert!(
            results[14].is_err(),
            "{}: the orphan run fails alone",
            database.kind
        );

        let stored = store.run(&org, &shared.id).await.unwrap().unwrap();
        assert_eq!(stored.version, 2);
        assert!(
            store
                .jobs_for_run(&org, &shared.id)
                .await
                .unwrap()
                .is_empty(),
            "the winning update dropped the run's timers"
        );
        let page = store.audit(&org, None, None, 1000).await.unwrap();
        assert_eq!(page.events.len(), 1 + 30, "{}", database.kind);
    }
}

/// Submits every step at once, so they queue for the writer together.
async fn futures_join(
    store: &Store,
    steps: Vec<StepWrite>,
) -> Vec<Result<StepCommit, assent_store::StoreError>> {
    let tasks: Vec<_> = steps
        .into_iter()
        .map(|step| {
            let store = store.clone();
            tokio::spawn(async move { store.commit_step(step).await })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

/// Users as an earlier release stored them: usernames made from the email's local part (or
/// the email itself after a clash), a bot's own name, and two users sharing one.
const USERS_BEFORE_USERNAMES_WERE_EMAILS: &str = "
    INSERT INTO organizations (id, slug, name, created_at) VALUES ('o1', 'acme', 'Acme', 0);
    INSERT INTO users (id, org_id, email, username, role, identities, created_at) VALUES
        ('u1', 'o1', 'ann@demo.test', 'ann', 'member', '[]', 0),
        ('u2', 'o1', 'ann@partner.test', 'ann@partner.test', 'member', '[]', 0),
        ('u3', 'o1', 'deploy@bots.test', 'deploy-bot', 'member', '[]', 0),
        ('u4', 'o1', 'bob@demo.test', 'deploy-bot', 'member', '[]', 0),
        ('u5', 'o1', 'carol@demo.test', 'ann@demo.test', 'member', '[]', 0);
";

/// A database from before usernames were emails comes up with every person's username their
/// email, a bot's name kept, and no name shared, whatever it held before.
#[tokio::test]
async fn migrating_makes_every_persons_username_their_email() {
    let dir = tempfile::tempdir().unwrap();
    let earlier = dir.path().join("migrations");
    std::fs::create_dir(&earlier).unwrap();
    let all = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for entry in std::fs::read_dir(all).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.as_str() < "0004" {
            std::fs::copy(&path, earlier.join(name)).unwrap();
        }
    }
    let before = sqlx::migrate::Migrator::new(earlier.as_path())
        .await
        .unwrap();
    for database in test_databases().await {
        sqlx::any::install_default_drivers();
        let url = match database.kind {
            "sqlite" => format!("{}?mode=rwc", database.url),
            _ => database.url.clone(),
        };
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        before.run(&pool).await.unwrap();
        sqlx::raw_sql(USERS_BEFORE_USERNAMES_WERE_EMAILS)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        let store = Store::connect(&database.url).await.unwrap();
        let usernames: BTreeMap<String, String> = store
            .users("o1")
            .await
            .unwrap()
            .into_iter()
            .map(|user| (user.email, user.username))
            .collect();
        let expected = [
            ("ann@demo.test", "ann@demo.test"),
            ("ann@partner.test", "ann@partner.test"),
            ("bob@demo.test", "bob@demo.test"),
            ("carol@demo.test", "carol@demo.test"),
            ("deploy@bots.test", "deploy-bot"),
        ];
        let expected: BTreeMap<String, String> = expected
            .into_iter()
            .map(|(email, username)| (email.to_owned(), username.to_owned()))
            .collect();
        assert_eq!(usernames, expected, "{}", database.kind);
    }
}
