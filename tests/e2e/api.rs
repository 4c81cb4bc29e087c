//! The approval life cycle end to end through the HTTP API, with real Rust plugins, on
//! SQLite and (with `DATABASE_URL`) PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use assent_tests::{plugin_bytes, test_databases};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{start, tenant};

fn run_id(body: &Value) -> String {
    body["run"]["id"].as_str().unwrap().to_owned()
}

fn count(kinds: &[String], kind: &str) -> usize {
    kinds.iter().filter(|k| *k == kind).count()
}

#[tokio::test]
async fn request_approve_escalate_and_deescalate_when_the_duration_ends() {
    for database in test_databases().await {
        let server = start(&database).await;
        let acme = tenant(&server, "acme").await;
        acme.flow("prod", json!({}), true).await;

        let requested = acme
            .request("prod", json!({ "reason": "deploy", "duration": "2s" }))
            .await;
        assert_eq!(requested["step"], "request", "{}", database.kind);
        assert_eq!(requested["run"]["status"], "requested");
        let id = run_id(&requested);

        let (status, approved) = acme
            .admin
            .post(
                &format!("/runs/{id}/approve"),
                json!({ "reason": "looks fine" }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{approved}");
        assert_eq!(approved["step"], "approve");
        // Escalation runs straight after the approval commits.
        let run = &approved["run"];
        assert_eq!(run["status"], "escalated", "{run:#}");
        assert_eq!(run["outputs"]["escalate"]["to"], "ann@acme.test");
        assert_eq!(run["actors"]["approve"]["email"], "admin@acme.test");
        assert!(run["access_until"].is_string());
        assert_eq!(run["timers"][0]["trigger"]["trigger"], "deescalate");

        let run = acme.admin.wait_for(&id, "deescalated").await;
        assert_eq!(run["outputs"]["deescalate"]["revoked"], "");
        assert_eq!(run["timers"], json!([]));

        let kinds = acme.admin.audit_kinds(&id).await;
        let steps: Vec<&str> = kinds
            .iter()
            .map(String::as_str)
            .filter(|k| ["request", "approve", "escalate", "deescalate", "notify"].contains(k))
            .collect();
        assert_eq!(
            steps,
            ["request", "notify", "approve", "escalate", "deescalate"],
            "{}",
            database.kind
        );
    }
}

#[tokio::test]
async fn deny_ends_the_request() {
    for database in test_databases().await {
        let server = start(&database).await;
        let acme = tenant(&server, "acme").await;
        acme.flow("prod", json!({}), true).await;
        let id = run_id(
            &acme
                .request("prod", json!({ "reason": "x", "timeout": "1h" }))
                .await,
        );
        let (status, denied) = acme
            .other_member
            .post(
                &format!("/runs/{id}/deny"),
                json!({ "reason": "not today" }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{denied}");
        assert_eq!(denied["run"]["status"], "denied");
        assert_eq!(denied["run"]["reason"], "not today");
        assert_eq!(
            denied["run"]["timers"],
            json!([]),
            "the notification timer is dropped"
        );
        // A decided request cannot be decided again.
        let (status, error) = acme
            .admin
            .post(&format!("/runs/{id}/approve"), json!({}))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{error}");
        assert_eq!(error["error"]["code"], "conflict");
        assert_eq!(
            error["error"]["message"],
            "the request is denied, so it can no longer be approved or denied"
        );
    }
}

#[tokio::test]
async fn ignore_from_on_approve_leaves_the_request_pending() {
    for database in test_databases().await {
        let server = start(&database).await;
        let acme = tenant(&server, "acme").await;
        acme.flow(
            "guarded",
            json!({ "on_approve": "ignore:you are not on the safelist" }),
            false,
        )
        .await;
        let id = run_id(&acme.request("guarded", json!({ "reason": "x" })).await);
        let (status, body) = acme
            .other_member
            .post(&format!("/runs/{id}/approve"), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["step"], Value::Null);
        assert_eq!(body["ignored"]["step"], "approve");
        assert_eq!(body["ignored"]["message"], "you are not on the safelist");
        assert_eq!(body["run"]["status"], "requested");
        let kinds = acme.admin.audit_kinds(&id).await;
        assert_eq!(count(&kinds, "ignored"), 1, "{kinds:?}");
        assert_eq!(count(&kinds, "approve"), 0);

        // Ignored by `on_request`, the request is kept, cancelled, with the hook's message.
        acme.flow(
            "closed",
            json!({ "on_request": "ignore:requests are paused" }),
            false,
        )
        .await;
        let body = acme.request("closed", json!({ "reason": "x" })).await;
        assert_eq!(body["ignored"]["message"], "requests are paused");
        assert_eq!(body["run"]["status"], "cancelled");
        let kinds = acme.admin.audit_kinds(&run_id(&body)).await;
        assert_eq!(count(&kinds, "notify"), 0, "{kinds:?}");
    }
}

#[tokio::test]
async fn on_request_can_auto_approve() {
    for database in test_databases().await {
        let server = start(&database).await;
        let acme = tenant(&server, "acme").await;
        acme.flow(
            "auto",
            json!({ "on_request": "approve:Auto-approved!" }),
            true,
        )
        .await;
        let body = acme
            .request("auto", json!({ "reason": "x", "duration": "1h" }))
            .await;
        assert_eq!(body["step"], "approve", "{body:#}");
        assert_eq!(body["run"]["status"], "escalated");
        assert_eq!(body["run"]["reason"], "Auto-approved!");
        let kinds = acme.admin.audit_kinds(&run_id(&body)).await;
        assert_eq!(
            count(&kinds, "request"),
            0,
            "the request step was replaced: {kinds:?}"
        );
        assert_eq!(count(&kinds, "notify"), 0, "nobody is asked to approve");
        assert_eq!(count(&kinds, "approve"), 1);
        assert_eq!(count(&kinds, "escalate"), 1);
    }
}

#[tokio::test]
async fn unanswered_notifications_forward_then_expire() {
    for database in test_databases().await {
        let server = start(&database).await;
        let acme = tenant(&server, "acme").await;
        acme.flow(
            "relay",
            json!({ "channels": "#first,#second", "timeout_last": "yes" }),
            false,
        )
        .await;
        let body = acme
            .request("relay", json!({ "reason": "x", "timeout": "1s" }))
            .await;
        let id = run_id(&body);
        assert_eq!(body["run"]["notifications"].as_array().unwrap().len(), 3);
        let run = acme.admin.wait_for(&id, "expired").await;
        assert_eq!(run["notification"], 2);
        let kinds = acme.admin.audit_kinds(&id).await;
        assert_eq!(count(&kinds, "request_forward"), 2, "{kinds:?}");
        assert_eq!(count(&kinds, "request_expire"), 1, "{kinds:?}");
        assert_eq!(count(&kinds, "notify"), 3, "{kinds:?}");
        let (status, _) = acme
            .admin
            .post(&format!("/runs/{id}/approve"), json!({}))
            .await;
        assert_eq!(status, StatusCode::CONFLICT);
    }
}

#[tokio::test]
async fn revoke_ends_access_early_when_the_flow_allows_it() {
    for database in test_databases().await {
        let server = start(&database).await;
        let acme = tenant(&server, "acme").await;
        acme.flow("revocable", json!({}), true).await;
        acme.flow_with("sticky", json!({}), true, json!({ "allow_revoke": false }))
            .await;
        for flow in ["revocable", "sticky"] {
            let id = run_id(
                &acme
                    .request(flow, json!({ "reason": "x", "duration": "1h" }))
                    .await,
            );
            let (status, approved) = acme
                .admin
                .post(&format!("/runs/{id}/approve"), json!({}))
                .await;
            assert_eq!(
                (status, &approved["run"]["status"]),
                (StatusCode::OK, &json!("escalated"))
            );
            let (status, revoked) = acme
                .member
                .post(&format!("/runs/{id}/revoke"), json!({}))
                .await;
            if flow == "revocable" {
                assert_eq!(status, StatusCode::OK, "{revoked}");
                assert_eq!(revoked["run"]["status"], "deescalated");
                assert_eq!(
                    revoked["run"]["timers"],
                    json!([]),
                    "the expiry timer is dropped"
                );
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{revoked}");
                // An admin can still take access away through the Events API.
                let (status, body) = acme
                    .admin
                    .post("/events/deescalate", json!({ "run_id": id }))
                    .await;
                assert_eq!(status, StatusCode::OK, "{body}");
                assert_eq!(body["run"]["status"], "deescalated");
            }
        }
    }
}

#[tokio::test]
async fn self_approval_is_refused_unless_the_flow_allows_it() {
    for database in test_databases().await {
        let server = start(&database).await;
        let acme = tenant(&server, "acme").await;
        acme.flow("prod", json!({}), false).await;
        let id = run_id(&acme.request("prod", json!({ "reason": "x" })).await);
        let (status, error) = acme
            .member
            .post(&format!("/runs/{id}/approve"), json!({}))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
        assert_eq!(
            error["error"]["message"],
            "you may not approve your own request; this flow does not allow self-approval"
        );
        assert_eq!(count(&acme.admin.audit_kinds(&id).await, "refused"), 1);

        let id = run_id(
            &acme
                .request("prod", json!({ "reason": "x", "allow_self": true }))
                .await,
        );
        let (status, body) = acme
            .member
            .post(&format!("/runs/{id}/approve"), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["run"]["status"], "escalated");

        // Guests may not request at all.
        acme.admin
            .put("/users/gus@acme.test", json!({ "role": "guest" }))
            .await;
        let (_, token) = acme
            .admin
            .post("/tokens", json!({ "email": "gus@acme.test", "name": "t" }))
            .await;
        let guest = acme.admin.with_token(token["token"].as_str().unwrap());
        let (status, error) = guest
            .post(
                "/events/request",
                json!({ "flow": "prod", "flow_inputs": { "reason": "x" } }),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    }
}

#[tokio::test]
async fn fifty_simultaneous_approvals_approve_and_escalate_once() {
    for database in test_databases().await {
        let server = start(&database).await;
        let acme = tenant(&server, "acme").await;
        acme.flow("prod", json!({}), true).await;
        let id = run_id(
            &acme
                .request("prod", json!({ "reason": "x", "duration": "1h" }))
                .await,
        );
        let path = format!("/runs/{id}/approve");
        let attempts = (0..50).map(|_| {
            let admin = acme.admin.clone();
            let path = path.clone();
            tokio::spawn(async move { admin.post(&path, json!({})).await })
        });
        let results = futures::future::join_all(attempts).await;
        let statuses: Vec<StatusCode> = results.into_iter().map(|r| r.unwrap().0).collect();
        let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
        let conflict = statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count();
        assert_eq!((ok, conflict), (1, 49), "{}: {statuses:?}", database.kind);
        let kinds = acme.admin.audit_kinds(&id).await;
        assert_eq!(count(&kinds, "approve"), 1, "{kinds:?}");
        assert_eq!(count(&kinds, "escalate"), 1, "{kinds:?}");
        let run = acme.admin.wait_for(&id, "escalated").await;
        assert_eq!(
            run["timers"].as_array().unwrap().len(),
            1,
            "one deescalation scheduled"
        );
    }
}

#[tokio::test]
async fn a_failing_plugin_errors_only_its_own_run() {
    for database in test_databases().await {
        let server = start(&database).await;
        let acme = tenant(&server, "acme").await;
        let globex = tenant(&server, "globex").await;
        // Acme's plugin spins until its deadline when asked for permissions.
        let (status, hostile) = acme.admin.upload(plugin_bytes("hostile-plugin")).await;
        assert_eq!(status, StatusCode::CREATED, "{hostile}");
        let (status, flow) = acme
            .admin
            .put(
                "/flows/spin",
                json!({ "vars": { "behavior": "loop" }, "plugin": hostile["hash"] }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{flow}");
        acme.flow("failing", json!({ "fail": "on_approve" }), false)
            .await;
        globex.flow("prod", json!({}), false).await;

        // `get_permissions` is asked once, when the request is made (as Sym does): the
        // looping plugin errors its run then, and nothing is left to approve.
        let spun = acme.request("spin", json!({})).await;
        let spin = run_id(&spun);
        let failing = run_id(&acme.request("failing", json!({ "reason": "x" })).await);
        let fine = run_id(&globex.request("prod", json!({ "reason": "x" })).await);

        assert_eq!(spun["run"]["status"], "errored", "{spun}");
        let (status, body) = acme
            .admin
            .post(&format!("/runs/{spin}/approve"), json!({}))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        let error = &spun["run"]["error"];
        assert_eq!(error["handler"], "get_permissions");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("did not finish within 100 ms"),
            "{error}"
        );

        let (_, body) = acme
            .admin
            .post(&format!("/runs/{failing}/approve"), json!({}))
            .await;
        assert_eq!(body["run"]["status"], "errored");
        assert!(
            body["run"]["error"]["message"]
                .as_str()
                .unwrap()
                .contains("ValueError: on_approve was told to fail"),
            "{body}"
        );
        let kinds = acme.admin.audit_kinds(&failing).await;
        assert_eq!(count(&kinds, "plugin_error"), 1);

        // The other tenant's request goes through untouched.
        let (status, body) = globex
            .admin
            .post(&format!("/runs/{fine}/approve"), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["run"]["status"], "escalated");
    }
}

/// A tenant whose plugin spins until its deadline queues behind its own calls: past a queue of
/// its own (48 requests in progress), its new requests are told 429 with `Retry-After` (none is lost: each answer is
/// either the errored run or the refusal), and another tenant is served meanwhile.
#[tokio::test]
async fn a_tenant_whose_plugin_spins_queues_behind_itself() {
    for database in test_databases().await {
        let server = start(&database).await;
        let acme = tenant(&server, "acme").await;
        let globex = tenant(&server, "globex").await;
        let (_, hostile) = acme.admin.upload(plugin_bytes("hostile-plugin")).await;
        let (status, flow) = acme
            .admin
            .put(
                "/flows/spin",
                json!({ "vars": { "behavior": "loop" }, "plugin": hostile["hash"] }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{flow}");
        globex.flow("prod", json!({}), false).await;

        let client = reqwest::Client::new();
        let url = format!("{}/events/request", acme.member.base);
        let spinning: Vec<_> = (0..80)
            .map(|_| {
                let request = client
                    .post(&url)
                    .bearer_auth(&acme.member.token)
                    .json(&json!({ "flow": "spin", "flow_inputs": {} }));
                tokio::spawn(async move {
                    let response = request.send().await.unwrap();
                    let retry_after = response.headers().get("retry-after").cloned();
                    (
                        response.status(),
                        retry_after,
                        response.json::<Value>().await.unwrap(),
                    )
                })
            })
            .collect();

        // Served while acme's calls spin.
        let fine = globex.request("prod", json!({ "reason": "x" })).await;
        assert_eq!(fine["run"]["status"], "requested", "{fine}");

        let mut refused = 0;
        for answer in spinning {
            let (status, retry_after, body) = answer.await.unwrap();
            match status {
                StatusCode::CREATED => assert_eq!(body["run"]["status"], "errored", "{body}"),
                StatusCode::TOO_MANY_REQUESTS => {
                    refused += 1;
                    assert_eq!(body["error"]["code"], "tenant_busy", "{body}");
                    let wait: u64 = retry_after.unwrap().to_str().unwrap().parse().unwrap();
                    assert!(wait >= 1, "{wait}");
                }
                other => panic!("unexpected {other}: {body}"),
            }
        }
        assert!(refused > 0, "no request was turned away");
    }
}

/// The API keeps to its OpenAPI description: schemathesis sends generated requests to every
/// operation (bounded, fixed seed), as an admin and as the operator, and finds no status code
/// the description does not list and no server error. The plugin upload is left out: its
/// body is a WebAssembly component, which schemathesis cannot generate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_keeps_to_its_openapi_description() {
    let database = assent_tests::sqlite_database();
    let server = start(&database).await;
    let acme = tenant(&server, "acme").await;
    acme.flow("prod", json!({}), false).await;
    let st = assent_plugin_build::PythonToolchain::from_workspace()
        .venv
        .join("bin/st");
    assert!(
        st.exists(),
        "schemathesis is not installed at `{}`; run `scripts/setup`",
        st.display()
    );
    let base = format!("http://{}", server.addr);
    for token in [acme.admin.token.clone(), support::OPERATOR_TOKEN.to_owned()] {
        let (st, base) = (st.clone(), base.clone());
        let output = tokio::task::spawn_blocking(move || {
            let workdir = tempfile::tempdir().unwrap();
            std::process::Command::new(&st)
                .current_dir(workdir.path())
                .args([
                    "run",
                    &format!("{base}/api/v1/openapi.json"),
                    "--url",
                    &base,
                ])
                .args(["-H", &format!("Authorization: Bearer {token}")])
                .args(["--checks", "status_code_conformance,not_a_server_error"])
                .args(["--max-examples", "10", "--seed", "1", "--no-color"])
                .args(["--exclude-operation-id", "upload_plugin"])
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let report = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{report}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(report.contains("Tested: 35"), "{report}");
    }
}

/// A key is the caller's own: another person sending the same key and body neither gets the
/// first caller's answer (a run they may not see) nor leaves a refusal behind for the next.
#[tokio::test]
async fn idempotency_keys_belong_to_the_caller() {
    for database in test_databases().await {
        let server = start(&database).await;
        let acme = tenant(&server, "acme").await;
        acme.flow("prod", json!({ "approve_deny": "ADMIN" }), false)
            .await;
        let body = json!({ "flow": "prod", "flow_inputs": { "reason": "x" },
                           "user": { "email": "admin@acme.test" } });
        let (status, admins, _) = acme
            .admin
            .post_with_key("/events/request", "shared", body.clone())
            .await;
        assert_eq!(status, StatusCode::CREATED, "{admins}");
        let (status, members, replayed) = acme
            .member
            .post_with_key("/events/request", "shared", body)
            .await;
        assert!(
            !replayed,
            "{}: the admin's answer was replayed",
            database.kind
        );
        assert_eq!(status, StatusCode::FORBIDDEN, "{members}");
        assert_ne!(members["run"]["id"], admins["run"]["id"]);

        // The member's refused approval does not answer for the admin's.
        let id = run_id(&acme.request("prod", json!({ "reason": "y" })).await);
        let path = format!("/runs/{id}/approve");
        let (status, _, _) = acme
            .other_member
            .post_with_key(&path, "ap", json!({}))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, approved, replayed) = acme.admin.post_with_key(&path, "ap", json!({})).await;
        assert_eq!(
            (status, replayed),
            (StatusCode::OK, false),
            "{}: {approved}",
            database.kind
        );
        assert_eq!(approved["step"], "approve");
    }
}

/// `PUT /users/{email}` changes only what it is given, and the last admin stays an admin.
#[tokio::test]
async fn admins_keep_their_role_and_the_last_one_cannot_be_demoted() {
    for database in test_databases().await {
        let server = start(&database).await;
        let acme = tenant(&server, "acme").await;
        let me = "/users/admin@acme.test";
        let (status, user) = acme
            .admin
            .put(
                me,
                json!({ "identities": [{ "service": "slack", "external_id": "U1" }] }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{user}");
        let (status, user) = acme.admin.put(me, json!({})).await;
        assert_eq!(status, StatusCode::OK, "{user}");
        assert_eq!(
            user["role"], "admin",
            "{}: an empty PUT demoted",
            database.kind
        );
        assert_eq!(user["identities"][0]["external_id"], "U1");

        let (status, error) = acme.admin.put(me, json!({ "role": "member" })).await;
        assert_eq!(status, StatusCode::CONFLICT, "{error}");
        assert_eq!(error["error"]["code"], "last_admin");
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains("`admin@acme.test` is the organisation's last admin"),
            "{error}"
        );

        // With a second admin, the first may step down.
        let (status, _) = acme
            .admin
            .put("/users/ann@acme.test", json!({ "role": "admin" }))
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, user) = acme.admin.put(me, json!({ "role": "member" })).await;
        assert_eq!(
            (status, user["role"].as_str()),
            (StatusCode::OK, Some("member"))
        );

        // The operator restores an admin to an organisation that lost its own.
        let operator = support::api(&server, support::OPERATOR_TOKEN);
        let (status, restored) = operator
            .put("/orgs/acme/admins/admin@acme.test", json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{restored}");
        assert_eq!(restored["role"], "admin");
        let (status, _) = acme.admin.get("/users").await;
        assert_eq!(status, StatusCode::OK, "the restored admin acts as one");
    }
}

/// Guessing tokens gets nowhere: after twenty bad ones a minute from one address, further
/// attempts are answered 429 with `Retry-After`, without a database lookup.
#[tokio::test]
async fn guessing_tokens_is_throttled() {
    let database = assent_tests::sqlite_database();
    let server = start(&database).await;
    let acme = tenant(&server, "acme").await;
    let mut statuses = Vec::new();
    for guess in 0..25 {
        let guesser = acme
            .admin
            .with_token(&format!("guess-{guess:02}-aaaaaaaaaaaaaaaa"));
        statuses.push(guesser.get("/flows").await.0);
    }
    assert!(
        statuses[..20]
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert!(
        statuses[20..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let response = reqwest::Client::new()
        .get(format!("http://{}/api/v1/flows", server.addr))
        .bearer_auth("one-more-guess")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_attempts");
}

/// A page of runs is bounded in bytes as well as in runs: large runs come a few at a time,
/// and paging on with `before` reaches every one.
#[tokio::test]
async fn a_page_of_large_runs_stops_at_its_size() {
    let database = assent_tests::sqlite_database();
    let server = start(&database).await;
    let acme = tenant(&server, "acme").await;
    acme.flow("prod", json!({}), false).await;
    for _ in 0..6 {
        acme.request("prod", json!({ "reason": "x".repeat(900_000) }))
            .await;
    }
    let (status, first) = acme.admin.get("/runs?limit=50").await;
    assert_eq!(status, StatusCode::OK);
    let first = first.as_array().unwrap().clone();
    assert!(
        (1..6).contains(&first.len()),
        "{} runs of ~900 KB in one page",
        first.len()
    );
    let last = first.last().unwrap()["id"].as_str().unwrap().to_owned();
    let (_, rest) = acme.admin.get(&format!("/runs?before={last}")).await;
    assert_eq!(first.len() + rest.as_array().unwrap().len(), 6);
}

/// Waits for run `id` to be errored saying access may still be granted, after its strategy
/// was tried again more than once.
async fn given_up_after_retries(admin: &assent_tests::Api, id: &str, kind: &str) {
    let run = admin.wait_for(id, "errored").await;
    let message = run["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("access may still be granted"),
        "{kind}: {message}"
    );
    let kinds = admin.audit_kinds(id).await;
    assert!(
        count(&kinds, "plugin_error") >= 3,
        "{kind}: tried again before giving up: {kinds:?}"
    );
}

/// Access is never silently left granted: a strategy that fails to take it away is tried
/// again with backoff, and when it keeps failing the run says access may still be granted
/// (and the error logger hears of it).
#[tokio::test]
async fn a_failing_deescalation_is_retried_then_reported() {
    for database in test_databases().await {
        let server = start(&database).await;
        let acme = tenant(&server, "acme").await;
        acme.flow("prod", json!({ "fail": "deescalate" }), true)
            .await;
        let id = run_id(
            &acme
                .request("prod", json!({ "reason": "x", "duration": "1s" }))
                .await,
        );
        let (status, _) = acme
            .admin
            .post(&format!("/runs/{id}/approve"), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK);
        given_up_after_retries(&acme.admin, &id, database.kind).await;
    }
}

/// A revoke whose strategy fails leaves the access granted for now, says so, and is tried
/// again in the background like a timed deescalation, until the run says access may still be
/// granted.
#[tokio::test]
async fn a_failing_revoke_is_retried_then_reported() {
    for database in test_databases().await {
        let server = start(&database).await;
        let acme = tenant(&server, "acme").await;
        acme.flow("prod", json!({ "fail": "deescalate" }), true)
            .await;
        let id = run_id(&acme.request("prod", json!({ "reason": "x" })).await);
        let (status, _) = acme
            .admin
            .post(&format!("/runs/{id}/approve"), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK);
        acme.admin.wait_for(&id, "escalated").await;

        let (status, body) = acme
            .member
            .post(&format!("/runs/{id}/revoke"), json!({}))
            .await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("will be tried again"), "{message}");
        let (_, run) = acme.admin.get(&format!("/runs/{id}")).await;
        assert_eq!(run["status"], "escalated", "{}: {run}", database.kind);

        given_up_after_retries(&acme.admin, &id, database.kind).await;
    }
}

/// A client that sends half a request head, or half a body (a slowloris), is cut off
/// instead of holding its connection open for ever, while others are served meanwhile.
#[tokio::test]
async fn a_half_sent_request_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let database = assent_tests::sqlite_database();
    let server = start(&database).await;
    let acme = tenant(&server, "acme").await;
    let mut slow_head = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    slow_head
        .write_all(b"GET /health HTTP/1.1\r\nHost: assent\r\nX-Slow: ")
        .await
        .unwrap();
    let mut slow_body = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/events/request HTTP/1.1\r\nHost: assent\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"flow\": ",
        acme.admin.token
    );
    slow_body.write_all(head.as_bytes()).await.unwrap();

    let health = reqwest::get(format!("http://{}/health", server.addr))
        .await
        .unwrap();
    assert_eq!(
        health.status(),
        StatusCode::OK,
        "others are served meanwhile"
    );
    let wait = std::time::Duration::from_secs(20);
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(wait, slow_head.read_to_end(&mut rest)).await;
    assert!(
        closed.is_ok(),
        "the half-sent head still held its connection after 20 s"
    );
    let mut answer = Vec::new();
    let answered = tokio::time::timeout(wait, slow_body.read_to_end(&mut answer)).await;
    assert!(
        answered.is_ok(),
        "the half-sent body still held its connection after 20 s"
    );
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("too slowly"), "{answer}");
}

/// At most 768 connections are served at once; the next waits in the kernel's backlog until
/// one closes, so idle clients cannot use up the server's file descriptors. (The test holds
/// some 1,600 descriptors: the client's and the server's end of each connection.)
#[tokio::test]
async fn connections_beyond_the_limit_wait_their_turn() {
    const LIMIT: usize = 768;
    let database = assent_tests::sqlite_database();
    let server = start(&database).await;
    let mut idle = Vec::with_capacity(LIMIT);
    for _ in 0..LIMIT {
        idle.push(tokio::net::TcpStream::connect(server.addr).await.unwrap());
    }
    let health = format!("http://{}/health", server.addr);
    let waiting = tokio::spawn(async move { reqwest::get(health).await });
    // Well inside the 10 s the idle connections have to send a request head.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert!(
        !waiting.is_finished(),
        "connection {} was served while {LIMIT} were open",
        LIMIT + 1
    );
    drop(idle);
    let answered = tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
        .await
        .expect("served once the others closed")
        .unwrap()
        .unwrap();
    assert_eq!(answered.status(), StatusCode::OK);
}

/// A person's username is their email, as in Sym, so flows comparing `username` with lists
/// of emails match and two people whose emails share a local part never share a name. Only
/// a bot is given a name of its own (without `@`), and no two users share one.
#[tokio::test]
async fn usernames_are_emails_and_bots_have_names() {
    for database in test_databases().await {
        let server = start(&database).await;
        let acme = tenant(&server, "acme").await;
        let (_, first) = acme.admin.put("/users/x@demo.test", json!({})).await;
        let (status, second) = acme.admin.put("/users/x@partner.test", json!({})).await;
        assert_eq!(status, StatusCode::OK, "{second}");
        assert_eq!(first["username"], "x@demo.test", "{}", database.kind);
        assert_eq!(second["username"], "x@partner.test");

        let (status, bot) = acme
            .admin
            .put("/users/deploy-bot@bots.test", json!({ "username": "x" }))
            .await;
        assert_eq!(status, StatusCode::OK, "{bot}");
        assert_eq!(bot["username"], "x");
        let (status, error) = acme
            .admin
            .put("/users/y@demo.test", json!({ "username": "x" }))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains("`x`"), "{message}");
        let (status, error) = acme
            .admin
            .put("/users/x@partner.test", json!({ "username": "x" }))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{error}");

        let (status, error) = acme
            .admin
            .put(
                "/users/x@demo.test",
                json!({ "username": "x@partner.test" }),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
        assert_eq!(error["error"]["code"], "invalid_request", "{error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains("`x@demo.test`"), "{message}");
        assert!(message.contains("leave `username` out"), "{message}");
        let (_, users) = acme.admin.get("/users").await;
        let usernames: Vec<&str> = users
            .as_array()
            .unwrap()
            .iter()
            .filter(|user| user["email"].as_str().unwrap().starts_with("x@"))
            .map(|user| user["username"].as_str().unwrap())
            .collect();
        assert_eq!(usernames.len(), 2, "{users}");
        assert!(
            usernames.iter().all(|name| name.starts_with("x@")),
            "{users}"
        );
    }
}

/// An escalation that fails part-way may have granted some access: the strategy's
/// `deescalate` takes it back, and the run says so.
#[tokio::test]
async fn a_failed_escalation_is_rolled_back() {
    for database in test_databases().await {
        let server = start(&database).await;
        let acme = tenant(&server, "acme").await;
        acme.flow("prod", json!({ "fail": "escalate" }), true).await;
        let id = run_id(&acme.request("prod", json!({ "reason": "x" })).await);
        let (status, body) = acme
            .admin
            .post(&format!("/runs/{id}/approve"), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let run = acme.admin.wait_for(&id, "errored").await;
        let message = run["error"]["message"].as_str().unwrap();
        assert!(
            message.ends_with("whatever it granted was taken back"),
            "{}: {message}",
            database.kind
        );
        let (_, audit) = acme.admin.get(&format!("/audit?run_id={id}")).await;
        let rolled_back = audit["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "rolled_back")
            .cloned()
            .unwrap_or_else(|| panic!("{}: no rollback in {audit}", database.kind));
        assert_eq!(rolled_back["data"]["output"]["revoked"], "");
    }
}

/// Who may see and revoke a run follows the permissions its flow gave when it was
/// requested: the requester, approvers and admins; anyone else gets 404 for a run that
/// exists, as for one that does not.
#[tokio::test]
async fn runs_are_seen_and_revoked_by_the_requester_approvers_and_admins() {
    for database in test_databases().await {
        let server = start(&database).await;
        let acme = tenant(&server, "acme").await;
        acme.flow("locked", json!({ "approve_deny": "ADMIN" }), true)
            .await;
        acme.flow("buddy", json!({ "approve_deny": "bob@acme.test" }), true)
            .await;
        let locked = run_id(
            &acme
                .request("locked", json!({ "reason": "x", "duration": "1h" }))
                .await,
        );
        let buddy = run_id(&acme.request("buddy", json!({ "reason": "y" })).await);

        let (status, _) = acme.other_member.get(&format!("/runs/{locked}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{}", database.kind);
        let (status, _) = acme.other_member.get(&format!("/runs/{buddy}")).await;
        assert_eq!(status, StatusCode::OK, "an approver sees the run");
        let (status, _) = acme.member.get(&format!("/runs/{locked}")).await;
        assert_eq!(status, StatusCode::OK, "the requester sees the run");

        let (status, _) = acme
            .admin
            .post(&format!("/runs/{locked}/approve"), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, error) = acme
            .other_member
            .post(&format!("/runs/{locked}/revoke"), json!({}))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
        let (status, revoked) = acme
            .member
            .post(&format!("/runs/{locked}/revoke"), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{revoked}");
        assert_eq!(revoked["run"]["status"], "deescalated");
    }
}

#[tokio::test]
async fn idempotency_keys_make_retries_safe() {
    for database in test_databases().await {
        let server = start(&database).await;
        let acme = tenant(&server, "acme").await;
        acme.flow("prod", json!({}), false).await;
        let body = json!({ "flow": "prod", "flow_inputs": { "reason": "x" } });
        let (status, first, replayed) = acme
            .member
            .post_with_key("/events/request", "req-1", body.clone())
            .await;
        assert_eq!((status, replayed), (StatusCode::CREATED, false));
        let (status, again, replayed) = acme
            .member
            .post_with_key("/events/request", "req-1", body.clone())
            .await;
        assert_eq!((status, replayed), (StatusCode::CREATED, true));
        assert_eq!(again["run"]["id"], first["run"]["id"], "one run, not two");
        let (status, error, _) = acme
            .member
            .post_with_key(
                "/events/request",
                "req-1",
                json!({ "flow": "prod", "flow_inputs": { "reason": "y" } }),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error["error"]["code"], "idempotency_key_reused");
        let (_, runs) = acme.admin.get("/runs").await;
        assert_eq!(runs.as_array().unwrap().len(), 1);

        // An approval retried with its key approves once and answers the same.
        let path = format!("/runs/{}/approve", run_id(&first));
        let (_, a, _) = acme.admin.post_with_key(&path, "ap-1", json!({})).await;
        let (status, b, replayed) = acme.admin.post_with_key(&path, "ap-1", json!({})).await;
        assert_eq!((status, replayed), (StatusCode::OK, true));
        assert_eq!(a, b);
    }
}

/// A key is visible ASCII, as the error says: one with a space (a header value may carry
/// one) is refused before anything runs, rather than kept.
#[tokio::test]
async fn an_idempotency_key_with_spaces_is_refused() {
    let database = assent_tests::sqlite_database();
    let server = start(&database).await;
    let acme = tenant(&server, "acme").await;
    acme.flow("prod", json!({}), false).await;
    let body = json!({ "flow": "prod", "flow_inputs": { "reason": "x" } });
    let (status, error, _) = acme
        .member
        .post_with_key("/events/request", "two words", body)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("visible ASCII"),
        "{error}"
    );
    let (_, runs) = acme.admin.get("/runs").await;
    assert_eq!(runs.as_array().unwrap().len(), 0, "nothing ran");
}

/// Every endpoint, called with another organisation's token on this one's things: 404, and
/// nothing of this organisation in any listing.
#[tokio::test]
async fn another_tenant_sees_nothing() {
    for database in test_databases().await {
        let server = start(&database).await;
        let acme = tenant(&server, "acme").await;
        let globex = tenant(&server, "globex").await;
        let (_, hostile) = acme.admin.upload(plugin_bytes("hostile-plugin")).await;
        let acme_only = hostile["hash"].as_str().unwrap().to_owned();
        acme.flow("secret", json!({}), true).await;
        let requested = acme
            .request("secret", json!({ "reason": "x", "duration": "1h" }))
            .await;
        let id = run_id(&requested);
        let (_, page) = acme.admin.get(&format!("/audit?run_id={id}")).await;
        let event = page["events"][0]["id"].as_str().unwrap().to_owned();

        let intruder = &globex.admin;
        let not_found = [
            intruder.get(&format!("/runs/{id}")).await,
            intruder
                .post(&format!("/runs/{id}/approve"), json!({}))
                .await,
            intruder.post(&format!("/runs/{id}/deny"), json!({})).await,
            intruder
                .post(&format!("/runs/{id}/revoke"), json!({}))
                .await,
            intruder
                .post("/events/deescalate", json!({ "run_id": id }))
                .await,
            intruder.get(&format!("/events/{event}")).await,
            intruder.get("/flows/secret").await,
            intruder.get(&format!("/plugins/{acme_only}")).await,
            intruder
                .post(
                    "/events/request",
                    json!({ "flow": "secret", "flow_inputs": { "reason": "x" } }),
                )
                .await,
            intruder
                .post(
                    "/events/request",
                    json!({ "flow": "secret", "user": { "email": "ann@acme.test" } }),
                )
                .await,
        ];
        for (status, body) in &not_found {
            assert_eq!(*status, StatusCode::NOT_FOUND, "{}: {body}", database.kind);
        }
        // Referencing the other tenant's plugin in a flow fails as if it did not exist.
        let (status, body) = intruder
            .put("/flows/stolen", json!({ "plugin": acme_only }))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("is not uploaded")
        );
        // Creating a token for another tenant's user.
        let (status, _) = intruder
            .post("/tokens", json!({ "email": "ann@acme.test", "name": "x" }))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        let everything = serde_json::to_string(&[
            intruder.get("/runs").await.1,
            intruder.get("/flows").await.1,
            intruder.get("/plugins").await.1,
            intruder.get("/users").await.1,
            intruder.get("/audit?limit=1000").await.1,
        ])
        .unwrap();
        for secret in [&id, &event, &acme_only, "secret", "acme.test"] {
            assert!(
                !everything.contains(secret),
                "{}: `{secret}` leaked",
                database.kind
            );
        }
        // And acme's run is where it was.
        let (_, run) = acme.admin.get(&format!("/runs/{id}")).await;
        assert_eq!(run["status"], "requested");
    }
}

#[tokio::test]
async fn bad_input_gets_a_clear_error() {
    let database = assent_tests::sqlite_database();
    let server = start(&database).await;
    let acme = tenant(&server, "acme").await;
    acme.flow("prod", json!({}), false).await;
    let client = reqwest::Client::new();
    let base = acme.admin.base.clone();

    let (status, body) = acme.member.with_token("assent_forged").get("/flows").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthorized");
    let response = client.get(format!("{base}/flows")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // Not JSON, the wrong type, an unknown field.
    let response = client
        .post(format!("{base}/events/request"))
        .bearer_auth(&acme.member.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_request");
    let (status, body) = acme
        .member
        .post("/events/request", json!({ "flow": 3 }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("`flow`") && message.contains("expected a string"),
        "{message}"
    );
    let (status, body) = acme
        .member
        .post(
            "/events/request",
            json!({ "flow": "prod", "flow_input": {} }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("flow_input"),
        "{body}"
    );

    // Inputs that do not fit the flow's fields: every problem, per field.
    let (status, body) = acme
        .member
        .post(
            "/events/request",
            json!({ "flow": "prod", "flow_inputs": { "duration": "soon", "colour": "red" } }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "invalid_inputs");
    let fields: Vec<&str> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["colour", "reason", "duration"]);

    let (status, body) = acme
        .member
        .post(
            "/events/request",
            json!({ "flow": "nope", "flow_inputs": {} }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["message"], "flow `nope` does not exist");

    // A plugin that is not one is refused with the host's reason, and nothing is stored.
    let (status, body) = acme.admin.upload(b"\0asm\x01\0\0\0".to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "invalid_plugin");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("core WebAssembly module")
    );
    let (status, body) = acme.admin.upload(b"hello".to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (_, plugins) = acme.admin.get("/plugins").await;
    assert_eq!(plugins.as_array().unwrap().len(), 1);
    let response = client
        .post(format!("{base}/plugins"))
        .bearer_auth(&acme.admin.token)
        .body(plugin_bytes("echo-plugin"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // Too large for a JSON endpoint: 413, in JSON.
    let huge = json!({ "flow": "prod", "flow_inputs": { "reason": "x".repeat(2 << 20) } });
    let (status, body) = acme.member.post("/events/request", huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"]["code"], "payload_too_large");

    // Members cannot administer.
    let (status, body) = acme.member.upload(plugin_bytes("echo-plugin")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = acme.member.get("/audit").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = acme.admin.get("/audit?limit=many").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("limit"),
        "{body}"
    );

    // Flows that cannot work are refused with the reason.
    let (status, body) = acme
        .admin
        .put(
            "/flows/broken",
            json!({ "plugin": acme.echo, "fields": [{ "name": "d", "type": "duration", "default": "soon" }] }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`soon` is not a duration")
    );
    let (status, body) = acme
        .admin
        .put(
            "/flows/broken",
            json!({ "plugin": acme.echo, "fields": [{ "name": "d", "type": "colour" }] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Unknown routes answer in JSON too; operator endpoints need the operator's token.
    let (status, body) = acme.admin.get("/nowhere").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    let (status, _) = acme
        .admin
        .post(
            "/orgs",
            json!({ "slug": "x", "name": "x", "admin_email": "a@x.test" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_openapi_description_covers_every_route() {
    let database = assent_tests::sqlite_database();
    let server = start(&database).await;
    let response = reqwest::get(format!("http://{}/api/v1/openapi.json", server.addr))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let spec: Value = response.json().await.unwrap();
    let paths = spec["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/api/v1/orgs", vec!["post"]),
        ("/api/v1/orgs/{slug}/admins/{email}", vec!["put"]),
        ("/api/v1/plugins", vec!["post", "get"]),
        ("/api/v1/plugins/{hash}", vec!["get"]),
        ("/api/v1/flows", vec!["get"]),
        ("/api/v1/flows/{name}", vec!["put", "get"]),
        ("/api/v1/flows/{name}/form", vec!["get", "post"]),
        ("/api/v1/flows-filter", vec!["put", "get", "delete"]),
        ("/api/v1/config", vec!["put"]),
        ("/api/v1/config/plan", vec!["post"]),
        ("/api/v1/users", vec!["get"]),
        ("/api/v1/users/{email}", vec!["put"]),
        ("/api/v1/tokens", vec!["post"]),
        ("/api/v1/events/request", vec!["post"]),
        ("/api/v1/events/deescalate", vec!["post"]),
        ("/api/v1/events/{id}", vec!["get"]),
        ("/api/v1/runs", vec!["get"]),
        ("/api/v1/runs/{id}", vec!["get"]),
        ("/api/v1/runs/{id}/approve", vec!["post"]),
        ("/api/v1/runs/{id}/deny", vec!["post"]),
        ("/api/v1/runs/{id}/revoke", vec!["post"]),
        ("/api/v1/audit", vec!["get"]),
        ("/api/v1/environments/{environment}", vec!["put"]),
        ("/api/v1/environments/{environment}/secrets", vec!["get"]),
        (
            "/api/v1/environments/{environment}/secrets/{name}",
            vec!["put", "delete"],
        ),
        (
            "/api/v1/environments/{environment}/integrations",
            vec!["get"],
        ),
        (
            "/api/v1/environments/{environment}/integrations/{name}",
            vec!["put", "get", "delete"],
        ),
        ("/api/v1/slack/install", vec!["post"]),
    ] {
        for method in methods {
            assert!(
                paths[path][method].is_object(),
                "{method} {path} is not described"
            );
        }
    }
    assert_eq!(paths.len(), 28, "a described route is not tested here");
}

/// With room in memory for one plugin, requests alternating between two organisations'
/// plugins load each again (from the compiled artifact on disk) and none fails.
#[tokio::test]
async fn plugins_dropped_from_memory_load_again_when_used() {
    let database = assent_tests::sqlite_database();
    let server = assent_server::Server::start(assent_server::ServerConfig {
        plugin_cache: assent_server::CacheBudget {
            memory_bytes: 1,
            ..assent_server::CacheBudget::default()
        },
        ..support::server_config(&database)
    })
    .await
    .unwrap();
    let first = tenant(&server, "first").await;
    let second = tenant(&server, "second").await;
    let own_build = assent_tests::plugin_variant(&plugin_bytes("echo-plugin"), "second");
    let (status, plugin) = second.admin.upload(own_build).await;
    assert_eq!(status, StatusCode::CREATED, "{plugin}");
    let second = support::Tenant {
        echo: plugin["hash"].as_str().unwrap().to_owned(),
        ..second
    };
    assert_ne!(first.echo, second.echo);
    first.flow("prod", json!({}), false).await;
    second.flow("prod", json!({}), false).await;

    for round in 0..3 {
        for tenant in [&first, &second] {
            let requested = tenant.request("prod", json!({ "reason": "x" })).await;
            assert_eq!(requested["run"]["status"], "requested", "round {round}");
        }
    }
    let (loaded, _) = server.runner.loaded_plugins();
    assert_eq!(loaded, 1, "one plugin's room, one plugin kept");
}

/// `allowed_sources` (Sym's flow param): unset, a flow is requested from anywhere; listed,
/// only from those sources; empty, from none. A refused source is told which are allowed.
#[tokio::test]
async fn a_flow_is_requested_only_from_its_allowed_sources() {
    let database = assent_tests::sqlite_database();
    let server = start(&database).await;
    let acme = tenant(&server, "acme").await;
    acme.flow("anywhere", json!({}), false).await;
    acme.flow_with(
        "api-only",
        json!({}),
        false,
        json!({ "allowed_sources": ["api"] }),
    )
    .await;
    acme.flow_with(
        "slack-only",
        json!({}),
        false,
        json!({ "allowed_sources": ["slack"] }),
    )
    .await;
    acme.flow_with(
        "nowhere",
        json!({}),
        false,
        json!({ "allowed_sources": [] }),
    )
    .await;

    acme.request("anywhere", json!({ "reason": "x" })).await;
    acme.request("api-only", json!({ "reason": "x" })).await;
    for (flow, allowed) in [("slack-only", "`slack`"), ("nowhere", "none")] {
        let (status, error) = acme
            .member
            .post(
                "/events/request",
                json!({ "flow": flow, "flow_inputs": { "reason": "x" } }),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{flow}: {error}");
        assert_eq!(error["error"]["code"], "source_not_allowed", "{error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("`api`") && message.contains(allowed),
            "{message}"
        );
    }

    let (status, error) = acme
        .admin
        .put(
            "/flows/typo",
            json!({ "plugin": acme.echo, "params": { "allowed_sources": ["email"] } }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    let (_, flow) = acme.admin.get("/flows/api-only").await;
    assert_eq!(flow["params"]["allowed_sources"], json!(["api"]), "{flow}");
}

/// A plugin's `users` import reaches its own organisation's people: it counts a requester's
/// approved requests from the audit log, and keeps an identity on them.
#[tokio::test]
async fn plugins_count_past_requests_and_keep_identities() {
    for database in test_databases().await {
        let server = start(&database).await;
        let acme = tenant(&server, "acme").await;
        acme.flow(
            "limited",
            json!({ "max_approved": "1", "keep_identity": "yes" }),
            true,
        )
        .await;
        // Another organisation's approvals do not count for acme's people.
        let globex = tenant(&server, "globex").await;
        globex.flow("limited", json!({}), false).await;

        let first = acme.request("limited", json!({ "reason": "one" })).await;
        assert_eq!(first["run"]["status"], "requested", "{}", database.kind);
        let id = run_id(&first);
        let (status, approved) = acme
            .admin
            .post(&format!("/runs/{id}/approve"), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{approved}");
        assert_eq!(approved["run"]["status"], "escalated", "{approved:#}");

        let second = acme.request("limited", json!({ "reason": "two" })).await;
        assert_eq!(
            second["ignored"]["message"], "You already have 1 approved requests of limited.",
            "{second:#}"
        );
        assert_eq!(second["run"]["status"], "cancelled");
        // Bob has none approved: his request goes through.
        let (status, bobs) = acme
            .other_member
            .post(
                "/events/request",
                json!({ "flow": "limited", "flow_inputs": { "reason": "mine" } }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{bobs}");
        assert_eq!(bobs["run"]["status"], "requested", "{bobs:#}");

        // `after_escalate` kept an identity on the requester, audited as the plugin's.
        let (_, users) = acme.admin.get("/users").await;
        let ann = users
            .as_array()
            .unwrap()
            .iter()
            .find(|user| user["email"] == "ann@acme.test")
            .unwrap();
        let identities = ann["identities"].as_array().unwrap();
        let echo: Vec<&Value> = identities
            .iter()
            .filter(|identity| identity["service"] == "echo")
            .collect();
        assert_eq!(echo.len(), 1, "{ann:#}");
        assert_eq!(
            echo[0]["external_id"],
            format!("E-{}", ann["id"].as_str().unwrap())
        );
        let (_, audit) = acme.admin.get("/audit").await;
        let by_plugin = audit["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|event| event["kind"] == "user.updated" && event["data"]["by"] == "plugin")
            .count();
        assert_eq!(by_plugin, 1, "{audit:#}");
    }
}

/// The prompt fields of the form flows: `team` takes its choices from the plugin's
/// `prefetch`, `reason` is hidden until `on_change` of `team` shows it.
fn form_flow(echo: &str, team_prefetch: &str) -> Value {
    json!({
        "label": "Team access",
        "vars": { "channels": "#access", "team_options": "db:Databases,web:Web" },
        "fields": [
            { "name": team_prefetch, "type": "string", "required": true, "prefetch": true },
            { "name": "reason", "type": "string", "visible": false },
        ],
        "plugin": echo,
    })
}

fn field<'a>(form: &'a Value, name: &str) -> &'a Value {
    form["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|field| field["name"] == name)
        .unwrap_or_else(|| panic!("no field `{name}` in {form:#}"))
}

/// The form a person is shown comes from the flow's plugin (`prefetch` fills choices,
/// `on_change` shows and requires fields), and a request through the API is held to the
/// form its own values produce.
#[tokio::test]
async fn forms_are_filled_by_the_plugin_and_requests_are_held_to_them() {
    for database in test_databases().await {
        let server = start(&database).await;
        let acme = tenant(&server, "acme").await;
        let (status, body) = acme
            .admin
            .put("/flows/teams", form_flow(&acme.echo, "team"))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");

        let (status, form) = acme.member.get("/flows/teams/form").await;
        assert_eq!(status, StatusCode::OK, "{form}");
        assert_eq!(
            field(&form, "team")["allowed_values"],
            json!([{ "value": "db", "label": "Databases" }, { "value": "web", "label": "Web" }])
        );
        assert_eq!(form["on_change"], json!(["team"]));
        assert_eq!(field(&form, "reason")["visible"], false);

        // Choosing `db` shows `reason` and requires it.
        let (status, changed) = acme
            .member
            .post("/flows/teams/form", json!({ "values": { "team": "db" } }))
            .await;
        assert_eq!(status, StatusCode::OK, "{changed}");
        assert_eq!(
            field(&changed, "team")["value"],
            json!({ "type": "string", "value": "db" })
        );
        let reason = field(&changed, "reason");
        assert_eq!(
            (&reason["visible"], &reason["required"]),
            (&json!(true), &json!(true))
        );

        // Requests meet the same rules.
        let refusal = |inputs: Value| {
            let member = &acme.member;
            async move {
                let (status, body) = member
                    .post(
                        "/events/request",
                        json!({ "flow": "teams", "flow_inputs": inputs }),
                    )
                    .await;
                assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
                body["error"]["message"].as_str().unwrap().to_owned()
            }
        };
        assert!(
            refusal(json!({ "team": "ops" }))
                .await
                .contains("`team` must be one of db, web, not `ops`")
        );
        assert!(
            refusal(json!({ "team": "db" }))
                .await
                .contains("`reason` is required")
        );
        let web = acme.request("teams", json!({ "team": "web" })).await;
        assert_eq!(web["run"]["status"], "requested", "{}", database.kind);
        let db = acme
            .request("teams", json!({ "team": "db", "reason": "migration" }))
            .await;
        assert_eq!(db["run"]["status"], "requested");

        // A field that says its plugin fetches its choices must be one the plugin fetches.
        let (status, refused) = acme
            .admin
            .put("/flows/regions", form_flow(&acme.echo, "region"))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_eq!(refused["error"]["code"], "invalid_flow");
        assert!(
            refused["error"]["message"]
                .as_str()
                .unwrap()
                .contains("field `region` has `prefetch` set, but plugin"),
            "{refused}"
        );

        // A flow `on_prompt` withholds has no form for that person.
        acme.flow(
            "payroll",
            json!({ "on_prompt": "deny:Payroll access is requested from HR." }),
            false,
        )
        .await;
        let (status, withheld) = acme.member.get("/flows/payroll/form").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{withheld}");
        assert_eq!(withheld["error"]["code"], "not_offered");
        assert_eq!(
            withheld["error"]["message"],
            "Payroll access is requested from HR."
        );
        let (status, _) = acme.member.get("/flows/nope/form").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        server.abort();
    }
}

fn names(flows: &Value) -> Vec<&str> {
    flows
        .as_array()
        .unwrap()
        .iter()
        .map(|flow| flow["name"].as_str().unwrap())
        .collect()
}

/// The organisation's flows filter (Sym's `sym_flows_filter`): its `get_flows` decides which
/// flows each person is offered; a filter that fails offers nothing.
#[tokio::test]
async fn the_flows_filter_decides_what_each_person_is_offered() {
    for database in test_databases().await {
        let server = start(&database).await;
        let acme = tenant(&server, "acme").await;
        for name in ["alpha", "beta", "gamma"] {
            acme.flow(name, json!({}), false).await;
        }
        let offered = || async {
            let (status, flows) = acme.member.get("/flows?offered=true").await;
            assert_eq!(status, StatusCode::OK, "{flows}");
            flows
        };
        assert_eq!(names(&offered().await), ["alpha", "beta", "gamma"]);
        let (status, none) = acme.admin.get("/flows-filter").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{none}");

        let filter = json!({ "plugin": acme.echo, "vars": { "hidden_flows": "beta" } });
        let (status, refused) = acme.member.put("/flows-filter", filter.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
        let (status, set) = acme.admin.put("/flows-filter", filter).await;
        assert_eq!(status, StatusCode::OK, "{set}");
        assert_eq!(set["vars"]["hidden_flows"], "beta");
        assert_eq!(
            names(&offered().await),
            ["alpha", "gamma"],
            "{}",
            database.kind
        );
        // Every flow is still listed without `offered`; the hidden one has no form.
        let (_, all) = acme.member.get("/flows").await;
        assert_eq!(names(&all), ["alpha", "beta", "gamma"]);
        let (status, hidden) = acme.member.get("/flows/beta/form").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{hidden}");
        assert_eq!(
            hidden["error"]["message"],
            "flow `beta` is not offered to you"
        );

        let (status, failing) = acme
            .admin
            .put(
                "/flows-filter",
                json!({ "plugin": acme.echo, "vars": { "fail": "get_flows" } }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{failing}");
        assert_eq!(names(&offered().await), Vec::<&str>::new());

        let (status, missing) = acme
            .admin
            .put("/flows-filter", json!({ "plugin": "0".repeat(64) }))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{missing}");
        assert!(
            missing["error"]["message"]
                .as_str()
                .unwrap()
                .contains("is not uploaded; upload it first"),
            "{missing}"
        );

        let (status, _) = acme.admin.delete("/flows-filter").await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(names(&offered().await), ["alpha", "beta", "gamma"]);
        let (status, _) = acme.admin.delete("/flows-filter").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (_, audit) = acme.admin.get("/audit").await;
        let changes = audit["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|event| event["kind"] == "flows_filter.updated")
            .count();
        assert_eq!(changes, 3, "two filters set, one removed");
        server.abort();
    }
}

/// Sym's decision message: what an approver writes with an approval or denial reaches the
/// flow's hooks as `event.payload.message`, and stays on the run and in its audit log.
#[tokio::test]
async fn decision_messages_reach_the_hooks_and_the_record() {
    for database in test_databases().await {
        let server = start(&database).await;
        let acme = tenant(&server, "acme").await;
        acme.flow_with(
            "explained",
            json!({ "on_approve": "need_message", "on_deny": "need_message" }),
            false,
            json!({ "include_decision_message": true }),
        )
        .await;
        let id = run_id(&acme.request("explained", json!({ "reason": "x" })).await);
        let path = format!("/runs/{id}/approve");
        let (status, silent) = acme.admin.post(&path, json!({})).await;
        assert_eq!(status, StatusCode::OK, "{silent}");
        assert_eq!(
            silent["ignored"]["message"], "Say why: this flow needs a message.",
            "{}",
            database.kind
        );
        let (status, approved) = acme
            .admin
            .post(&path, json!({ "reason": "Checked the change ticket." }))
            .await;
        assert_eq!(status, StatusCode::OK, "{approved}");
        assert_eq!(approved["run"]["status"], "escalated", "{approved:#}");
        assert_eq!(approved["run"]["reason"], "Checked the change ticket.");
        let (_, audit) = acme.admin.get(&format!("/audit?run_id={id}")).await;
        let approve = audit["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|event| event["kind"] == "approve")
            .expect("the approval is audited");
        assert_eq!(approve["data"]["reason"], "Checked the change ticket.");

        let id = run_id(&acme.request("explained", json!({ "reason": "y" })).await);
        let (_, denied) = acme
            .admin
            .post(
                &format!("/runs/{id}/deny"),
                json!({ "reason": "Not this week." }),
            )
            .await;
        assert_eq!(denied["run"]["status"], "denied", "{denied:#}");
        server.abort();
    }
}

/// Guests (Sym's Slack guests) may request and act only on flows with
/// `allow_guest_interaction`; elsewhere they are refused, saying why.
#[tokio::test]
async fn guests_interact_only_with_flows_that_allow_guests() {
    for database in test_databases().await {
        let server = start(&database).await;
        let acme = tenant(&server, "acme").await;
        acme.flow("members", json!({}), false).await;
        acme.flow_with(
            "partners",
            json!({ "approve_deny": "ALL_USERS" }),
            false,
            json!({ "allow_guest_interaction": true }),
        )
        .await;
        acme.admin
            .put("/users/gus@acme.test", json!({ "role": "guest" }))
            .await;
        let (_, token) = acme
            .admin
            .post("/tokens", json!({ "email": "gus@acme.test", "name": "t" }))
            .await;
        let guest = acme.admin.with_token(token["token"].as_str().unwrap());
        let ask = |flow: &'static str| {
            let guest = &guest;
            async move {
                guest
                    .post(
                        "/events/request",
                        json!({ "flow": flow, "flow_inputs": { "reason": "x" } }),
                    )
                    .await
            }
        };
        let (status, refused) = ask("members").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
        assert!(
            refused["error"]["message"]
                .as_str()
                .unwrap()
                .contains("(`allow_guest_interaction`)"),
            "{refused}"
        );
        let (status, requested) = ask("partners").await;
        assert_eq!(status, StatusCode::CREATED, "{requested}");
        let (_, offered) = guest.get("/flows?offered=true").await;
        assert_eq!(names(&offered), ["partners"], "{}", database.kind);

        // Acting: on `partners`, where everyone may approve, the guest may; on `members`,
        // whose permissions would let them too, they may not.
        acme.flow_with(
            "members",
            json!({ "approve_deny": "ALL_USERS" }),
            false,
            json!({}),
        )
        .await;
        let members = run_id(&acme.request("members", json!({ "reason": "m" })).await);
        let (status, refused) = guest
            .post(&format!("/runs/{members}/approve"), json!({}))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
        assert!(
            refused["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("guests may not act on this flow's requests"),
            "{refused}"
        );
        let partners = run_id(&acme.request("partners", json!({ "reason": "p" })).await);
        let (status, approved) = guest
            .post(&format!("/runs/{partners}/approve"), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{approved}");
        assert_eq!(approved["run"]["status"], "escalated", "{approved:#}");
        server.abort();
    }
}

/// Sym's dynamic targets: a target's `field_bindings` fill its settings from the request's
/// prompt fields of the same names, so the strategy grants what was asked for; a binding to
/// a field the flow lacks is refused when the flow is stored.
#[tokio::test]
async fn field_bindings_fill_a_targets_settings_from_the_request() {
    for database in test_databases().await {
        let server = start(&database).await;
        let acme = tenant(&server, "acme").await;
        let flow = |bindings: Value| {
            json!({
                "label": "Buckets",
                "vars": { "on_request": "approve:auto" },
                "fields": [
                    { "name": "target", "type": "target", "required": true },
                    { "name": "bucket_name", "type": "string", "required": true },
                ],
                "params": { "targets": [
                    { "id": "t1", "name": "s3-read", "label": "Read a bucket",
                      "settings": { "region": "eu-west-1" }, "field_bindings": bindings },
                ] },
                "plugin": acme.echo,
                "strategy": acme.echo,
            })
        };
        let (status, refused) = acme
            .admin
            .put("/flows/buckets", flow(json!(["bucket"])))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_eq!(
            refused["error"]["message"],
            "target `s3-read` binds field `bucket`, which the flow does not have; add a prompt field `bucket` or remove it from `field_bindings`"
        );
        let (status, body) = acme
            .admin
            .put("/flows/buckets", flow(json!(["bucket_name"])))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let run = acme
            .request(
                "buckets",
                json!({ "target": "s3-read", "bucket_name": "invoices-2026" }),
            )
            .await;
        let id = run_id(&run);
        let run = acme.member.wait_for(&id, "escalated").await;
        assert_eq!(
            run["fields"]["target"]["value"]["settings"],
            json!({ "region": "eu-west-1", "bucket_name": "invoices-2026" }),
            "{run:#}"
        );
        assert_eq!(
            run["outputs"]["escalate"]["settings"], "bucket_name=invoices-2026,region=eu-west-1",
            "{}: {run:#}",
            database.kind
        );
        server.abort();
    }
}

/// `PUT /config` on both databases: everything the configuration names is written in one
/// transaction (flows as new versions, the environment's logger, the flows filter, their audit
/// entries), a second apply writes nothing, and `POST /config/plan` says what would change.
#[tokio::test]
async fn a_configuration_applies_at_once_and_twice_changes_nothing() {
    for database in test_databases().await {
        let server = start(&database).await;
        let acme = tenant(&server, "acme").await;
        let config = |channels: &str| {
            json!({
                "environments": { "sandbox": { "error_logger": "#sandbox-errors" } },
                "flows": {
                    "alpha": { "plugin": acme.echo, "environment": "sandbox", "vars": { "channels": channels } },
                    "beta": { "plugin": acme.echo },
                },
                "flows_filter": { "plugin": acme.echo, "vars": { "hidden_flows": "beta" } },
            })
        };
        let (status, applied) = acme.admin.put("/config", config("#a")).await;
        assert_eq!(status, StatusCode::OK, "{}: {applied}", database.kind);
        let actions: Vec<&str> = applied["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|change| change["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, ["create", "create", "create", "create"]);
        let (_, offered) = acme.member.get("/flows?offered=true").await;
        assert_eq!(names(&offered), ["alpha"]);
        let (_, audit) = acme.admin.get("/audit").await;
        let by_config = audit["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|event| event["data"]["by"] == "config")
            .count();
        assert_eq!(by_config, 4);

        let (_, again) = acme.admin.put("/config", config("#a")).await;
        assert!(
            again["changes"]
                .as_array()
                .unwrap()
                .iter()
                .all(|change| change["action"] == "unchanged"),
            "{again:#}"
        );
        let (_, plan) = acme.admin.post("/config/plan", config("#b")).await;
        assert_eq!(
            plan["changes"][1],
            json!({ "kind": "flow", "name": "alpha", "action": "update", "changed": ["vars"] })
        );
        let (_, alpha) = acme.admin.get("/flows/alpha").await;
        assert_eq!(
            (alpha["version"].as_i64(), &alpha["environment"]),
            (Some(1), &json!("sandbox"))
        );
        let (status, refused) = acme.member.put("/config", config("#b")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
        server.abort();
    }
}
