//! Built-in strategies through the HTTP API, against fake providers on 127.0.0.1, on SQLite
//! and (with `DATABASE_URL`) PostgreSQL: the Okta strategy adds the requester to the target's
//! group at escalation and removes them at expiry; a provider down for a while is waited out
//! and access granted once; a provider's refusal errors the run in its own words; the webhook
//! strategy POSTs a signed grant and revocation; the AWS strategies (Lambda, IAM Identity
//! Center, IAM) sign every request, and grant and take back access in the fake AWS.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use assent_server::Server;
use assent_tests::Api;
use assent_tests::aws::{FakeAws, Function};
use assent_tests::providers::FakeProviders;
use assent_tests::{TestDatabase, test_databases};
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;
use support::{Tenant, start, tenant};

const OKTA_TOKEN: &str = "okta-strategy-token-51c0de";
const SIGNING_SECRET: &str = "webhook-signing-secret-9e2b";
const GITHUB_TOKEN: &str = "ghp_strategyToken0c4e";

async fn put_ok(admin: &Api, path: &str, body: Value) {
    let (status, answer) = admin.put(path, body).await;
    assert_eq!(status, StatusCode::OK, "{path}: {answer}");
}

/// An Okta integration pointed at the fakes, with ann and the `00g-admins` group.
async fn okta(acme: &Tenant, fakes: &FakeProviders) {
    fakes.set_okta_token(OKTA_TOKEN);
    fakes.add_okta_user("00u-ann", "ann@acme.test");
    fakes.add_okta_group("00g-admins", "Prod admins", &[]);
    put_ok(
        &acme.admin,
        "/environments/main/secrets/okta-token",
        json!({ "value": OKTA_TOKEN }),
    )
    .await;
    put_ok(
        &acme.admin,
        "/environments/main/integrations/okta",
        json!({ "type": "okta", "external_id": "acme.okta.com",
                "settings": { "api_token_secret": "okta-token", "api_url": fakes.okta_url() } }),
    )
    .await;
}

/// A flow whose `strategy` is `strategy`, granting `targets`.
fn flow(acme: &Tenant, strategy: Value, targets: Value) -> Value {
    json!({
        "fields": [
            { "name": "reason", "type": "string", "required": true },
            { "name": "duration", "type": "duration" },
        ],
        "params": { "targets": targets },
        "plugin": acme.echo,
        "strategy": strategy,
    })
}

/// A server on `database` and its tenant `acme` with the Okta integration, beside the fakes.
async fn okta_tenant(database: &TestDatabase) -> (FakeProviders, Server, Tenant) {
    let fakes = FakeProviders::start().await;
    let server = start(database).await;
    let acme = tenant(&server, "acme").await;
    okta(&acme, &fakes).await;
    (fakes, server, acme)
}

/// Flow `name` granting Okta group `group_id`.
async fn okta_flow(acme: &Tenant, name: &str, group_id: &str) {
    let (status, stored) = acme
        .admin
        .put(
            &format!("/flows/{name}"),
            flow(acme, okta_strategy(), admins_group(group_id)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{stored}");
    assert_eq!(stored["strategy"], okta_strategy());
}

fn okta_strategy() -> Value {
    json!({ "type": "okta", "integration": "okta" })
}

fn admins_group(group_id: &str) -> Value {
    json!([{ "name": "prod-admins", "label": "Prod admins", "settings": { "group_id": group_id } }])
}

async fn request_and_approve(acme: &Tenant, flow: &str, duration: &str) -> (String, Value) {
    let requested = acme
        .request(flow, json!({ "reason": "deploy", "duration": duration }))
        .await;
    let id = requested["run"]["id"].as_str().unwrap().to_owned();
    let (status, approved) = acme
        .admin
        .post(&format!("/runs/{id}/approve"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{approved:#}");
    (id, approved["run"].clone())
}

#[tokio::test]
async fn the_okta_strategy_adds_the_requester_at_escalation_and_removes_them_at_expiry() {
    for database in test_databases().await {
        let kind = database.kind;
        let (fakes, _server, acme) = okta_tenant(&database).await;
        okta_flow(&acme, "okta-admins", "00g-admins").await;

        let (id, run) = request_and_approve(&acme, "okta-admins", "2s").await;
        assert_eq!(run["status"], "escalated", "{kind}: {run:#}");
        assert_eq!(fakes.okta_members("00g-admins"), ["00u-ann"], "{kind}");
        assert_eq!(
            run["outputs"]["escalate"],
            json!({ "okta": { "user_id": "00u-ann", "group_id": "00g-admins", "member": true } })
        );

        // At expiry the worker takes the membership away again.
        let run = acme.admin.wait_for(&id, "deescalated").await;
        assert!(fakes.okta_members("00g-admins").is_empty(), "{kind}");
        assert_eq!(run["outputs"]["deescalate"]["okta"]["member"], false);

        // Each request is on the run's audit log, with its path and status and no token.
        let calls = acme.admin.audit_entries(&id, "integration.call").await;
        let paths: Vec<(&str, &str)> = calls
            .iter()
            .map(|call| {
                (
                    call["data"]["method"].as_str().unwrap(),
                    call["data"]["path"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            paths,
            [
                ("GET", "/okta/api/v1/users/ann%40acme.test"),
                ("PUT", "/okta/api/v1/groups/00g-admins/users/00u-ann"),
                ("GET", "/okta/api/v1/users/ann%40acme.test"),
                ("DELETE", "/okta/api/v1/groups/00g-admins/users/00u-ann"),
            ],
            "{kind}"
        );
        assert!(
            fakes
                .calls()
                .iter()
                .all(|call| call.header("authorization") == Some(&format!("SSWS {OKTA_TOKEN}")))
        );
        let everything = format!("{:?}", acme.admin.get("/audit?limit=1000").await.1);
        assert!(
            !everything.contains(OKTA_TOKEN),
            "the token reached the audit log"
        );
    }
}

#[tokio::test]
async fn a_provider_down_for_a_while_is_waited_out_and_access_is_granted_once() {
    let database = assent_tests::sqlite_database();
    let (fakes, _server, acme) = okta_tenant(&database).await;
    okta_flow(&acme, "okta-admins", "00g-admins").await;

    // Okta answers 503 to the next five requests: more than one step's quick retries (three
    // tries), so the step itself waits and is fired again by the worker.
    fakes.fail_next(503, 5);
    let (id, run) = request_and_approve(&acme, "okta-admins", "1h").await;
    assert_eq!(
        run["status"], "approved",
        "access waits while Okta is down: {run:#}"
    );
    let run = acme.admin.wait_for(&id, "escalated").await;
    assert_eq!(run["outputs"]["escalate"]["okta"]["member"], true);
    assert_eq!(fakes.okta_members("00g-admins"), ["00u-ann"]);

    // One escalation, after retries that each say why.
    let kinds = acme.admin.audit_kinds(&id).await;
    assert_eq!(kinds.iter().filter(|kind| *kind == "escalate").count(), 1);
    let retries = acme.admin.audit_entries(&id, "plugin_error").await;
    assert!(!retries.is_empty());
    for retry in &retries {
        assert_eq!(retry["data"]["retrying"], true, "{retry:#}");
        assert_eq!(retry["data"]["strategy"], "okta");
        let error = retry["data"]["error"].as_str().unwrap();
        assert!(
            error.starts_with("the `okta` strategy could not grant access: Okta answered 503"),
            "{error}"
        );
    }
    let granted = fakes.requests("PUT");
    assert_eq!(
        granted, 1,
        "the membership is asked for once, when Okta is back"
    );
}

#[tokio::test]
async fn a_provider_refusal_errors_the_run_in_the_providers_words() {
    for database in test_databases().await {
        let kind = database.kind;
        let (fakes, _server, acme) = okta_tenant(&database).await;
        // The group id is a typo: Okta answers 404, which no retry mends.
        okta_flow(&acme, "okta-typo", "00g-admnis").await;
        let (id, run) = request_and_approve(&acme, "okta-typo", "1h").await;
        assert_eq!(run["status"], "errored", "{kind}: {run:#}");
        let message = run["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with(
                "the `okta` strategy could not grant access: Okta answered 404 to PUT /okta/api/v1/groups/00g-admnis/users/00u-ann: Not found: Resource not found: 00g-admnis (UserGroup) (E0000007)"
            ),
            "{kind}: {message}"
        );
        assert!(
            message.ends_with("whatever it granted was taken back"),
            "{message}"
        );
        assert_eq!(run["error"]["handler"], "escalate");
        // Tried once: a refusal is not a passing failure.
        let puts = fakes.requests("PUT");
        assert_eq!(puts, 1, "{kind}");
        assert_eq!(acme.admin.audit_entries(&id, "rolled_back").await.len(), 1);
    }
}

#[tokio::test]
async fn flows_naming_a_strategy_that_cannot_run_are_refused_with_what_to_do() {
    let database = assent_tests::sqlite_database();
    let (_fakes, _server, acme) = okta_tenant(&database).await;
    let refused = |strategy: Value, targets: Value| {
        let body = flow(&acme, strategy, targets);
        let admin = acme.admin.clone();
        async move {
            let (status, error) = admin.put("/flows/bad", body).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
            error["error"]["message"].as_str().unwrap().to_owned()
        }
    };
    let message = refused(
        json!({ "type": "okta", "integration": "okta-eu" }),
        admins_group("00g-admins"),
    )
    .await;
    assert!(
        message.contains("integration `okta-eu`, which environment `main` does not have"),
        "{message}"
    );
    // A strategy that does not fit its own shape is a malformed body.
    let (status, error) = acme
        .admin
        .put(
            "/flows/bad",
            flow(&acme, json!({ "type": "okta" }), admins_group("00g-admins")),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("`strategy`: strategy type `okta` needs `integration`"),
        "{message}"
    );
    let message = refused(okta_strategy(), json!([{ "name": "prod-admins" }])).await;
    assert!(
        message.contains("target `prod-admins` needs the setting `group_id`"),
        "{message}"
    );
    let message = refused(
        json!({ "type": "google_group", "integration": "okta" }),
        json!([]),
    )
    .await;
    assert!(
        message.contains("does not run the `google_group` strategy yet"),
        "{message}"
    );
    let message = refused(json!({ "type": "http", "integration": "okta" }), json!([])).await;
    assert!(
        message.contains("integration `okta` is of type `okta`, but the `http` strategy acts through integrations of type `http`"),
        "{message}"
    );
}

/// `v1=` and the hex HMAC-SHA256 of `{timestamp}.{body}`, as a receiver checks it.
fn expected_signature(timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SIGNING_SECRET.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn the_webhook_strategy_posts_a_signed_grant_and_revocation() {
    for database in test_databases().await {
        let kind = database.kind;
        let fakes = FakeProviders::start().await;
        fakes.set_web_answer(200, json!({ "body": { "grant": "g-7" }, "errors": [] }));
        let server = start(&database).await;
        let acme = tenant(&server, "acme").await;
        put_ok(
            &acme.admin,
            "/environments/main/secrets/webhook-signing",
            json!({ "value": SIGNING_SECRET }),
        )
        .await;
        put_ok(
            &acme.admin,
            "/environments/main/integrations/grants",
            json!({ "type": "http",
                    "settings": { "allowed_hosts": fakes.addr.to_string(),
                                  "signing_secret": "webhook-signing" } }),
        )
        .await;
        let url = format!("{}/grants", fakes.web_url());
        let targets = json!([{ "name": "prod-db", "label": "Prod DB",
                               "settings": { "url": url, "role": "reader" } }]);
        let (status, stored) = acme
            .admin
            .put(
                "/flows/webhook",
                flow(
                    &acme,
                    json!({ "type": "http", "integration": "grants" }),
                    targets,
                ),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{stored}");

        let (id, run) = request_and_approve(&acme, "webhook", "1h").await;
        assert_eq!(run["status"], "escalated", "{kind}: {run:#}");
        assert_eq!(run["outputs"]["escalate"], json!({ "grant": "g-7" }));
        let (_, revoked) = acme
            .member
            .post(&format!("/runs/{id}/revoke"), json!({}))
            .await;
        assert_eq!(revoked["run"]["status"], "deescalated", "{revoked:#}");

        let posts: Vec<_> = fakes
            .calls()
            .into_iter()
            .filter(|call| call.method == "POST")
            .collect();
        assert_eq!(posts.len(), 2, "{kind}");
        for (post, event) in posts.iter().zip(["escalate", "deescalate"]) {
            assert_eq!(post.path, "/web/grants");
            assert_eq!(post.header("x-assent-event"), Some(event));
            assert_eq!(
                post.header("x-assent-delivery"),
                Some(format!("{id}.{event}").as_str())
            );
            let timestamp = post.header("x-assent-timestamp").unwrap();
            assert_eq!(
                post.header("x-assent-signature"),
                Some(expected_signature(timestamp, &post.body).as_str()),
                "the signature is the HMAC of what was sent"
            );
            let body: Value = serde_json::from_slice(&post.body).unwrap();
            assert_eq!(body["type"], event);
            assert_eq!(body["run"]["id"], id.as_str());
            assert_eq!(body["user"]["email"], "ann@acme.test");
            assert_eq!(body["target"]["settings"]["role"], "reader");
            assert_eq!(body["flow"]["name"], "webhook");
        }
        assert!(
            !format!("{:?}", acme.admin.get("/audit?limit=1000").await.1).contains(SIGNING_SECRET)
        );

        // A receiver that answers errors stops the next run with its words.
        fakes.set_web_answer(200, json!({ "errors": ["role `reader` is retired"] }));
        let (_, run) = request_and_approve(&acme, "webhook", "1h").await;
        assert_eq!(run["status"], "errored", "{kind}: {run:#}");
        let message = run["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!(
                "the webhook at `{url}` answered with errors: role `reader` is retired"
            )),
            "{message}"
        );
    }
}

#[tokio::test]
async fn the_github_strategy_makes_the_requester_a_collaborator_while_access_lasts() {
    for database in test_databases().await {
        let kind = database.kind;
        let fakes = FakeProviders::start().await;
        fakes.set_github_token(GITHUB_TOKEN);
        fakes.add_github_repo("acme/api", &["ann-gh"]);
        let server = start(&database).await;
        let acme = tenant(&server, "acme").await;
        put_ok(
            &acme.admin,
            "/environments/main/secrets/github-token",
            json!({ "value": GITHUB_TOKEN }),
        )
        .await;
        put_ok(
            &acme.admin,
            "/environments/main/integrations/github",
            json!({ "type": "github", "external_id": "acme",
                    "settings": { "api_token_secret": "github-token", "api_url": fakes.github_url() } }),
        )
        .await;
        let targets = json!([{ "name": "api", "label": "API repo",
                               "settings": { "repo_name": "api", "permission": "maintain" } }]);
        let (status, stored) = acme
            .admin
            .put(
                "/flows/github",
                flow(
                    &acme,
                    json!({ "type": "github", "integration": "github" }),
                    targets,
                ),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{stored}");

        // Without a GitHub identity there is nobody to grant access to: the run says so.
        let (_, run) = request_and_approve(&acme, "github", "1h").await;
        assert_eq!(run["status"], "errored", "{kind}: {run:#}");
        let message = run["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("`ann@acme.test` has no `github` identity"),
            "{message}"
        );

        put_ok(
            &acme.admin,
            "/users/ann@acme.test",
            json!({ "identities": [{ "service": "github", "external_id": "ann-gh" }] }),
        )
        .await;
        let (id, run) = request_and_approve(&acme, "github", "1h").await;
        assert_eq!(run["status"], "escalated", "{kind}: {run:#}");
        assert_eq!(
            fakes.github_collaborators("acme/api"),
            [("ann-gh".to_owned(), "maintain".to_owned())]
        );
        assert_eq!(
            run["outputs"]["escalate"]["github"]["permission"],
            "maintain"
        );
        let (_, revoked) = acme
            .member
            .post(&format!("/runs/{id}/revoke"), json!({}))
            .await;
        assert_eq!(revoked["run"]["status"], "deescalated", "{revoked:#}");
        assert!(fakes.github_collaborators("acme/api").is_empty());
        let put = fakes
            .calls()
            .into_iter()
            .find(|call| call.method == "PUT")
            .unwrap();
        assert_eq!(put.path, "/github/repos/acme/api/collaborators/ann-gh");
        assert_eq!(put.header("x-github-api-version"), Some("2022-11-28"));
        assert_eq!(put.header("accept"), Some("application/vnd.github+json"));
    }
}

const AWS_KEY_ID: &str = "AKIDASSENTFAKE01";
const AWS_SECRET: &str = "aws-secret-key-wJalrXUtnFEMI-K7MDENG";
const ROLE: &str = "arn:aws:iam::123456789012:role/AssentRuntime";
const FUNCTION: &str = "arn:aws:lambda:us-east-1:123456789012:function:grant-button";

/// A tenant with an `aws` integration pointed at the fake: a key, and `role` to assume with it.
async fn aws_tenant(database: &TestDatabase, role: Option<&str>) -> (FakeAws, Server, Tenant) {
    let aws = FakeAws::start().await;
    aws.add_key(AWS_KEY_ID, AWS_SECRET);
    let server = start(database).await;
    let acme = tenant(&server, "acme").await;
    put_ok(
        &acme.admin,
        "/environments/main/secrets/aws-secret-key",
        json!({ "value": AWS_SECRET }),
    )
    .await;
    let mut settings = json!({
        "region": "us-east-1",
        "access_key_id": AWS_KEY_ID,
        "secret_access_key_secret": "aws-secret-key",
        "api_url": aws.url(),
    });
    if let Some(role) = role {
        aws.add_role(role, Some("acme-external"));
        settings["role_arn"] = json!(role);
        settings["role_external_id"] = json!("acme-external");
    }
    put_ok(
        &acme.admin,
        "/environments/main/integrations/aws",
        json!({ "type": "aws", "external_id": "123456789012", "settings": settings }),
    )
    .await;
    (aws, server, acme)
}

async fn aws_flow(acme: &Tenant, name: &str, strategy_type: &str, target: Value) {
    let (status, stored) = acme
        .admin
        .put(
            &format!("/flows/{name}"),
            flow(
                acme,
                json!({ "type": strategy_type, "integration": "aws" }),
                json!([target]),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{stored}");
}

/// Every request the fake AWS received was signed, none carried the secret key, and the
/// audit log does not hold it.
async fn no_aws_secret_anywhere(aws: &FakeAws, acme: &Tenant) {
    for call in aws.calls() {
        assert!(
            call.header("authorization")
                .is_some_and(|value| value.starts_with("AWS4-HMAC-SHA256 Credential=")),
            "{call:?}"
        );
        assert!(!format!("{call:?}").contains(AWS_SECRET));
    }
    let everything = format!("{:?}", acme.admin.get("/audit?limit=1000").await.1);
    assert!(
        !everything.contains(AWS_SECRET),
        "the key reached the audit log"
    );
}

#[tokio::test]
async fn the_lambda_strategy_invokes_the_function_with_sym_s_event_through_an_assumed_role() {
    for database in test_databases().await {
        let kind = database.kind;
        let (aws, _server, acme) = aws_tenant(&database, Some(ROLE)).await;
        aws.add_function(
            FUNCTION,
            Function::Answers(json!({ "body": { "message": "button unlocked" }, "errors": [] })),
        );
        aws_flow(
            &acme,
            "lambda",
            "aws_lambda",
            json!({ "name": "button", "label": "Button", "settings": { "arn": FUNCTION } }),
        )
        .await;

        let (id, run) = request_and_approve(&acme, "lambda", "1h").await;
        assert_eq!(run["status"], "escalated", "{kind}: {run:#}");
        assert_eq!(
            run["outputs"]["escalate"],
            json!({ "message": "button unlocked" })
        );
        let (_, revoked) = acme
            .member
            .post(&format!("/runs/{id}/revoke"), json!({}))
            .await;
        assert_eq!(revoked["run"]["status"], "deescalated", "{revoked:#}");

        // The function saw Sym's event both times, as a function written for Sym reads it.
        let invocations = aws.invocations();
        assert_eq!(invocations.len(), 2, "{kind}");
        for ((function, how, event), step) in invocations.iter().zip(["escalate", "deescalate"]) {
            assert_eq!(function, FUNCTION);
            assert_eq!(how, "RequestResponse");
            assert_eq!(event["event"]["type"], step);
            assert_eq!(
                event["run"]["actors"]["request"]["username"],
                "ann@acme.test"
            );
            assert_eq!(event["fields"]["target"]["settings"]["arn"], FUNCTION);
            assert_eq!(event["fields"]["reason"], "deploy");
            assert_eq!(event["id"], format!("{id}.{step}"));
        }
        // Each invocation was signed with a key of the assumed role, with its token.
        let calls = aws.calls();
        let invokes: Vec<_> = calls
            .iter()
            .filter(|call| call.path.ends_with("/invocations"))
            .collect();
        assert_eq!(invokes.len(), 2);
        for invoke in invokes {
            let authorization = invoke.header("authorization").unwrap();
            assert!(
                authorization.contains("Credential=ASIAFAKESESSION")
                    && authorization.contains("/us-east-1/lambda/aws4_request"),
                "{authorization}"
            );
            assert!(invoke.header("x-amz-security-token").is_some());
        }
        no_aws_secret_anywhere(&aws, &acme).await;

        // A function that answers errors stops the run with them.
        aws.add_function(
            FUNCTION,
            Function::Answers(json!({ "body": {}, "errors": ["Access Denied: Humans Only!"] })),
        );
        let (_, run) = request_and_approve(&acme, "lambda", "1h").await;
        assert_eq!(run["status"], "errored", "{kind}: {run:#}");
        let message = run["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!(
                "Lambda function `{FUNCTION}` answered with errors: Access Denied: Humans Only!"
            )),
            "{message}"
        );
        // One that raises too, in its own words.
        aws.add_function(FUNCTION, Function::Raises("KeyError: 'okta_id'".into()));
        let (_, run) = request_and_approve(&acme, "lambda", "1h").await;
        let message = run["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!(
                "AWS Lambda: function `{FUNCTION}` failed: Exception: KeyError: 'okta_id'"
            )),
            "{message}"
        );
    }
}

#[tokio::test]
async fn a_wrong_key_is_refused_by_aws_in_its_own_words() {
    let database = assent_tests::sqlite_database();
    let (aws, _server, acme) = aws_tenant(&database, None).await;
    aws.add_function(
        FUNCTION,
        Function::Answers(json!({ "body": {}, "errors": [] })),
    );
    // The secret is rotated in AWS but not in Assent: the signature no longer matches.
    put_ok(
        &acme.admin,
        "/environments/main/secrets/aws-secret-key",
        json!({ "value": "an-old-secret" }),
    )
    .await;
    aws_flow(
        &acme,
        "lambda",
        "aws_lambda",
        json!({ "name": "button", "settings": { "arn": FUNCTION } }),
    )
    .await;
    let (_, run) = request_and_approve(&acme, "lambda", "1h").await;
    assert_eq!(run["status"], "errored", "{run:#}");
    let message = run["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("AWS Lambda answered 403 to POST /aws/2015-03-31/functions/")
            && message.contains("does not match the signature you provided")
            && message.contains("(InvalidSignatureException)"),
        "{message}"
    );
    assert!(aws.invocations().is_empty());
    assert!(!message.contains("an-old-secret"));
}

#[tokio::test]
async fn the_sso_strategy_assigns_the_permission_set_while_access_lasts() {
    const INSTANCE: &str = "arn:aws:sso:::instance/ssoins-1234567890abcdef";
    const PERMISSION_SET: &str = "arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-1";
    for database in test_databases().await {
        let kind = database.kind;
        let (aws, _server, acme) = aws_tenant(&database, None).await;
        aws.add_identity_center(INSTANCE, "d-1234567890", PERMISSION_SET);
        aws.add_sso_user("ann@acme.test", "u-ann");
        let target = |permission_set: &str| {
            json!({ "name": "prod", "label": "Prod admin",
                    "settings": { "permission_set_arn": permission_set, "account_id": "210987654321" } })
        };
        aws_flow(&acme, "sso", "aws_sso", target(PERMISSION_SET)).await;

        // AWS throttles the first requests: waited out within the step.
        aws.throttle_next(2);
        let (id, run) = request_and_approve(&acme, "sso", "2s").await;
        assert_eq!(run["status"], "escalated", "{kind}: {run:#}");
        assert_eq!(
            aws.assignments(),
            [(
                PERMISSION_SET.to_owned(),
                "210987654321".to_owned(),
                "u-ann".to_owned()
            )]
        );
        assert_eq!(run["outputs"]["escalate"]["aws_sso"]["status"], "SUCCEEDED");
        assert_eq!(
            run["outputs"]["escalate"]["aws_sso"]["principal_id"],
            "u-ann"
        );

        let run = acme.admin.wait_for(&id, "deescalated").await;
        assert!(aws.assignments().is_empty(), "{kind}: {run:#}");
        let targets: Vec<String> = aws
            .calls()
            .iter()
            .filter_map(|call| call.header("x-amz-target").map(str::to_owned))
            .collect();
        assert!(targets.contains(&"SWBExternalService.CreateAccountAssignment".to_owned()));
        assert!(targets.contains(&"AWSIdentityStore.GetUserId".to_owned()));
        assert!(targets.contains(&"SWBExternalService.DeleteAccountAssignment".to_owned()));
        no_aws_secret_anywhere(&aws, &acme).await;

        // A permission set AWS does not know errors the run at once, in AWS's words.
        aws_flow(
            &acme,
            "sso-typo",
            "aws_sso",
            target("arn:aws:sso:::permissionSet/x/ps-9"),
        )
        .await;
        let (_, run) = request_and_approve(&acme, "sso-typo", "1h").await;
        assert_eq!(run["status"], "errored", "{kind}: {run:#}");
        let message = run["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("AWS IAM Identity Center answered 404 to POST /aws/: PermissionSet arn:aws:sso:::permissionSet/x/ps-9 not found (ResourceNotFoundException)"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn the_iam_strategy_puts_the_requester_s_iam_user_in_the_group_while_access_lasts() {
    for database in test_databases().await {
        let kind = database.kind;
        let (aws, _server, acme) = aws_tenant(&database, None).await;
        aws.add_iam_user("ann");
        aws.add_iam_group("prod-readers");
        aws_flow(
            &acme,
            "iam",
            "aws_iam",
            json!({ "name": "readers", "settings": { "iam_group": "prod-readers" } }),
        )
        .await;
        // Ann's IAM user is not her email: AWS says it does not know that user.
        let (_, run) = request_and_approve(&acme, "iam", "1h").await;
        assert_eq!(run["status"], "errored", "{kind}: {run:#}");
        let message = run["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("The user with name ann@acme.test cannot be found. (NoSuchEntity)"),
            "{message}"
        );

        put_ok(
            &acme.admin,
            "/users/ann@acme.test",
            json!({ "identities": [{ "service": "aws_iam", "external_id": "ann" }] }),
        )
        .await;
        let (id, run) = request_and_approve(&acme, "iam", "1h").await;
        assert_eq!(run["status"], "escalated", "{kind}: {run:#}");
        assert_eq!(aws.iam_members("prod-readers"), ["ann"]);
        let (_, revoked) = acme
            .member
            .post(&format!("/runs/{id}/revoke"), json!({}))
            .await;
        assert_eq!(revoked["run"]["status"], "deescalated", "{revoked:#}");
        assert!(aws.iam_members("prod-readers").is_empty());
        // IAM is global: signed for us-east-1 whatever the integration's region.
        let add = aws
            .calls()
            .into_iter()
            .find(|call| String::from_utf8_lossy(&call.body).starts_with("Action=AddUserToGroup"))
            .unwrap();
        assert!(
            add.header("authorization")
                .unwrap()
                .contains("/us-east-1/iam/aws4_request")
        );
        no_aws_secret_anywhere(&aws, &acme).await;
    }
}
