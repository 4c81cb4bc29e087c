//! `assent serve` as a process: timers survive a crash, and two servers on one PostgreSQL
//! fire each timer once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use assent_tests::providers::FakeProviders;
use assent_tests::{Api, TestDatabase, plugin_bytes, postgres_database, test_databases};
use reqwest::StatusCode;
use serde_json::{Value, json};

const OPERATOR: &str = "operator-secret";

/// A server process; killed (SIGKILL) when dropped.
struct ServerProcess {
    child: Child,
    base: String,
}

impl ServerProcess {
    fn start(database: &TestDatabase, data_dir: &std::path::Path) -> ServerProcess {
        ServerProcess::start_with(database, data_dir, &[])
    }

    /// A server given `extra` arguments besides the usual ones.
    fn start_with(
        database: &TestDatabase,
        data_dir: &std::path::Path,
        extra: &[&str],
    ) -> ServerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_assent"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--no-examples",
                "--timer-poll-ms",
                "100",
            ])
            .arg("--database")
            .arg(&database.url)
            .arg("--data-dir")
            .arg(data_dir)
            .args(extra)
            .env("ASSENT_OPERATOR_TOKEN", OPERATOR)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .strip_prefix("assent listening on http://")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_owned();
        ServerProcess {
            child,
            base: format!("http://{addr}/api/v1"),
        }
    }

    /// Kills the process at once, as a crash would.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An organisation with the echo plugin and two flows: `relay` (three notifications that
/// each time out after `timeout`) and `prod` (echo as strategy, deescalation on expiry).
async fn set_up(base: &str) -> Api {
    let operator = Api::new(base, OPERATOR);
    let (status, created) = operator
        .post(
            "/orgs",
            json!({ "slug": "acme", "name": "Acme", "admin_email": "admin@acme.test" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let admin = operator.with_token(created["token"].as_str().unwrap());
    let (status, plugin) = admin.upload(plugin_bytes("echo-plugin")).await;
    assert_eq!(status, StatusCode::CREATED, "{plugin}");
    let fields = json!([
        { "name": "reason", "type": "string" },
        { "name": "duration", "type": "duration" },
        { "name": "timeout", "type": "duration" },
        { "name": "allow_self", "type": "bool" },
    ]);
    for (name, vars, strategy) in [
        (
            "relay",
            json!({ "channels": "#first,#second", "timeout_last": "yes" }),
            Value::Null,
        ),
        ("prod", json!({}), plugin["hash"].clone()),
    ] {
        let (status, flow) = admin
            .put(
                &format!("/flows/{name}"),
                json!({ "vars": vars, "fields": fields, "plugin": plugin["hash"], "strategy": strategy }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{flow}");
    }
    admin
}

async fn request(admin: &Api, flow: &str, inputs: Value) -> String {
    let (status, body) = admin
        .post(
            "/events/request",
            json!({ "flow": flow, "flow_inputs": inputs }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["run"]["id"].as_str().unwrap().to_owned()
}

fn count(kinds: &[String], kind: &str) -> usize {
    kinds.iter().filter(|k| *k == kind).count()
}

#[tokio::test]
async fn a_killed_server_fires_every_pending_timer_once_after_restart() {
    for database in test_databases().await {
        let data = tempfile::tempdir().unwrap();
        let mut first = ServerProcess::start(&database, data.path());
        let admin = set_up(&first.base).await;
        let relay = request(&admin, "relay", json!({ "timeout": "2s" })).await;
        let granted = request(
            &admin,
            "prod",
            json!({ "duration": "2s", "allow_self": true }),
        )
        .await;
        let (status, body) = admin
            .post(&format!("/runs/{granted}/approve"), json!({}))
            .await;
        assert_eq!(
            (status, &body["run"]["status"]),
            (StatusCode::OK, &json!("escalated"))
        );

        // Crash with every timer pending, and stay down past their due times.
        first.kill();
        tokio::time::sleep(Duration::from_secs(3)).await;

        let second = ServerProcess::start(&database, data.path());
        let admin = admin.at(&second.base);
        let run = admin.wait_for(&relay, "expired").await;
        assert_eq!(run["notification"], 2);
        admin.wait_for(&granted, "deescalated").await;
        // Give any duplicate a chance to show itself before counting.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let kinds = admin.audit_kinds(&relay).await;
        assert_eq!(
            count(&kinds, "request_forward"),
            2,
            "{}: {kinds:?}",
            database.kind
        );
        assert_eq!(
            count(&kinds, "request_expire"),
            1,
            "{}: {kinds:?}",
            database.kind
        );
        let kinds = admin.audit_kinds(&granted).await;
        assert_eq!(count(&kinds, "escalate"), 1, "{kinds:?}");
        assert_eq!(
            count(&kinds, "deescalate"),
            1,
            "{}: {kinds:?}",
            database.kind
        );
    }
}

/// Okta is down when access is approved, and the server is killed while it waits; started
/// again after Okta is back, it grants the access, once.
#[tokio::test]
async fn access_approved_while_the_provider_is_down_is_granted_once_across_a_crash() {
    let database = assent_tests::sqlite_database();
    let fakes = FakeProviders::start().await;
    fakes.set_okta_token("okta-crash-token");
    fakes.add_okta_user("00u-admin", "admin@acme.test");
    fakes.add_okta_group("00g-admins", "Prod admins", &[]);
    // The fakes are on loopback over plain http, which the operator allows for them alone.
    let host = fakes.addr.ip().to_string();
    let outbound = [
        "--outbound-allow-http",
        host.as_str(),
        "--outbound-allow-private",
        host.as_str(),
    ];
    let data = tempfile::tempdir().unwrap();
    let mut first = ServerProcess::start_with(&database, data.path(), &outbound);
    let admin = set_up(&first.base).await;
    let (status, _) = admin
        .put(
            "/environments/main/secrets/okta-token",
            json!({ "value": "okta-crash-token" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = admin
        .put(
            "/environments/main/integrations/okta",
            json!({ "type": "okta", "external_id": "acme.okta.com",
                    "settings": { "api_token_secret": "okta-token", "api_url": fakes.okta_url() } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, prod) = admin.get("/flows/prod").await;
    let (status, body) = admin
        .put(
            "/flows/okta-prod",
            json!({ "fields": prod["fields"], "plugin": prod["plugin"],
                    "strategy": { "type": "okta", "integration": "okta" },
                    "params": { "targets": [{ "name": "prod-admins", "settings": { "group_id": "00g-admins" } }] } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    fakes.fail_next(503, usize::MAX);
    let run = request(
        &admin,
        "okta-prod",
        json!({ "duration": "1h", "allow_self": true }),
    )
    .await;
    let (status, body) = admin.post(&format!("/runs/{run}/approve"), json!({})).await;
    assert_eq!(
        (status, &body["run"]["status"]),
        (StatusCode::OK, &json!("approved"))
    );
    // Let the worker try (and fail) again, then crash.
    tokio::time::sleep(Duration::from_secs(2)).await;
    first.kill();
    assert!(fakes.okta_members("00g-admins").is_empty());

    fakes.recover();
    let second = ServerProcess::start_with(&database, data.path(), &outbound);
    let admin = admin.at(&second.base);
    // A try the killed server held is free again once its lease (30 s) runs out.
    let mut status = Value::Null;
    for _ in 0..450 {
        let (_, current) = admin.get(&format!("/runs/{run}")).await;
        status = current["status"].clone();
        if status == "escalated" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, "escalated");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(fakes.okta_members("00g-admins"), ["00u-admin"]);
    let kinds = admin.audit_kinds(&run).await;
    assert_eq!(count(&kinds, "escalate"), 1, "{kinds:?}");
    let granted = fakes.requests("PUT");
    assert_eq!(
        granted, 1,
        "the membership is asked for once, when Okta is back"
    );
}

#[tokio::test]
async fn two_servers_on_one_postgres_fire_each_timer_once() {
    let Some(database) = postgres_database().await else {
        eprintln!("DATABASE_URL is not set: the two-replica test needs PostgreSQL and is skipped");
        return;
    };
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = ServerProcess::start(&database, one.path());
    let second = ServerProcess::start(&database, two.path());
    let admin = set_up(&first.base).await;
    let mut runs = Vec::new();
    for _ in 0..20 {
        runs.push(request(&admin, "relay", json!({ "timeout": "1s" })).await);
    }
    let watcher = admin.at(&second.base);
    let mut workers = std::collections::BTreeSet::new();
    for run in &runs {
        watcher.wait_for(run, "expired").await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for run in &runs {
        let (_, page) = watcher
            .get(&format!("/audit?run_id={run}&limit=1000"))
            .await;
        let events = page["events"].as_array().unwrap();
        let kinds: Vec<String> = events
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(count(&kinds, "request_forward"), 2, "{kinds:?}");
        assert_eq!(count(&kinds, "request_expire"), 1, "{kinds:?}");
        for event in events {
            if let Some(worker) = event["data"]["worker"].as_str() {
                workers.insert(worker.to_owned());
            }
        }
    }
    eprintln!("timers were fired by {} worker(s)", workers.len());
}

/// The demo's flows go through the same validation as `PUT /flows`: an example whose
/// field default does not fit its field stops the start with the reason, not later.
#[test]
fn an_example_flow_with_a_bad_default_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let examples = dir.path().join("flows");
    std::fs::create_dir_all(&examples).unwrap();
    std::fs::write(examples.join("echo.wasm"), plugin_bytes("echo-plugin")).unwrap();
    std::fs::write(
        examples.join("broken.json"),
        json!({
            "name": "broken",
            "plugin": "echo.wasm",
            "fields": [{ "name": "duration", "type": "duration", "default": "forever" }],
        })
        .to_string(),
    )
    .unwrap();
    let database = assent_tests::sqlite_database();
    let output = Command::new(env!("CARGO_BIN_EXE_assent"))
        .args(["serve", "--listen", "127.0.0.1:0", "--examples"])
        .arg(&examples)
        .arg("--database")
        .arg(&database.url)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the server started: {stderr}");
    assert!(
        stderr.contains("example flow `broken` was refused: a default does not fit its field")
            && stderr.contains("duration"),
        "{stderr}"
    );
}

/// The database and the demo's tokens hold secrets and every tenant's data: `assent serve`
/// leaves them readable by its own user alone.
#[test]
fn the_database_and_the_demo_tokens_are_the_owners_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let examples = dir.path().join("flows");
    std::fs::create_dir_all(&examples).unwrap();
    std::fs::write(examples.join("echo.wasm"), plugin_bytes("echo-plugin")).unwrap();
    std::fs::write(
        examples.join("open.json"),
        json!({ "name": "open", "plugin": "echo.wasm" }).to_string(),
    )
    .unwrap();
    let data = dir.path().join("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_assent"))
        .args(["serve", "--listen", "127.0.0.1:0", "--examples"])
        .arg(&examples)
        .arg("--data-dir")
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    // The tokens are printed once the demo is provisioned.
    while !seen.contains("demo-tokens.json") {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            break;
        }
        seen.push_str(&line);
    }
    let _ = child.kill();
    let _ = child.wait();
    for file in ["assent.db", "assent.db-wal", "demo-tokens.json"] {
        let mode = std::fs::metadata(data.join(file))
            .unwrap_or_else(|error| panic!("{file}: {error}; the server said: {seen}"))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file} is {:o}", mode & 0o777);
    }
}

/// `assent <command> FILE` (`plan` or `apply`) against the server at `base`, as an admin.
async fn config_command(
    command: &'static str,
    file: &std::path::Path,
    base: &str,
    token: &str,
) -> std::process::Output {
    let (file, base, token) = (file.to_owned(), base.to_owned(), token.to_owned());
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_assent"))
            .arg(command)
            .arg(&file)
            .args(["--server", &base])
            .env("ASSENT_TOKEN", token)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// `assent plan` and `assent apply` against a running server: the file's plugin is uploaded,
/// its flows, environment and flows filter created, a second apply changes nothing, an edit
/// plans as an update, and a file with one bad flow applies nothing at all.
#[tokio::test]
async fn plan_and_apply_make_the_server_hold_the_file() {
    let database = assent_tests::sqlite_database();
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(&database, data.path());
    let operator = Api::new(&server.base, OPERATOR);
    let (status, created) = operator
        .post(
            "/orgs",
            json!({ "slug": "acme", "name": "Acme", "admin_email": "admin@acme.test" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let token = created["token"].as_str().unwrap().to_owned();
    let admin = operator.with_token(&token);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("assent.toml");
    let echo = assent_tests::plugin_path("echo-plugin");
    let write = |extra: &str, channel: &str| {
        let config = format!(
            r##"
[plugins]
echo = {{ path = "{echo}" }}

[environments.main]
error_logger = "#assent-errors"

[flows.prod-db]
label = "Production database"
plugin = "echo"
vars = {{ channels = "{channel}" }}
fields = [{{ name = "reason", type = "string", required = true }}]

[flows.admin]
plugin = "echo"
strategy = "echo"
params = {{ allow_revoke = false }}

[flows_filter]
plugin = "echo"
vars = {{ hidden_flows = "admin" }}
{extra}"##,
            echo = echo.display()
        );
        std::fs::write(&file, config).unwrap();
    };
    let base = server.base.trim_end_matches("/api/v1").to_owned();
    let run = |command: &'static str| config_command(command, &file, &base, &token);
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();

    write("", "#access");
    let planned = run("plan").await;
    assert!(planned.status.success(), "{}", text(&planned.stderr));
    assert_eq!(
        text(&planned.stdout),
        "~ environment main: error_logger\n+ flow admin\n+ flow prod-db\n+ flows filter\n4 changes to apply (`assent apply` makes them).\n"
    );
    let (_, flows) = admin.get("/flows").await;
    assert_eq!(flows, json!([]), "a plan changes nothing");

    let applied = run("apply").await;
    assert!(applied.status.success(), "{}", text(&applied.stderr));
    assert!(text(&applied.stdout).ends_with("Applied 4 changes.\n"));
    let (_, flow) = admin.get("/flows/prod-db").await;
    assert_eq!(flow["label"], "Production database");
    assert_eq!(flow["vars"]["channels"], "#access");
    let (_, filter) = admin.get("/flows-filter").await;
    assert_eq!(filter["vars"]["hidden_flows"], "admin");
    let again = run("apply").await;
    assert!(
        text(&again.stdout).ends_with("No changes.\n"),
        "{}",
        text(&again.stdout)
    );
    let (_, flow) = admin.get("/flows/prod-db").await;
    assert_eq!(
        flow["version"], 1,
        "an apply with nothing changed writes nothing"
    );

    write("", "#access,#backup");
    let planned = run("plan").await;
    assert!(
        text(&planned.stdout).starts_with(
            "= environment main\n= flow admin\n~ flow prod-db: vars\n= flows filter\n"
        ),
        "{}",
        text(&planned.stdout)
    );
    // One bad flow: nothing of the file is applied, not even the good edit.
    write(
        "\n[flows.broken]\nplugin = \"0000000000000000000000000000000000000000000000000000000000000000\"\n",
        "#access,#backup",
    );
    let refused = run("apply").await;
    assert!(!refused.status.success());
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("flow `broken`: plugin `0000") && stderr.contains("nothing was applied"),
        "{stderr}"
    );
    let (_, flow) = admin.get("/flows/prod-db").await;
    assert_eq!(flow["vars"]["channels"], "#access");
    assert_eq!(flow["version"], 1);
}

/// `assent import-terraform` on Assent's own Sym Terraform (examples/terraform: locals, a
/// variable, `file()`, references, a custom strategy with targets, a built-in strategy, a
/// flows filter, integrations and secrets): every `sym_*` resource is carried over or named
/// as not carried, and `apply` then `plan` shows no changes.
#[tokio::test]
async fn sym_terraform_imports_applies_and_then_plans_no_changes() {
    let copy = tempfile::tempdir().unwrap();
    let examples = assent_tests::workspace_root().join("examples");
    for part in ["terraform", "python"] {
        let status = Command::new("cp")
            .arg("-r")
            .arg(examples.join(part))
            .arg(copy.path())
            .status()
            .unwrap();
        assert!(status.success());
    }
    let dir = copy.path().join("terraform");
    let imported = Command::new(env!("CARGO_BIN_EXE_assent"))
        .arg("import-terraform")
        .arg(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&imported.stderr).into_owned();
    assert!(imported.status.success(), "{stderr}");
    for resource in [
        "sym_integration.slack",
        "sym_integration.okta",
        "sym_secrets.this",
        "sym_secret.okta_api_key",
    ] {
        assert!(
            stderr.contains(resource),
            "{resource} is not named: {stderr}"
        );
    }
    let file = dir.join("assent.toml");
    let config = std::fs::read_to_string(&file).unwrap();
    for carried in [
        "[environments.main]\nerror_logger = \"#main-access-errors\"",
        "[flows.team-access]",
        "[flows.support-access]",
        "strategy = \"support-groups-strategy\"",
        "field_bindings = [\"customer\"]",
        "default_target = \"globex-support\"",
        "oncall = \"bob@acme.test\"",
        "with = [\"../python/support-access/on_change.py\"]",
    ] {
        assert!(config.contains(carried), "{carried} is missing:\n{config}");
    }

    let database = assent_tests::sqlite_database();
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(&database, data.path());
    let operator = Api::new(&server.base, OPERATOR);
    let (_, created) = operator
        .post(
            "/orgs",
            json!({ "slug": "acme", "name": "Acme", "admin_email": "admin@acme.test" }),
        )
        .await;
    let token = created["token"].as_str().unwrap().to_owned();
    let admin = operator.with_token(&token);
    // The import's note: the Okta strategy's integration is created before applying.
    assert!(
        stderr.contains("acts through integration `main-okta`; create it before applying"),
        "{stderr}"
    );
    let (status, _) = admin
        .put(
            "/environments/main/secrets/okta-api-key",
            json!({ "value": "okta-token-for-import" }),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = admin
        .put(
            "/environments/main/integrations/main-okta",
            json!({ "type": "okta", "external_id": "acme.okta.com",
                    "settings": { "api_token_secret": "okta-api-key" } }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let base = server.base.trim_end_matches("/api/v1").to_owned();
    let run = |command: &'static str| config_command(command, &file, &base, &token);
    let applied = run("apply").await;
    let out = String::from_utf8_lossy(&applied.stdout).into_owned();
    assert!(
        applied.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    assert!(out.ends_with("Applied 5 changes.\n"), "{out}");
    let planned = run("plan").await;
    let out = String::from_utf8_lossy(&planned.stdout).into_owned();
    assert!(out.ends_with("No changes.\n"), "{out}");
    let (_, flow) = admin.get("/flows/support-access").await;
    assert_eq!(
        flow["params"]["targets"][1]["field_bindings"],
        json!(["customer"])
    );
    assert_eq!(flow["strategy"]["type"], "custom", "{flow:#}");
    assert!(flow["strategy"]["plugin"].is_string(), "{flow:#}");
    let (_, flow) = admin.get("/flows/prod-admins").await;
    assert_eq!(
        flow["strategy"],
        json!({ "type": "okta", "integration": "main-okta" })
    );
    assert_eq!(
        flow["params"]["targets"][0]["settings"]["group_id"],
        "00g123456789"
    );
}
