//! Secrets and integrations through the HTTP API, on SQLite and (with `DATABASE_URL`)
//! PostgreSQL: secrets are write-only and never appear in anything the server answers or
//! records; integrations are checked against their type and the environment's secrets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use assent_server::{Keyring, Server};
use assent_tests::aws::{FakeAws, Function};
use assent_tests::providers::FakeProviders;
use assent_tests::{Api, python_plugin_bytes, test_databases};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{server_config, start, tenant};

const TOKEN: &str = "okta-token-7f3a9c1e5b";

#[tokio::test]
async fn secrets_are_write_only_and_integrations_reference_them_by_name() {
    for database in test_databases().await {
        let server = start(&database).await;
        let acme = tenant(&server, "acme").await;
        let kind = database.kind;

        let (status, refused) = acme
            .member
            .put(
                "/environments/main/secrets/okta-token",
                json!({ "value": TOKEN }),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
        let (status, set) = acme
            .admin
            .put(
                "/environments/main/secrets/okta-token",
                json!({ "value": TOKEN }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{kind}: {set}");
        assert_eq!(set["version"], 1);
        assert_eq!(set["set_by"], "admin@acme.test");
        let (_, again) = acme
            .admin
            .put(
                "/environments/main/secrets/okta-token",
                json!({ "value": TOKEN }),
            )
            .await;
        assert_eq!(again["version"], 2, "{again}");
        let (status, empty) = acme
            .admin
            .put("/environments/main/secrets/blank", json!({ "value": "" }))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{empty}");

        // An integration naming a secret the environment does not have is refused.
        let okta = |secret: &str| {
            json!({
                "type": "okta",
                "external_id": "acme.okta.com",
                "settings": { "api_token_secret": secret, "api_url": "https://acme.okta.com" },
            })
        };
        let (status, missing) = acme
            .admin
            .put("/environments/main/integrations/okta", okta("nope"))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{missing}");
        assert_eq!(missing["error"]["code"], "invalid_integration");
        assert!(
            missing["error"]["message"]
                .as_str()
                .unwrap()
                .contains("names secret `nope`, which environment `main` does not have"),
            "{missing}"
        );
        let (status, typo) = acme
            .admin
            .put(
                "/environments/main/integrations/okta",
                json!({ "type": "okta", "external_id": "acme.okta.com", "settings": { "api_token": TOKEN } }),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{typo}");
        let (status, unknown) = acme
            .admin
            .put(
                "/environments/main/integrations/x",
                json!({ "type": "ldap" }),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{unknown}");

        let (status, created) = acme
            .admin
            .put("/environments/main/integrations/okta", okta("okta-token"))
            .await;
        assert_eq!(status, StatusCode::OK, "{kind}: {created}");
        assert_eq!(created["type"], "okta");
        assert_eq!(created["settings"]["api_token_secret"], "okta-token");
        assert_eq!(created["version"], 1);
        let (status, read) = acme.admin.get("/environments/main/integrations/okta").await;
        assert_eq!(status, StatusCode::OK, "{read}");
        assert_eq!(read["external_id"], "acme.okta.com");
        let (_, listed) = acme.admin.get("/environments/main/integrations").await;
        assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");

        // A secret in use is not deleted; the error names who uses it.
        let (status, in_use) = acme
            .admin
            .delete("/environments/main/secrets/okta-token")
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{in_use}");
        assert_eq!(in_use["error"]["code"], "secret_in_use");
        assert!(
            in_use["error"]["message"]
                .as_str()
                .unwrap()
                .contains("integration `okta`"),
            "{in_use}"
        );

        // Another organisation sees none of it.
        let globex = tenant(&server, "globex").await;
        let (status, _) = globex
            .admin
            .get("/environments/main/integrations/okta")
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (_, theirs) = globex.admin.get("/environments/main/secrets").await;
        assert_eq!(theirs, json!([]), "{kind}");

        let (status, _) = acme
            .admin
            .delete("/environments/main/integrations/okta")
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = acme
            .admin
            .delete("/environments/main/secrets/okta-token")
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, gone) = acme
            .admin
            .delete("/environments/main/secrets/okta-token")
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{gone}");
        let (status, no_env) = acme.admin.get("/environments/staging/secrets").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{no_env}");

        // The audit log says who set and deleted what, never the value.
        let (_, audit) = acme.admin.get("/audit?limit=100").await;
        let kinds: Vec<&str> = audit["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|event| event["kind"].as_str().unwrap())
            .collect();
        for expected in [
            "secret.set",
            "secret.deleted",
            "integration.updated",
            "integration.deleted",
        ] {
            assert!(
                kinds.contains(&expected),
                "{kind}: {expected} not in {kinds:?}"
            );
        }
        let recorded = format!("{set}{again}{created}{read}{listed}{in_use}{audit}");
        assert!(!recorded.contains(TOKEN), "a secret's value was shown");
    }
}

/// A server started with a new key and the old one as previous seals every secret again
/// under the new key; a server with only the new key then has nothing left it cannot open.
#[tokio::test]
async fn rotating_the_key_seals_every_secret_again() {
    const NEW: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    let database = assent_tests::sqlite_database();
    let old = start(&database).await;
    let acme = tenant(&old, "acme").await;
    let (status, _) = acme
        .admin
        .put(
            "/environments/main/secrets/okta-token",
            json!({ "value": TOKEN }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    old.abort();

    let key_ids = || async {
        let pool = sqlx::AnyPool::connect(&database.url).await.unwrap();
        let ids: Vec<String> = sqlx::query_scalar("SELECT key_id FROM secrets")
            .fetch_all(&pool)
            .await
            .unwrap();
        pool.close().await;
        ids
    };
    let before = key_ids().await;
    let rotating = Server::start(assent_server::ServerConfig {
        secrets: Keyring::from_hex(NEW, Some(assent_tests::slack::SECRETS_KEY)).unwrap(),
        ..server_config(&database)
    })
    .await
    .unwrap();
    rotating.abort();
    let after = key_ids().await;
    let new = Keyring::from_hex(NEW, None).unwrap();
    assert_ne!(before, after);
    assert_eq!(after, vec![new.key_id().as_str().to_owned()]);
}

const OKTA_TOKEN: &str = "okta-ssws-4b1d0c9e77";
const PAGERDUTY_TOKEN: &str = "pd-token-83e2aa10f4";
const API_TOKEN: &str = "grants-api-token-5c6d";

/// Sets secret `name` of `main`.
async fn secret(admin: &Api, name: &str, value: &str) {
    let (status, body) = admin
        .put(
            &format!("/environments/main/secrets/{name}"),
            json!({ "value": value }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn integration(admin: &Api, name: &str, body: Value) {
    let (status, answer) = admin
        .put(&format!("/environments/main/integrations/{name}"), body)
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

async fn python_flow(admin: &Api, name: &str, source: &str, mut body: Value) {
    let (status, plugin) = admin.upload(python_plugin_bytes(source)).await;
    assert!(status.is_success(), "{plugin}");
    body["plugin"] = plugin["hash"].clone();
    if body.get("strategy").is_some() {
        body["strategy"] = plugin["hash"].clone();
    }
    let (status, flow) = admin.put(&format!("/flows/{name}"), body).await;
    assert_eq!(status, StatusCode::CREATED, "{flow}");
}

/// Okta and PagerDuty from a Python flow, against fakes speaking their APIs: whoever is on
/// call is approved at once; approvers come from an Okta group, and each call is audited on
/// the run without the token.
#[tokio::test]
async fn on_call_people_are_approved_at_once_and_approvers_come_from_okta() {
    for database in test_databases().await {
        let kind = database.kind;
        let fakes = FakeProviders::start().await;
        fakes.set_okta_token(OKTA_TOKEN);
        fakes.add_okta_user("00u-ann", "ann@acme.test");
        fakes.add_okta_user("00u-bob", "bob@acme.test");
        fakes.add_okta_user("00u-admin", "admin@acme.test");
        fakes.add_okta_group("00g-approvers", "Approvers", &["00u-admin", "00u-bob"]);
        fakes.set_pagerduty_token(PAGERDUTY_TOKEN);
        fakes.add_pagerduty_user("PANN", "ann@acme.test");
        fakes.add_pagerduty_user("PBOB", "bob@acme.test");
        fakes.add_schedule("PSCHED", "Primary", &["PANN", "PBOB"], &["PANN"]);

        let server = start(&database).await;
        let acme = tenant(&server, "acme").await;
        secret(&acme.admin, "okta-token", OKTA_TOKEN).await;
        secret(&acme.admin, "pagerduty-token", PAGERDUTY_TOKEN).await;
        integration(
            &acme.admin,
            "okta",
            json!({ "type": "okta", "external_id": "acme.okta.com",
                    "settings": { "api_token_secret": "okta-token", "api_url": fakes.okta_url() } }),
        )
        .await;
        integration(
            &acme.admin,
            "pagerduty",
            json!({ "type": "pagerduty",
                    "settings": { "api_token_secret": "pagerduty-token", "api_url": fakes.pagerduty_url() } }),
        )
        .await;
        python_flow(
            &acme.admin,
            "on-call",
            "examples/python/on-call-access/impl.py",
            json!({ "vars": { "approvers_group": "00g-approvers", "on_call_schedule": "Primary" },
                    "fields": [{ "name": "reason", "type": "string" }] }),
        )
        .await;

        // Ann is on call: approved as she asks.
        let (status, ann) = acme
            .member
            .post(
                "/events/request",
                json!({ "flow": "on-call", "flow_inputs": { "reason": "page" } }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{kind}: {ann:#}");
        let ann_run = ann["run"]["id"].as_str().unwrap().to_owned();
        assert_eq!(
            ann["run"]["status"],
            "escalated",
            "{kind}: {:#?} {:#?}",
            acme.admin.audit_entries(&ann_run, "integration.call").await,
            fakes.calls()
        );

        // Bob is not: he waits for an approver from the Okta group; Ann is not one of them.
        let (_, bob) = acme
            .other_member
            .post(
                "/events/request",
                json!({ "flow": "on-call", "flow_inputs": { "reason": "debug" } }),
            )
            .await;
        assert_eq!(bob["run"]["status"], "requested", "{kind}: {bob:#}");
        let bob_run = bob["run"]["id"].as_str().unwrap().to_owned();
        let (status, refused) = acme
            .member
            .post(&format!("/runs/{bob_run}/approve"), json!({}))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{refused:#}");
        let (status, approved) = acme
            .admin
            .post(&format!("/runs/{bob_run}/approve"), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{approved:#}");
        assert_eq!(approved["run"]["status"], "escalated", "{approved:#}");

        // Every request carried the integration's own token, and is in the run's audit log
        // (never the token).
        let calls = fakes.calls();
        assert!(
            calls
                .iter()
                .filter(|c| c.provider == "okta")
                .all(|c| c.header("authorization") == Some(&format!("SSWS {OKTA_TOKEN}")))
        );
        assert!(
            calls
                .iter()
                .filter(|c| c.provider == "pagerduty")
                .all(|c| c.header("authorization")
                    == Some(&format!("Token token={PAGERDUTY_TOKEN}")))
        );
        assert!(
            calls.iter().any(|c| c.path == "/pagerduty/oncalls"),
            "{calls:?}"
        );
        // The group's two members came one per page.
        assert!(
            calls
                .iter()
                .filter(|c| c.path == "/okta/api/v1/groups/00g-approvers/users")
                .count()
                >= 2
        );
        let entries = acme.admin.audit_entries(&bob_run, "integration.call").await;
        assert!(
            entries.iter().any(|e| e["data"]["integration"] == "okta"
                && e["data"]["path"] == "/okta/api/v1/users/admin%40acme.test/groups"
                && e["data"]["status"] == 200),
            "{kind}: {entries:#?}"
        );
        let everything = format!("{:?}", acme.admin.get("/audit?limit=1000").await.1);
        for token in [OKTA_TOKEN, PAGERDUTY_TOKEN] {
            assert!(!everything.contains(token), "a token reached the audit log");
        }
    }
}

/// A provider that does not answer in time: the plugin hears a timeout (which the example
/// catches, so the request waits for an approver), and the call is audited with no status.
#[tokio::test]
async fn a_slow_provider_times_out_and_the_request_waits() {
    let database = assent_tests::sqlite_database();
    let fakes = FakeProviders::start().await;
    fakes.set_pagerduty_token(PAGERDUTY_TOKEN);
    fakes.add_pagerduty_user("PANN", "ann@acme.test");
    fakes.add_schedule("PSCHED", "Primary", &["PANN"], &["PANN"]);
    fakes.set_okta_token(OKTA_TOKEN);
    fakes.add_okta_group("00g-approvers", "Approvers", &[]);
    let server = start(&database).await;
    let acme = tenant(&server, "acme").await;
    secret(&acme.admin, "okta-token", OKTA_TOKEN).await;
    secret(&acme.admin, "pagerduty-token", PAGERDUTY_TOKEN).await;
    integration(
        &acme.admin,
        "okta",
        json!({ "type": "okta", "external_id": "acme.okta.com",
        "settings": { "api_token_secret": "okta-token", "api_url": fakes.okta_url() } }),
    )
    .await;
    integration(
        &acme.admin,
        "pagerduty",
        json!({ "type": "pagerduty",
        "settings": { "api_token_secret": "pagerduty-token", "api_url": fakes.pagerduty_url() } }),
    )
    .await;
    python_flow(
        &acme.admin,
        "on-call",
        "examples/python/on-call-access/impl.py",
        json!({ "vars": { "approvers_group": "00g-approvers", "on_call_schedule": "Primary" } }),
    )
    .await;
    fakes.stall("pagerduty", Some(std::time::Duration::from_secs(4)));
    let (status, run) = acme
        .member
        .post(
            "/events/request",
            json!({ "flow": "on-call", "flow_inputs": {} }),
        )
        .await;
    fakes.stall("pagerduty", None);
    assert_eq!(status, StatusCode::CREATED, "{run:#}");
    assert_eq!(run["run"]["status"], "requested", "{run:#}");
    let id = run["run"]["id"].as_str().unwrap();
    let entries = acme.admin.audit_entries(id, "integration.call").await;
    assert!(
        entries
            .iter()
            .any(|e| e["data"]["integration"] == "pagerduty" && e["data"]["status"].is_null()),
        "{entries:#?}"
    );
}

/// A custom strategy written with `requests` against the environment's `http` integration:
/// escalate asks the API for a grant (the host adds the bearer token; the plugin adds the key
/// it read with `Secret.retrieve_value`), deescalate takes it back.
#[tokio::test]
async fn a_custom_strategy_grants_and_revokes_through_requests() {
    let database = assent_tests::sqlite_database();
    let fakes = FakeProviders::start().await;
    fakes.set_web_answer(201, json!({ "id": "grant-7" }));
    let server = start(&database).await;
    let acme = tenant(&server, "acme").await;
    secret(&acme.admin, "grants-token", API_TOKEN).await;
    integration(
        &acme.admin,
        "grants-api",
        json!({ "type": "http",
                "settings": { "allowed_hosts": fakes.addr.to_string(), "api_url": fakes.web_url(),
                              "auth_token_secret": "grants-token" } }),
    )
    .await;
    python_flow(
        &acme.admin,
        "grants",
        "examples/python/webhook-strategy/impl.py",
        json!({ "strategy": true, "vars": { "integration": "grants-api" },
                "fields": [{ "name": "target", "type": "target", "required": true },
                           { "name": "duration", "type": "duration", "default": "1h" }],
                "params": { "targets": [{ "id": "t-db", "name": "prod-db", "label": "Prod DB",
                                          "settings": { "role": "reader" } }] } }),
    )
    .await;
    let (_, run) = acme
        .member
        .post(
            "/events/request",
            json!({ "flow": "grants", "flow_inputs": { "target": "prod-db" } }),
        )
        .await;
    let id = run["run"]["id"].as_str().unwrap().to_owned();
    let (_, approved) = acme
        .admin
        .post(&format!("/runs/{id}/approve"), json!({}))
        .await;
    assert_eq!(approved["run"]["status"], "escalated", "{approved:#}");
    assert_eq!(approved["run"]["outputs"]["escalate"]["grant"], "grant-7");
    let (_, revoked) = acme
        .member
        .post(&format!("/runs/{id}/revoke"), json!({}))
        .await;
    assert_eq!(revoked["run"]["status"], "deescalated", "{revoked:#}");

    let calls = fakes.calls();
    let grant = calls
        .iter()
        .find(|c| c.method == "POST")
        .expect("a grant was asked for");
    assert_eq!(grant.path, "/web/grants");
    assert_eq!(
        grant.header("authorization"),
        Some(format!("Bearer {API_TOKEN}").as_str())
    );
    assert_eq!(grant.header("x-api-key"), Some(API_TOKEN));
    let body: Value = serde_json::from_slice(&grant.body).unwrap();
    assert_eq!(body, json!({ "user": "ann@acme.test", "role": "reader" }));
    assert!(
        calls
            .iter()
            .any(|c| c.method == "DELETE" && c.path == "/web/grants/grant-7")
    );
    assert_eq!(
        acme.admin
            .audit_entries(&id, "secret.retrieved")
            .await
            .len(),
        2
    );
    assert_eq!(
        acme.admin
            .audit_entries(&id, "integration.call")
            .await
            .len(),
        2
    );
}

/// What a plugin may not reach: a host no integration allows, the cloud metadata address, a
/// name that resolves to loopback, plain http to a host the operator did not allow. Each is
/// refused with the rule it broke, and what was sent for is audited.
#[tokio::test]
async fn plugins_reach_only_what_their_integrations_allow() {
    let database = assent_tests::sqlite_database();
    let server = start(&database).await;
    let acme = tenant(&server, "acme").await;
    integration(
        &acme.admin,
        "internal",
        json!({ "type": "http",
                "settings": { "allowed_hosts": "169.254.169.254, localhost:9, plain.example.test" } }),
    )
    .await;
    let cases = [
        (
            "https://example.com/",
            "`example.com` is not a host this integration may reach",
        ),
        ("http://169.254.169.254/latest/meta-data/", "plain http"),
        (
            "https://169.254.169.254/latest/meta-data/",
            "resolves to 169.254.169.254",
        ),
        ("https://localhost:9/", "`localhost` resolves to"),
        ("http://plain.example.test/", "plain http"),
    ];
    for (at, (url, expected)) in cases.iter().enumerate() {
        let name = format!("reach-{at}");
        python_flow(
            &acme.admin,
            &name,
            "tests/python-plugins/reach/impl.py",
            json!({ "vars": { "url": url } }),
        )
        .await;
        let (status, answer) = acme
            .member
            .post(
                "/events/request",
                json!({ "flow": name, "flow_inputs": {} }),
            )
            .await;
        let said = answer.to_string();
        assert!(said.contains(expected), "{url}: {status} {said}");
        assert!(said.contains("ConnectionError"), "{url}: {said}");
    }
}

/// `aws_lambda.invoke` from a Python flow (the lambda-approval example): the fake AWS checks
/// the host's signature, the function's answer approves at once, and a function that raises
/// leaves the request to a person.
#[tokio::test]
async fn a_python_flow_asks_a_lambda_function_and_is_approved_by_its_answer() {
    const POLICY: &str = "arn:aws:lambda:eu-west-1:123456789012:function:access-policy";
    const KEY_SECRET: &str = "lambda-caller-secret-7d1f";
    let database = assent_tests::sqlite_database();
    let aws = FakeAws::start().await;
    aws.add_key("AKIDPOLICYCALLER", KEY_SECRET);
    aws.add_function(
        POLICY,
        Function::Answers(json!({ "approve": true, "reason": "on the allow list" })),
    );
    let server = start(&database).await;
    let acme = tenant(&server, "acme").await;
    secret(&acme.admin, "aws-key", KEY_SECRET).await;
    integration(
        &acme.admin,
        "aws",
        json!({ "type": "aws", "settings": { "region": "eu-west-1", "access_key_id": "AKIDPOLICYCALLER",
                "secret_access_key_secret": "aws-key", "api_url": aws.url() } }),
    )
    .await;
    python_flow(
        &acme.admin,
        "policy",
        "examples/python/lambda-approval/impl.py",
        json!({ "vars": { "policy_lambda": POLICY },
                "fields": [{ "name": "reason", "type": "string" }] }),
    )
    .await;

    let (status, asked) = acme
        .member
        .post(
            "/events/request",
            json!({ "flow": "policy", "flow_inputs": { "reason": "incident 42" } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{asked:#}");
    assert_eq!(asked["run"]["status"], "escalated", "{asked:#}");
    let invocations = aws.invocations();
    assert_eq!(invocations.len(), 1);
    assert_eq!(
        invocations[0].2,
        json!({ "email": "ann@acme.test", "reason": "incident 42" })
    );
    let invoke = aws.calls().pop().unwrap();
    assert!(
        invoke
            .header("authorization")
            .unwrap()
            .contains("Credential=AKIDPOLICYCALLER/")
            && invoke
                .header("authorization")
                .unwrap()
                .contains("/eu-west-1/lambda/aws4_request")
    );
    let run = asked["run"]["id"].as_str().unwrap();
    let calls = acme.admin.audit_entries(run, "integration.call").await;
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(calls[0]["data"]["status"], 200);

    // The function raises: the example catches Sym's AWSLambdaError and a person decides.
    aws.add_function(POLICY, Function::Raises("policy table unreachable".into()));
    let (_, asked) = acme
        .member
        .post(
            "/events/request",
            json!({ "flow": "policy", "flow_inputs": { "reason": "incident 43" } }),
        )
        .await;
    assert_eq!(asked["run"]["status"], "requested", "{asked:#}");
    let everything = format!("{:?}", acme.admin.get("/audit?limit=1000").await.1);
    assert!(!everything.contains(KEY_SECRET));
}
