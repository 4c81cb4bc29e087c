//! Sym `impl.py` files, unchanged, built with componentize-py and run through the server —
//! each behaves as its documentation page says — and hostile Python plugins contained.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use assent_tests::{Api, python_plugin_bytes, python_plugin_bytes_with, sqlite_database};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{start, tenant};

async fn upload(admin: &Api, source: &str) -> String {
    let (status, plugin) = admin.upload(python_plugin_bytes(source)).await;
    assert!(status.is_success(), "{source}: {plugin}");
    assert!(
        plugin["sdk"].as_str().unwrap().contains("python"),
        "{plugin}"
    );
    plugin["hash"].as_str().unwrap().to_owned()
}

async fn flow(admin: &Api, name: &str, body: Value) {
    let (status, flow) = admin.put(&format!("/flows/{name}"), body).await;
    assert_eq!(status, StatusCode::CREATED, "{flow}");
}

async fn request(api: &Api, body: Value) -> Value {
    let (status, run) = api.post("/events/request", body).await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    run
}

fn id(body: &Value) -> String {
    body["run"]["id"].as_str().unwrap().to_owned()
}

fn reason_field() -> Value {
    json!([{ "name": "reason", "type": "string", "required": true }])
}

#[tokio::test]
async fn approval_only_routes_to_the_channel_and_keeps_to_the_safelist() {
    let database = sqlite_database();
    let server = start(&database).await;
    let acme = tenant(&server, "acme").await;
    let plugin = upload(&acme.admin, "examples/python/approval-only/impl.py").await;
    flow(
        &acme.admin,
        "approval",
        json!({ "plugin": plugin, "fields": reason_field(),
                "vars": { "request_channel": "#access-requests", "approvers": "bob@acme.test" } }),
    )
    .await;

    let run = request(
        &acme.member,
        json!({ "flow": "approval", "flow_inputs": { "reason": "deploy" } }),
    )
    .await;
    assert_eq!(
        run["run"]["notifications"],
        json!([{ "destinations": [{ "type": "slack_channel", "value": "#access-requests" }], "timeout": null }])
    );
    let path = format!("/runs/{}/approve", id(&run));
    let (status, body) = acme.admin.post(&path, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["ignored"]["message"],
        "You are not authorized to approve this request."
    );
    assert_eq!(body["run"]["status"], "requested");
    let (_, body) = acme.other_member.post(&path, json!({})).await;
    assert_eq!(
        body["run"]["status"], "escalated",
        "bob is on the safelist: {body}"
    );

    // Denying: the safelist or the requester; not the admin.
    let run = request(
        &acme.member,
        json!({ "flow": "approval", "flow_inputs": { "reason": "x" } }),
    )
    .await;
    let path = format!("/runs/{}/deny", id(&run));
    let (_, body) = acme.admin.post(&path, json!({})).await;
    assert_eq!(
        body["ignored"]["message"],
        "You are not authorized to deny this request."
    );
    let (_, body) = acme.member.post(&path, json!({})).await;
    assert_eq!(
        body["run"]["status"], "denied",
        "the requester may withdraw: {body}"
    );
}

#[tokio::test]
async fn on_request_auto_approves_the_listed_users() {
    let database = sqlite_database();
    let server = start(&database).await;
    let acme = tenant(&server, "acme").await;
    let plugin = upload(&acme.admin, "examples/python/auto-approve/impl.py").await;
    flow(
        &acme.admin,
        "auto",
        json!({ "plugin": plugin, "fields": reason_field(), "vars": { "auto_approve": "ann@acme.test" } }),
    )
    .await;
    let body = request(
        &acme.member,
        json!({ "flow": "auto", "flow_inputs": { "reason": "deploy" } }),
    )
    .await;
    assert_eq!(body["step"], "approve", "{body:#}");
    assert_eq!(body["run"]["reason"], "Auto-approved! deploy");
    assert_eq!(body["run"]["status"], "escalated");
    let body = request(
        &acme.other_member,
        json!({ "flow": "auto", "flow_inputs": { "reason": "x" } }),
    )
    .await;
    assert_eq!(body["run"]["status"], "requested", "bob is not on the list");
}

#[tokio::test]
async fn permissions_and_urgency_routing() {
    let database = sqlite_database();
    let server = start(&database).await;
    let acme = tenant(&server, "acme").await;
    let basic = upload(&acme.admin, "examples/python/permissions/impl.py").await;
    flow(
        &acme.admin,
        "basic",
        json!({ "plugin": basic, "fields": reason_field() }),
    )
    .await;
    let run = request(
        &acme.member,
        json!({ "flow": "basic", "flow_inputs": { "reason": "x" } }),
    )
    .await;
    assert_eq!(
        run["run"]["notifications"][0]["destinations"][0]["value"],
        "#sym-requests"
    );
    let (status, _) = acme
        .member
        .post(&format!("/runs/{}/approve", id(&run)), json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "allow_self_approval=False");
    let (status, _) = acme
        .other_member
        .post(&format!("/runs/{}/approve", id(&run)), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "any member may approve");

    let urgency = upload(&acme.admin, "examples/python/urgency-routing/impl.py").await;
    flow(
        &acme.admin,
        "urgent",
        json!({
            "plugin": urgency,
            "vars": { "request_channel": "#sym-requests", "emergency_channel": "#sym-emergencies" },
            "fields": [
                { "name": "reason", "type": "string", "required": true },
                { "name": "urgency", "type": "string", "required": true, "allowed_values": ["Normal", "Emergency"] },
            ],
        }),
    )
    .await;
    for (urgency, channel, self_approval) in [
        ("Normal", "#sym-requests", StatusCode::FORBIDDEN),
        ("Emergency", "#sym-emergencies", StatusCode::OK),
    ] {
        let run = request(
            &acme.admin,
            json!({ "flow": "urgent", "flow_inputs": { "reason": "x", "urgency": urgency } }),
        )
        .await;
        assert_eq!(
            run["run"]["notifications"][0]["destinations"][0]["value"],
            channel
        );
        let (status, body) = acme
            .admin
            .post(&format!("/runs/{}/approve", id(&run)), json!({}))
            .await;
        assert_eq!(status, self_approval, "{urgency}: {body}");
        // Members are never approvers in this flow.
        if urgency == "Normal" {
            let (status, _) = acme
                .member
                .post(&format!("/runs/{}/approve", id(&run)), json!({}))
                .await;
            assert_eq!(status, StatusCode::FORBIDDEN);
        }
    }
}

#[tokio::test]
async fn source_channel_routing_falls_back_and_times_out() {
    let database = sqlite_database();
    let server = start(&database).await;
    let acme = tenant(&server, "acme").await;
    let routing = upload(
        &acme.admin,
        "examples/python/source-channel-routing/impl.py",
    )
    .await;
    flow(&acme.admin, "routed", json!({ "plugin": routing })).await;
    let from_slack = request(
        &acme.member,
        json!({ "flow": "routed", "source_channel": "C0123" }),
    )
    .await;
    let channels: Vec<&Value> = from_slack["run"]["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["destinations"][0]["value"])
        .collect();
    assert_eq!(channels, [&json!("C0123"), &json!("#sym-access")]);
    let from_api = request(&acme.member, json!({ "flow": "routed" })).await;
    assert_eq!(
        from_api["run"]["notifications"].as_array().unwrap().len(),
        1
    );

    let notify = upload(&acme.admin, "examples/python/notify-requester/impl.py").await;
    flow(
        &acme.admin,
        "notify",
        json!({ "plugin": notify, "fields": [{ "name": "notify_requester", "type": "bool", "default": false }] }),
    )
    .await;
    let run = request(
        &acme.member,
        json!({ "flow": "notify", "source_channel": "C0123", "flow_inputs": { "notify_requester": true } }),
    )
    .await;
    let notifications = &run["run"]["notifications"];
    assert_eq!(
        notifications[0],
        json!({ "destinations": [{ "type": "slack_channel", "value": "C0123" },
                                  { "type": "user_email", "value": "ann@acme.test" }], "timeout": 15 })
    );
    assert_eq!(
        notifications[1]["destinations"][0]["value"],
        "#test-paginate-10"
    );
    assert_eq!(
        notifications[2]["destinations"],
        json!([{ "type": "user_email", "value": "oncall@example.com" }, { "type": "user_id", "value": "test_id" }])
    );
    assert_eq!(
        run["run"]["timers"][0]["trigger"]["trigger"],
        "notification_timeout"
    );
}

#[tokio::test]
async fn a_custom_strategy_grants_and_takes_back_access() {
    let database = sqlite_database();
    let server = start(&database).await;
    let acme = tenant(&server, "acme").await;
    let plugin = upload(&acme.admin, "examples/python/custom-strategy/impl.py").await;
    flow(
        &acme.admin,
        "groups",
        json!({
            "plugin": plugin, "strategy": plugin,
            "fields": [{ "name": "target", "type": "target", "required": true },
                       { "name": "duration", "type": "duration", "default": "1h" }],
            "params": { "targets": [{ "id": "t-prod", "name": "prod-admins", "label": "Prod admins",
                                      "settings": { "group": "g-prod" } }] },
        }),
    )
    .await;
    let run = request(
        &acme.member,
        json!({ "flow": "groups", "flow_inputs": { "target": "prod-admins" } }),
    )
    .await;
    let (_, body) = acme
        .admin
        .post(&format!("/runs/{}/approve", id(&run)), json!({}))
        .await;
    assert_eq!(body["run"]["status"], "escalated", "{body:#}");
    assert_eq!(
        body["run"]["outputs"]["escalate"],
        json!({ "added": "ann@acme.test", "group": "g-prod", "target": "t-prod" })
    );
    let (_, body) = acme
        .member
        .post(&format!("/runs/{}/revoke", id(&run)), json!({}))
        .await;
    assert_eq!(body["run"]["status"], "deescalated", "{body:#}");
    assert_eq!(
        body["run"]["outputs"]["deescalate"]["removed"],
        "ann@acme.test"
    );
}

/// The project's own deploys flow, written with the parts of Sym's SDK that need no outside
/// system: `templates.get_step_output`, `Template.ignore`, `AccessTarget.slug`,
/// `event.channel.type`, destination timeouts, `user_ids`, the exceptions module.
#[tokio::test]
async fn deploys_use_the_sdk_as_sym_names_it() {
    let database = sqlite_database();
    let server = start(&database).await;
    let acme = tenant(&server, "acme").await;
    let plugin = upload(&acme.admin, "examples/python/deploys/impl.py").await;
    let target = |id: &str, name: &str, label: &str| json!({ "id": id, "name": name, "label": label, "settings": {} });
    flow(
        &acme.admin,
        "deploys",
        json!({
            "plugin": plugin,
            "fields": [{ "name": "target", "type": "target", "required": true }],
            "vars": { "deployers": "bob@acme.test" },
            "params": { "targets": [target("t-staging", "staging", "Staging"),
                                    target("t-prod", "production", "Production")] },
        }),
    )
    .await;

    let staging = request(
        &acme.member,
        json!({ "flow": "deploys", "flow_inputs": { "target": "staging" } }),
    )
    .await;
    assert_eq!(staging["step"], "approve", "{staging:#}");
    assert_eq!(
        staging["run"]["reason"],
        "Staging deploy of Staging, asked for by api"
    );
    assert_eq!(staging["run"]["status"], "escalated");

    let production = request(
        &acme.member,
        json!({ "flow": "deploys", "flow_inputs": { "target": "production" } }),
    )
    .await;
    assert_eq!(production["run"]["status"], "requested", "{production:#}");
    assert_eq!(
        production["run"]["notifications"],
        json!([
            { "destinations": [{ "type": "slack_channel", "value": "#deploys" }], "timeout": 1800 },
            { "destinations": [{ "type": "slack_channel", "value": "#deploy-leads" }], "timeout": 1800 },
        ])
    );
    let path = format!("/runs/{}/approve", id(&production));
    let (_, body) = acme.admin.post(&path, json!({})).await;
    assert_eq!(
        body["ignored"]["message"],
        "admin@acme.test is not one of this flow's deployers."
    );
    let (_, body) = acme.other_member.post(&path, json!({})).await;
    assert_eq!(body["run"]["status"], "escalated", "{body:#}");
}

/// A Sym flow that asks the host about people: approvals counted from the audit log, an
/// approver added by email, an identity kept on the requester.
#[tokio::test]
async fn request_limits_ask_the_host_about_people() {
    let database = sqlite_database();
    let server = start(&database).await;
    let acme = tenant(&server, "acme").await;
    let plugin = upload(&acme.admin, "examples/python/request-limits/impl.py").await;
    flow(
        &acme.admin,
        "limited",
        json!({
            "plugin": plugin,
            "fields": [],
            "vars": { "approver": "lead@partner.test", "weekly_limit": "1" },
        }),
    )
    .await;

    let first = request(
        &acme.member,
        json!({ "flow": "limited", "flow_inputs": {} }),
    )
    .await;
    assert_eq!(first["run"]["status"], "requested", "{first:#}");
    // The approver was added to the organisation by email, and only they may approve.
    let (_, users) = acme.admin.get("/users").await;
    let people = users.as_array().unwrap();
    let lead = people
        .iter()
        .find(|user| user["email"] == "lead@partner.test")
        .expect("the approver was added");
    assert_eq!(lead["role"], "member");
    let ann = people
        .iter()
        .find(|user| user["email"] == "ann@acme.test")
        .unwrap();
    let tickets: Vec<&Value> = ann["identities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|identity| identity["service"] == "tickets")
        .collect();
    assert_eq!(
        tickets,
        [&json!({ "service": "tickets", "external_id": "T-ann", "service_id": "helpdesk" })]
    );
    let path = format!("/runs/{}/approve", id(&first));
    let (status, refused) = acme.other_member.post(&path, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused:#}");
    let (status, token) = acme
        .admin
        .post(
            "/tokens",
            json!({ "email": "lead@partner.test", "name": "lead" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{token}");
    let lead = acme.admin.with_token(token["token"].as_str().unwrap());
    let (_, approved) = lead.post(&path, json!({})).await;
    assert_eq!(approved["run"]["status"], "escalated", "{approved:#}");

    // One approved this week is the limit: the next request is turned away, saying why.
    let second = request(
        &acme.member,
        json!({ "flow": "limited", "flow_inputs": {} }),
    )
    .await;
    assert_eq!(
        second["ignored"]["message"], "You have had 1 requests approved this week; the limit is 1.",
        "{second:#}"
    );
}

/// Destination timeouts in a legacy `get_approvers` answer are not yet carried to the host:
/// the request fails saying so and what to write instead, rather than never timing out.
#[tokio::test]
async fn backup_approvers_with_timeouts_say_what_to_write_instead() {
    let database = sqlite_database();
    let server = start(&database).await;
    let acme = tenant(&server, "acme").await;
    let plugin = upload(&acme.admin, "tests/python-plugins/backup-approvers/impl.py").await;
    flow(&acme.admin, "backup", json!({ "plugin": plugin })).await;
    let body = request(&acme.member, json!({ "flow": "backup" })).await;
    assert_eq!(body["run"]["status"], "errored", "{body:#}");
    let message = body["run"]["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("get_approvers cannot give destination timeouts (`timeout=`) yet"),
        "{message}"
    );
    assert!(message.contains("get_request_notifications"), "{message}");
}

#[tokio::test]
async fn hostile_python_plugins_are_contained() {
    let database = sqlite_database();
    let server = start(&database).await;
    let acme = tenant(&server, "acme").await;
    let plugin = upload(&acme.admin, "tests/python-plugins/hostile/impl.py").await;
    for (behavior, expected) in [
        ("loop", "did not finish within"),
        ("memory", "memory"),
        ("read-file", "/etc/passwd"),
        ("socket", "ModuleNotFoundError"),
        (
            "missing-module",
            "ModuleNotFoundError: No module named 'boto3'",
        ),
        ("raise", "PermissionError: the safelist service said no"),
        ("", ""),
    ] {
        let name = if behavior.is_empty() {
            "calm".to_owned()
        } else {
            behavior.to_owned()
        };
        flow(
            &acme.admin,
            &name,
            json!({ "plugin": plugin, "vars": { "behavior": behavior } }),
        )
        .await;
        let run = request(&acme.member, json!({ "flow": name })).await;
        if behavior.is_empty() {
            let (status, body) = acme
                .admin
                .post(&format!("/runs/{}/approve", id(&run)), json!({}))
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(
                body["run"]["status"], "escalated",
                "a calm call after the others: {body}"
            );
            continue;
        }
        // `get_permissions` is asked once, when the request is made (as Sym does): the
        // hostile plugin errors its run there.
        let body = run;
        assert_eq!(body["run"]["status"], "errored", "{behavior}: {body:#}");
        let message = body["run"]["error"]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{behavior}: {message}");
    }
}

#[test]
fn the_build_refuses_what_cannot_work_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let toolchain = assent_plugin_build::PythonToolchain::from_workspace();
    let cases = [
        (
            "syntax.py",
            "def get_permissions(event)\n    pass\n",
            "syntax.py:1: syntax error",
        ),
        (
            "aws.py",
            "import boto3\n\ndef get_permissions(event):\n    pass\n",
            "aws.py:1: `import boto3`: `boto3` is not available in the sandbox",
        ),
        (
            "empty.py",
            "def on_request(event):\n    pass\n",
            "empty.py: defines no `get_permissions` (or legacy `get_approvers`)",
        ),
        (
            "threads.py",
            "import threading\n\ndef get_permissions(event):\n    pass\n",
            "threads.py:1: `import threading`: plugins run on one thread",
        ),
        (
            "iam.py",
            "from sym.sdk.integrations import aws_iam, slack\n\ndef get_permissions(event):\n    pass\n",
            "iam.py:1: `from sym.sdk.integrations import aws_iam, slack`: needs Sym's AWS \
             IAM integration (`sym.sdk.integrations.aws_iam`), which Assent does not provide yet",
        ),
        (
            "messages.py",
            "from sym.sdk.integrations import slack\n\ndef get_permissions(event):\n    slack.send_message(slack.channel('#x'), 'hi')\n",
            "messages.py:4: `slack.send_message`: needs Slack messages from a plugin",
        ),
        (
            "raises.py",
            "raise RuntimeError('no config')\n\ndef get_permissions(event):\n    pass\n",
            "raises.py:1: RuntimeError: no config",
        ),
        (
            "alone.py",
            "def on_change_role(username, form):\n    return form\n",
            "an `on_change` file is built with its flow: `assent plugin build impl.py --with alone.py`",
        ),
    ];
    for (name, source, expected) in cases {
        let file = dir.path().join(name);
        std::fs::write(&file, source).unwrap();
        let error =
            assent_plugin_build::build_python(&file, &dir.path().join("out.wasm"), &toolchain)
                .expect_err(name)
                .to_string();
        assert!(error.contains(expected), "{name}: {error}");
    }
}

/// Python sessions are prepared ahead of time; each must still start from the snapshot, with
/// nothing left over from an earlier caller's calls.
#[tokio::test]
async fn every_python_session_starts_clean() {
    let host = assent_plugin_host::PluginHost::new(assent_plugin_host::HostConfig {
        cache_dir: Some(assent_tests::guest_target_dir().join("compiled")),
        ..assent_plugin_host::HostConfig::default()
    })
    .unwrap();
    let plugin = host
        .load(python_plugin_bytes("tests/python-plugins/counter/impl.py"))
        .await
        .unwrap();
    let event = assent_types::Event::default();
    for round in 0..6 {
        let mut session = plugin.session().await.unwrap();
        assert_eq!(
            session.get_identity(&event).await.unwrap().as_deref(),
            Some("call 1"),
            "round {round}"
        );
        assert_eq!(
            session.get_identity(&event).await.unwrap().as_deref(),
            Some("call 2"),
            "one session keeps its state for the step"
        );
        drop(session);
        // Let the background refill run, so later rounds take prepared sessions.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Sessions made ahead of time wait holding instance slots. With several Python plugins
/// loaded they must leave slots for calls: here two plugins would want four waiting sessions
/// on a host of four slots, and a call of any other plugin would wait for ever.
#[tokio::test]
async fn sessions_made_ahead_leave_slots_for_calls() {
    let host = assent_plugin_host::PluginHost::new(assent_plugin_host::HostConfig {
        cache_dir: Some(assent_tests::guest_target_dir().join("compiled")),
        max_instances: 4,
        ..assent_plugin_host::HostConfig::default()
    })
    .unwrap();
    let other = host
        .load(assent_tests::plugin_bytes("approval-only"))
        .await
        .unwrap();
    let counter = python_plugin_bytes("tests/python-plugins/counter/impl.py");
    // Kept loaded, as a server's cache keeps them.
    let mut loaded = Vec::new();
    for label in ["one", "two"] {
        let plugin = host
            .load(assent_tests::plugin_variant(&counter, label))
            .await
            .unwrap();
        // A first session, dropped: its plugin starts making sessions ahead of time.
        drop(plugin.session().await.unwrap());
        loaded.push(plugin);
    }
    // Let both plugins make all they would.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;

    let mut held = Vec::new();
    for call in 0..3 {
        let session = tokio::time::timeout(std::time::Duration::from_secs(10), other.session())
            .await
            .unwrap_or_else(|_| panic!("session {call} waited for a slot held by idle sessions"))
            .unwrap();
        held.push(session);
    }
}

/// Sym's repositories name their files `01_my_flow.py`: a file name that is no Python
/// identifier (a leading digit, a dash) builds like any other, and the plugin works.
#[tokio::test]
async fn a_file_named_as_sym_names_them_builds() {
    let dir = tempfile::tempdir().unwrap();
    let toolchain = assent_plugin_build::PythonToolchain::from_workspace();
    let source = assent_tests::workspace_root().join("tests/python-plugins/counter/impl.py");
    let file = dir.path().join("01_my-flow.py");
    std::fs::copy(&source, &file).unwrap();
    let out = dir.path().join("out.wasm");
    let handlers = assent_plugin_build::build_python(&file, &out, &toolchain)
        .unwrap_or_else(|error| panic!("01_my-flow.py did not build: {error}"));
    assert!(
        handlers.iter().any(|handler| handler == "get_identity"),
        "{handlers:?}"
    );

    let host =
        assent_plugin_host::PluginHost::new(assent_plugin_host::HostConfig::default()).unwrap();
    let plugin = host.load(std::fs::read(&out).unwrap()).await.unwrap();
    let mut session = plugin.session().await.unwrap();
    let identity = session
        .get_identity(&assent_types::Event::default())
        .await
        .unwrap();
    assert_eq!(identity.as_deref(), Some("call 1"));
}

fn form_field<'a>(form: &'a Value, name: &str) -> &'a Value {
    form["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|field| field["name"] == name)
        .unwrap_or_else(|| panic!("no field `{name}` in {form:#}"))
}

fn values(options: &Value) -> Vec<&str> {
    options
        .as_array()
        .unwrap()
        .iter()
        .map(|option| option["value"].as_str().unwrap())
        .collect()
}

/// Sym's prompt-form features from Python: a `@prefetch` reducer fills a field's choices, an
/// `on_change_<field>` handler shows, requires and narrows fields, and requests are held to
/// the form; a flows filter's `get_flows` decides who is offered what.
#[tokio::test]
async fn prompt_forms_and_the_flows_filter_from_python() {
    let database = sqlite_database();
    let server = start(&database).await;
    let acme = tenant(&server, "acme").await;
    let plugin = upload(&acme.admin, "examples/python/team-access/impl.py").await;
    let (_, described) = acme.admin.get(&format!("/plugins/{plugin}")).await;
    let handlers = described["handlers"].to_string();
    assert!(
        handlers.contains("prefetch") && handlers.contains("on_change"),
        "{described:#}"
    );
    flow(
        &acme.admin,
        "team-access",
        json!({
            "plugin": plugin,
            "vars": { "teams": "dev:Development,prod:Production" },
            "fields": [
                { "name": "team", "type": "string", "required": true, "prefetch": true },
                { "name": "ticket", "type": "string", "visible": false },
                { "name": "duration", "type": "duration", "allowed_values": ["30m", "1h", "1d"] },
            ],
        }),
    )
    .await;

    let (status, form) = acme.member.get("/flows/team-access/form").await;
    assert_eq!(status, StatusCode::OK, "{form:#}");
    assert_eq!(
        form_field(&form, "team")["allowed_values"],
        json!([{ "value": "dev", "label": "Development" }, { "value": "prod", "label": "Production" }])
    );
    assert_eq!(form["on_change"], json!(["team"]));

    let (status, prod) = acme
        .member
        .post(
            "/flows/team-access/form",
            json!({ "values": { "team": "prod" } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{prod:#}");
    let ticket = form_field(&prod, "ticket");
    assert_eq!(
        (&ticket["visible"], &ticket["required"], &ticket["label"]),
        (&json!(true), &json!(true), &json!("Change ticket"))
    );
    let duration = form_field(&prod, "duration");
    assert_eq!(values(&duration["allowed_values"]), ["30m", "1h"]);
    assert_eq!(
        values(&duration["original_allowed_values"]),
        ["30m", "1h", "1d"]
    );

    let refused = |inputs: Value| {
        let member = &acme.member;
        async move {
            let (status, body) = member
                .post(
                    "/events/request",
                    json!({ "flow": "team-access", "flow_inputs": inputs }),
                )
                .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body:#}");
            body["error"]["message"].as_str().unwrap().to_owned()
        }
    };
    assert!(
        refused(json!({ "team": "prod", "duration": "1h" }))
            .await
            .contains("`ticket` is required")
    );
    assert!(
        refused(json!({ "team": "prod", "ticket": "CHG-1", "duration": "1d" }))
            .await
            .contains("`duration` must be one of 30m, 1h")
    );
    assert!(
        refused(json!({ "team": "qa" }))
            .await
            .contains("`team` must be one of dev, prod")
    );
    let run = request(
        &acme.member,
        json!({ "flow": "team-access", "flow_inputs": { "team": "prod", "ticket": "CHG-1", "duration": "1h" } }),
    )
    .await;
    assert_eq!(run["run"]["status"], "requested", "{run:#}");
    let run = request(
        &acme.member,
        json!({ "flow": "team-access", "flow_inputs": { "team": "dev", "duration": "1d" } }),
    )
    .await;
    assert_eq!(run["run"]["status"], "requested", "{run:#}");

    // The flows filter: `prod-` flows only for the on-call.
    let filter = upload(&acme.admin, "examples/python/flows-filter/impl.py").await;
    flow(
        &acme.admin,
        "prod-db",
        json!({ "plugin": plugin, "fields": [] }),
    )
    .await;
    let (status, set) = acme
        .admin
        .put(
            "/flows-filter",
            json!({ "plugin": filter, "vars": { "oncall": "bob@acme.test" } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{set:#}");
    let offered = |api: &'static str| {
        let acme = &acme;
        async move {
            let api = if api == "ann" {
                &acme.member
            } else {
                &acme.other_member
            };
            let (status, flows) = api.get("/flows?offered=true").await;
            assert_eq!(status, StatusCode::OK, "{flows:#}");
            flows
                .as_array()
                .unwrap()
                .iter()
                .map(|flow| flow["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(offered("ann").await, ["team-access"]);
    assert_eq!(offered("bob").await, ["prod-db", "team-access"]);
    // A file with only `get_flows` is a flows filter, not a flow.
    let (status, refused) = acme
        .admin
        .put("/flows/filtered", json!({ "plugin": filter, "fields": [] }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused:#}");
}

/// A flow laid out as Sym's Terraform lays it out: the `implementation` file and the
/// `on_change` file of a prompt field, built into one plugin.
#[tokio::test]
async fn a_flow_and_its_on_change_file_build_into_one_plugin() {
    let database = sqlite_database();
    let server = start(&database).await;
    let acme = tenant(&server, "acme").await;
    let bytes = python_plugin_bytes_with(
        "examples/python/support-access/impl.py",
        &["examples/python/support-access/on_change.py"],
    );
    let (status, plugin) = acme.admin.upload(bytes).await;
    assert!(status.is_success(), "{plugin}");
    let hash = plugin["hash"].as_str().unwrap();
    flow(
        &acme.admin,
        "support",
        json!({
            "plugin": hash,
            "vars": { "customers": "Globex,Initech" },
            "fields": [
                { "name": "role", "type": "string", "required": true,
                  "allowed_values": ["viewer", "support"] },
                { "name": "customer", "type": "string", "prefetch": true, "visible": false },
            ],
        }),
    )
    .await;
    let (status, form) = acme
        .member
        .post(
            "/flows/support/form",
            json!({ "values": { "role": "support" } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{form:#}");
    assert_eq!(form["on_change"], json!(["role"]));
    let customer = form_field(&form, "customer");
    assert_eq!(
        (&customer["visible"], &customer["required"]),
        (&json!(true), &json!(true))
    );
    assert_eq!(values(&customer["allowed_values"]), ["globex", "initech"]);
    let (status, refused) = acme
        .member
        .post(
            "/events/request",
            json!({ "flow": "support", "flow_inputs": { "role": "support" } }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused:#}");
    let run = request(
        &acme.member,
        json!({ "flow": "support", "flow_inputs": { "role": "viewer" } }),
    )
    .await;
    assert_eq!(run["run"]["status"], "requested", "{run:#}");
}
