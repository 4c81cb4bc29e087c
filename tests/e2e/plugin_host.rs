//! Every handler kind, called on real Rust components built from source.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use std::sync::{Arc, Mutex};

use assent_plugin_host::{
    CallFailure, Directory, EventCountQuery, HostConfig, LogLevel, Plugin, PluginHost,
    ServiceError, ServiceFuture,
};
use assent_tests::plugin_bytes;
use assent_types::*;
use serde_json::json;

fn user(id: &str, username: &str, role: Role) -> User {
    User {
        id: id.into(),
        email: format!("{username}@example.com"),
        username: username.into(),
        first_name: Some("Ada".into()),
        last_name: None,
        role,
        identities: vec![Identity::new("slack", format!("U-{id}"))],
    }
}

fn event(step: Step, vars: &[(&str, &str)]) -> Event {
    let requester = user("u1", "ada", Role::Member);
    let mut fields = BTreeMap::new();
    fields.insert("reason".into(), FieldValue::String("on call".into()));
    fields.insert("duration".into(), FieldValue::Duration(3600));
    fields.insert("allow_self".into(), FieldValue::Bool(true));
    fields.insert("count".into(), FieldValue::Int(-7));
    fields.insert(
        "tags".into(),
        FieldValue::StrList(vec!["a".into(), "b".into()]),
    );
    fields.insert("ports".into(), FieldValue::IntList(vec![22, 443]));
    fields.insert(
        "buddy".into(),
        FieldValue::SlackUser(user("u2", "grace", Role::Admin)),
    );
    fields.insert(
        "team".into(),
        FieldValue::SlackUserList(vec![user("u3", "alan", Role::Guest)]),
    );
    fields.insert(
        "target".into(),
        FieldValue::Target(Target {
            id: "t1".into(),
            name: "prod-db".into(),
            label: "Production DB".into(),
            settings: BTreeMap::from([("group".into(), "db-admins".into())]),
            field_bindings: Vec::new(),
        }),
    );
    Event {
        name: step,
        user: requester.clone(),
        payload: Payload {
            fields,
            timestamp: "2026-11-22T10:00:00Z".into(),
            message: None,
        },
        flow: Flow {
            name: "approval".into(),
            label: "Approval".into(),
            vars: vars
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect(),
            fields: vec![PromptField {
                name: "duration".into(),
                label: Some("How long?".into()),
                field_type: FieldType::Duration,
                required: true,
                allowed_values: vec!["30m".into(), "1h".into()],
                visible: true,
                default: None,
                prefetch: false,
            }],
            environment: Environment {
                name: "main".into(),
                integrations: Vec::new(),
            },
        },
        run: Run {
            id: "run-1".into(),
            actors: BTreeMap::from([(Step::Request, requester)]),
            contexts: BTreeMap::from([(Step::Request, json!({"ts": "1.2"}))]),
            source_channel: Channel {
                identifier: Some("C123".into()),
                channel_type: ChannelType::Slack,
            },
        },
        outputs: serde_json::from_value(json!({"escalate": {"ok": true}})).unwrap(),
    }
}

async fn load(host: &PluginHost, package: &str) -> Plugin {
    host.load(plugin_bytes(package))
        .await
        .unwrap_or_else(|error| panic!("{package} did not load: {error}"))
}

fn host() -> PluginHost {
    PluginHost::new(HostConfig::default()).unwrap()
}

#[tokio::test]
async fn describe_reports_exactly_the_handlers_written() {
    let host = host();
    let echo = load(&host, "echo-plugin").await;
    assert_eq!(echo.handlers().len(), 27, "echo writes every handler");
    assert!(echo.sdk().starts_with("assent-sdk-rust "), "{}", echo.sdk());
    assert_eq!(echo.contract_version(), "0.2.0");
    assert_eq!(echo.prefetch_fields().iter().collect::<Vec<_>>(), ["team"]);
    assert_eq!(echo.on_change_fields().iter().collect::<Vec<_>>(), ["team"]);
    assert_eq!(
        echo.hash(),
        assent_plugin_host::content_hash(&plugin_bytes("echo-plugin"))
    );

    let approval = load(&host, "approval-only").await;
    let handlers: Vec<String> = approval
        .handlers()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(handlers, ["get_approvers", "on_approve", "on_deny"]);

    let strategy = load(&host, "custom-strategy").await;
    let handlers: Vec<String> = strategy
        .handlers()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        handlers,
        ["fetch_remote_identity", "escalate", "deescalate"]
    );
}

#[tokio::test]
async fn reducers_return_what_the_plugin_computed() {
    let host = host();
    let echo = load(&host, "echo-plugin").await;
    let mut session = echo.session().await.unwrap();
    let event = event(
        Step::Request,
        &[("approve_deny", "u7,u8"), ("channels", "#a,#b")],
    );

    let permission = session.get_permissions(&event).await.unwrap();
    assert_eq!(
        permission,
        RequestPermission {
            webapp_view: Permission::Level(PermissionLevel::Admin),
            approve_deny: Permission::Users(vec!["u7".into(), "u8".into()]),
            allow_self_approval: true,
        }
    );

    let notifications = session.get_request_notifications(&event).await.unwrap();
    assert_eq!(
        notifications,
        vec![
            Notification {
                destinations: vec![Destination::SlackChannel("#a".into())],
                timeout: None
            },
            Notification {
                destinations: vec![Destination::SlackChannel("#b".into())],
                timeout: None
            },
            Notification {
                destinations: vec![
                    Destination::SlackUser("ada@example.com".into()),
                    Destination::SlackGroup(vec!["U1".into(), "U2".into()]),
                    Destination::UserEmail("ada@example.com".into()),
                    Destination::UserId("u1".into()),
                ],
                timeout: None
            },
        ]
    );

    let approvers = session.get_approvers(&event).await.unwrap();
    assert_eq!(
        approvers,
        Approvers {
            destinations: vec![
                Destination::SlackChannel("#a".into()),
                Destination::SlackChannel("#b".into())
            ],
            fallback: true,
            allow_self: true,
        }
    );
    assert_eq!(session.get_timeout(&event).await.unwrap(), Some(3600));
}

#[tokio::test]
async fn the_whole_event_crosses_the_boundary() {
    let host = host();
    let echo = load(&host, "echo-plugin").await;
    let mut session = echo.session().await.unwrap();
    let summary = session
        .get_identity(&event(Step::Approve, &[("approve_deny", "ADMIN")]))
        .await
        .unwrap()
        .unwrap();
    let expected = [
        "event=Step::Approve",
        "user=u1/ada@example.com/ada/Role::Member/slack=U-u1",
        "name=Ada -",
        "flow=approval/Approval",
        "vars=[approve_deny=ADMIN]",
        "prompt=[duration:FieldType::Duration:true:30m|1h]",
        "allow_self=bool:true",
        "buddy=user:grace@example.com",
        "count=int:-7",
        "duration=duration:3600",
        "ports=ints:22|443",
        "reason=str:on call",
        "tags=strs:a|b",
        "target=target:t1/prod-db/Production DB/group=db-admins",
        "team=users:alan@example.com",
        "run=run-1",
        "actors=[Step::Request=ada]",
        r#"contexts=[Step::Request={"ts":"1.2"}]"#,
        r#"source=ChannelType::Slack/Some("C123")"#,
        r#"outputs={"escalate":{"ok":true}}"#,
        "at=2026-11-22T10:00:00Z",
    ];
    for part in expected {
        assert!(summary.contains(part), "`{part}` missing from {summary}");
    }
}

#[tokio::test]
async fn on_hooks_return_every_outcome() {
    let host = host();
    let echo = load(&host, "echo-plugin").await;
    let cases = [
        (
            Step::Request,
            "approve:Auto-approved!",
            HookOutcome::Approve(Some("Auto-approved!".into())),
        ),
        (
            Step::Approve,
            "ignore:not you",
            HookOutcome::Ignore(Some("not you".into())),
        ),
        (
            Step::Deny,
            "deny:nope",
            HookOutcome::Deny(Some("nope".into())),
        ),
        (Step::Prompt, "request", HookOutcome::Request(None)),
        (Step::Escalate, "escalate", HookOutcome::Escalate(None)),
        (
            Step::Deescalate,
            "deescalate:early",
            HookOutcome::Deescalate(Some("early".into())),
        ),
        (Step::RequestForward, "proceed", HookOutcome::Proceed),
        (Step::RequestExpire, "", HookOutcome::Proceed),
    ];
    let mut session = echo.session().await.unwrap();
    for (step, rule, expected) in cases {
        let var = format!("on_{step}");
        let outcome = session
            .on(step, &event(step, &[(&var, rule)]))
            .await
            .unwrap();
        assert_eq!(outcome, expected, "on_{step} with `{rule}`");
    }
}

#[tokio::test]
async fn after_hooks_run_and_log() {
    let host = host();
    let echo = load(&host, "echo-plugin").await;
    let mut session = echo.session().await.unwrap();
    for step in Step::ALL {
        session.after(step, &event(step, &[])).await.unwrap();
    }
    let logs = session.logs();
    assert_eq!(logs.len(), 8);
    assert_eq!(logs[1].level, LogLevel::Info);
    assert_eq!(logs[1].message, "after_request ran");
    assert_eq!(
        logs[1].fields,
        vec![
            ("run".into(), "run-1".into()),
            ("user".into(), "ada".into())
        ]
    );
}

#[tokio::test]
async fn a_plugin_error_names_plugin_handler_and_cause() {
    let host = host();
    let echo = load(&host, "echo-plugin").await.named("approval");
    let mut session = echo.session().await.unwrap();
    let error = session
        .get_permissions(&event(Step::Request, &[("fail", "get_permissions")]))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "plugin `approval` failed in `get_permissions`: the plugin returned an error: ValueError: get_permissions was told to fail"
    );
    // A plugin's own error leaves the instance usable.
    assert!(
        session
            .get_permissions(&event(Step::Request, &[]))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn strategy_handlers_grant_and_revoke() {
    let host = host();
    let strategy = load(&host, "custom-strategy").await;
    let mut session = strategy.session().await.unwrap();
    let event = event(Step::Escalate, &[]);
    let target = event.target().unwrap().clone();

    assert_eq!(
        session.fetch_remote_identity(&event.user).await.unwrap(),
        Some("ada@example.com".into())
    );
    assert_eq!(
        session.escalate(&target, &event).await.unwrap(),
        Some(json!({"action": "granted", "group": "db-admins", "identity": "ada@example.com"}))
    );
    assert_eq!(
        session.deescalate(&target, &event).await.unwrap(),
        Some(json!({"action": "revoked", "group": "db-admins", "identity": "ada@example.com"}))
    );
    assert_eq!(
        session.logs()[0].message,
        "adding ada@example.com to db-admins"
    );

    let no_group = Target {
        settings: BTreeMap::new(),
        ..target
    };
    let error = session.escalate(&no_group, &event).await.unwrap_err();
    assert_eq!(
        error.cause,
        CallFailure::Plugin(PluginError {
            kind: "missing-setting".into(),
            message: "target `prod-db` has no `group` setting".into()
        })
    );
}

#[tokio::test]
async fn strategy_output_must_be_json() {
    let host = host();
    let echo = load(&host, "echo-plugin").await;
    let mut session = echo.session().await.unwrap();
    let event = event(Step::Deescalate, &[("bad_output", "yes")]);
    let error = session
        .deescalate(event.target().unwrap(), &event)
        .await
        .unwrap_err();
    assert!(
        matches!(&error.cause, CallFailure::BadReturn(reason) if reason.contains("not valid JSON")),
        "{error}"
    );
}

#[tokio::test]
async fn the_host_never_calls_a_default_handler() {
    let host = host();
    let approval = load(&host, "approval-only").await;
    let mut session = approval.session().await.unwrap();
    let error = session
        .get_permissions(&event(Step::Request, &[]))
        .await
        .unwrap_err();
    assert_eq!(
        error.cause,
        CallFailure::NotImplemented(Handler::GetPermissions)
    );
}

#[tokio::test]
async fn the_first_flow_routes_and_guards_approval() {
    let host = host();
    let approval = load(&host, "approval-only").await;
    let vars = [
        ("request_channel", "#sym-requests"),
        ("approvers", "grace@example.com, alan@example.com"),
    ];
    let mut session = approval.session().await.unwrap();

    let approvers = session
        .get_approvers(&event(Step::Request, &vars))
        .await
        .unwrap();
    assert_eq!(
        approvers.destinations,
        [Destination::SlackChannel("#sym-requests".into())]
    );
    assert!(approvers.allow_self);

    // ada is the requester but not on the safelist: she may deny her own request...
    let mut by_ada = event(Step::Deny, &vars);
    assert_eq!(
        session.on(Step::Deny, &by_ada).await.unwrap(),
        HookOutcome::Proceed
    );
    // ...but not approve it.
    by_ada.name = Step::Approve;
    assert_eq!(
        session.on(Step::Approve, &by_ada).await.unwrap(),
        HookOutcome::Ignore(Some(
            "You are not authorized to approve this request.".into()
        ))
    );
    // grace is on the safelist.
    let mut by_grace = event(Step::Approve, &vars);
    by_grace.user = user("u2", "grace", Role::Member);
    assert_eq!(
        session.on(Step::Approve, &by_grace).await.unwrap(),
        HookOutcome::Proceed
    );
    // bob is neither requester nor approver.
    let mut by_bob = event(Step::Deny, &vars);
    by_bob.user = user("u9", "bob", Role::Member);
    assert_eq!(
        session.on(Step::Deny, &by_bob).await.unwrap(),
        HookOutcome::Ignore(Some("You are not authorized to deny this request.".into()))
    );

    let missing_var = session
        .get_approvers(&event(Step::Request, &[]))
        .await
        .unwrap_err();
    assert_eq!(
        missing_var.to_string(),
        format!(
            "plugin `{}` failed in `get_approvers`: the plugin returned an error: missing-var: the flow has no `request_channel` var",
            approval.name()
        )
    );
}

#[tokio::test]
async fn generic_call_returns_json() {
    let host = host();
    let echo = load(&host, "echo-plugin").await;
    let mut session = echo.session().await.unwrap();
    let event = event(Step::Request, &[("on_request", "approve:ok")]);
    assert_eq!(
        session
            .call(Handler::On(Step::Request), &event)
            .await
            .unwrap(),
        json!({"outcome": "approve", "reason": "ok"})
    );
    assert_eq!(
        session.call(Handler::GetPermissions, &event).await.unwrap(),
        json!({"webapp_view": "ADMIN", "approve_deny": "MEMBER", "allow_self_approval": true})
    );
    assert_eq!(
        session.call(Handler::Escalate, &event).await.unwrap(),
        json!({"granted": "prod-db", "to": "ada", "settings": "group=db-admins"})
    );
}

#[tokio::test]
async fn precompiled_artifacts_are_reused_from_the_cache() {
    let cache = std::env::temp_dir().join(format!("assent-cache-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let config = HostConfig {
        cache_dir: Some(cache.clone()),
        ..HostConfig::default()
    };
    let bytes = plugin_bytes("approval-only");
    let first = PluginHost::new(config.clone())
        .unwrap()
        .load(bytes.clone())
        .await
        .unwrap();
    let artifacts: Vec<_> = std::fs::read_dir(&cache).unwrap().flatten().collect();
    assert_eq!(artifacts.len(), 1);
    let name = artifacts[0].file_name().into_string().unwrap();
    assert!(
        name.starts_with(first.hash()) && name.ends_with(".cwasm"),
        "{name}"
    );

    // A second host (a restart) loads from the artifact and behaves the same.
    let again = PluginHost::new(config).unwrap().load(bytes).await.unwrap();
    assert_eq!(again.handlers(), first.handlers());
    let mut session = again.session().await.unwrap();
    let vars = [("request_channel", "#x")];
    assert!(
        session
            .get_approvers(&event(Step::Request, &vars))
            .await
            .is_ok()
    );
    std::fs::remove_dir_all(&cache).unwrap();
}

/// Several hosts sharing one cache (servers in one process, or replicas on one disk) loading
/// the same new plugin at the same moment: every load succeeds and one artifact is left.
#[tokio::test]
async fn concurrent_first_loads_share_the_cache_safely() {
    let cache = tempfile::tempdir().unwrap();
    let config = HostConfig {
        cache_dir: Some(cache.path().to_owned()),
        ..HostConfig::default()
    };
    let bytes = plugin_bytes("approval-only");
    let loads = (0..4).map(|_| {
        let host = PluginHost::new(config.clone()).unwrap();
        let bytes = bytes.clone();
        tokio::spawn(async move { host.load(bytes).await })
    });
    for load in futures::future::join_all(loads).await {
        let plugin = load.unwrap().expect("every concurrent load succeeds");
        assert!(plugin.handlers().contains(&Handler::GetApprovers));
    }
    let artifacts: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().into_string().unwrap())
        .collect();
    assert_eq!(artifacts.len(), 1, "{artifacts:?}");
    assert!(artifacts[0].ends_with(".cwasm"), "{artifacts:?}");
}

/// A component that compiles but is refused (here: it exports nothing of the contract) leaves
/// nothing in the cache: a refused upload must not fill the server's disk.
#[tokio::test]
async fn a_refused_plugin_leaves_no_compiled_artifact() {
    let cache = tempfile::tempdir().unwrap();
    let config = HostConfig {
        cache_dir: Some(cache.path().to_owned()),
        ..HostConfig::default()
    };
    let empty = wat::parse_str("(component)").unwrap();
    let refused = PluginHost::new(config).unwrap().load(empty).await;
    assert!(refused.is_err(), "an empty component is not a plugin");
    let left: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

fn artifact_names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".cwasm"))
        .collect();
    names.sort();
    names
}

fn has_artifact(names: &[String], bytes: &[u8]) -> bool {
    let hash = assent_plugin_host::content_hash(bytes);
    names.iter().any(|name| name.starts_with(&hash))
}

/// The disk cache keeps to its budget by removing the artifact used longest ago (not the
/// one written longest ago), and a restart with a smaller budget keeps the most recent.
#[tokio::test]
async fn the_disk_cache_drops_the_least_recently_used_beyond_its_budget() {
    let original = plugin_bytes("approval-only");
    let [first, second, third] =
        ["first", "second", "third"].map(|label| assent_tests::plugin_variant(&original, label));
    let cache = tempfile::tempdir().unwrap();
    let config = |disk_bytes| HostConfig {
        cache_dir: Some(cache.path().to_owned()),
        cache: assent_plugin_host::CacheBudget {
            disk_bytes,
            ..assent_plugin_host::CacheBudget::default()
        },
        ..HostConfig::default()
    };

    let measuring = PluginHost::new(config(u64::MAX)).unwrap();
    measuring.load(first.clone()).await.unwrap();
    let artifact = measuring.cached_bytes_on_disk();
    assert!(artifact > 0);
    drop(measuring);

    // Room for two artifacts and a half.
    let budget = artifact * 5 / 2;
    let host = PluginHost::new(config(budget)).unwrap();
    host.load(second.clone()).await.unwrap();
    // `first` is read back from disk: now it is the more recently used of the two.
    let again = host.load(first.clone()).await.unwrap();
    assert!(again.implements(Handler::GetApprovers));
    host.load(third.clone()).await.unwrap();
    let names = artifact_names(cache.path());
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(has_artifact(&names, &first), "used again, so kept");
    assert!(
        !has_artifact(&names, &second),
        "used longest ago, so removed"
    );
    assert!(has_artifact(&names, &third), "just written");
    assert!(host.cached_bytes_on_disk() <= budget);

    // A restart with room for one keeps the most recently used, from the files' times.
    drop(host);
    let smaller = PluginHost::new(config(artifact * 3 / 2)).unwrap();
    let names = artifact_names(cache.path());
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(has_artifact(&names, &third), "{names:?}");
    // What was removed compiles again and works.
    let recompiled = smaller.load(second).await.unwrap();
    assert!(recompiled.implements(Handler::GetApprovers));
    let names = artifact_names(cache.path());
    assert!(
        names.iter().any(|name| name.starts_with(recompiled.hash())),
        "{names:?}"
    );
}

/// Loaded plugins kept in memory stay within their budget, dropping the one used longest
/// ago; a dropped plugin loads again when asked for.
#[tokio::test]
async fn loaded_plugins_drop_the_least_recently_used_beyond_their_budget() {
    let host = host();
    let original = plugin_bytes("approval-only");
    let mut plugins = Vec::new();
    for label in ["first", "second", "third"] {
        let bytes = assent_tests::plugin_variant(&original, label);
        plugins.push(host.load(bytes).await.unwrap());
    }
    let [first, second, third] = [&plugins[0], &plugins[1], &plugins[2]];
    let footprint = first.footprint();
    assert!(
        footprint > original.len() as u64,
        "the footprint counts the compiled code as well as the component: {footprint}"
    );

    let loaded = assent_plugin_host::LoadedPlugins::new(footprint * 5 / 2);
    loaded.insert(first);
    loaded.insert(second);
    assert!(
        loaded.get(first.hash()).is_some(),
        "and now it is the more recent"
    );
    loaded.insert(third);
    assert!(
        loaded.get(second.hash()).is_none(),
        "used longest ago, so dropped"
    );
    assert!(loaded.get(first.hash()).is_some());
    assert!(loaded.get(third.hash()).is_some());
    let (count, bytes) = loaded.usage();
    assert_eq!(count, 2);
    assert!(bytes <= footprint * 5 / 2);

    let reloaded = loaded
        .get_or_load(second.hash(), || async {
            Ok::<_, std::convert::Infallible>(second.clone())
        })
        .await
        .unwrap();
    assert_eq!(reloaded.hash(), second.hash());
    assert!(loaded.get(second.hash()).is_some());
    assert_eq!(loaded.usage().0, 2, "and another made room for it");
}

/// Many callers asking at once for a plugin that is not loaded wait for one load of it
/// (compiling a Python plugin takes seconds of every core) rather than each loading it.
#[tokio::test]
async fn a_plugin_wanted_by_many_at_once_is_loaded_once() {
    let host = host();
    let plugin = load(&host, "approval-only").await;
    let loaded = assent_plugin_host::LoadedPlugins::new(u64::MAX);
    let loads = std::sync::atomic::AtomicUsize::new(0);
    let callers = (0..8).map(|_| {
        loaded.get_or_load(plugin.hash(), || async {
            loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            Ok::<_, std::convert::Infallible>(plugin.clone())
        })
    });
    for got in futures::future::join_all(callers).await {
        assert_eq!(got.unwrap().hash(), plugin.hash());
    }
    assert_eq!(loads.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn plugins_built_against_contract_0_1_0_keep_loading_and_behaving() {
    let host = host();
    let legacy = load(&host, "contract-0-1-0-plugin").await;
    assert_eq!(legacy.contract_version(), "0.1.0");
    assert_eq!(legacy.sdk(), "hand-written 0.1.0");
    let handlers: Vec<String> = legacy.handlers().iter().map(ToString::to_string).collect();
    assert_eq!(handlers, ["get_permissions", "get_timeout", "on_approve"]);
    assert!(legacy.prefetch_fields().is_empty());

    let mut session = legacy.session().await.unwrap();
    let mut approve = event(Step::Approve, &[("timeout", "600")]);
    approve.user = user("u9", "grace", Role::Member);
    let permission = session.get_permissions(&approve).await.unwrap();
    assert_eq!(
        permission.approve_deny,
        Permission::Level(PermissionLevel::Member)
    );
    assert_eq!(session.get_timeout(&approve).await.unwrap(), Some(600));
    // The approver is not the requester: the approval proceeds, and the plugin logs.
    assert_eq!(
        session.on(Step::Approve, &approve).await.unwrap(),
        HookOutcome::Proceed
    );
    assert_eq!(session.logs()[0].message, "approval checked");
    let mut own = approve.clone();
    own.user = own.run.actors[&Step::Request].clone();
    assert_eq!(
        session.on(Step::Approve, &own).await.unwrap(),
        HookOutcome::Ignore(Some("You cannot approve your own request.".into()))
    );
    // Handlers contract 0.1.0 does not have are refused by name, never called.
    let error = session
        .prefetch("team", &approve)
        .await
        .expect_err("0.1.0 has no prefetch");
    assert!(
        matches!(error.cause, CallFailure::NotImplemented(Handler::Prefetch)),
        "{error}"
    );
}

#[tokio::test]
async fn form_handlers_fill_choices_change_the_form_and_filter_flows() {
    let host = host();
    let echo = load(&host, "echo-plugin").await;
    let mut session = echo.session().await.unwrap();

    let prompt = event(Step::Prompt, &[("team_options", "db:Databases,web:Web")]);
    let options = session.prefetch("team", &prompt).await.unwrap();
    assert_eq!(
        options,
        [
            FieldOption {
                value: "db".into(),
                label: "Databases".into()
            },
            FieldOption {
                value: "web".into(),
                label: "Web".into()
            },
        ]
    );

    let field = |name: &str, value: Option<FieldValue>| FormField {
        name: name.into(),
        label: None,
        field_type: FieldType::String,
        required: false,
        visible: name != "reason",
        value,
        allowed_values: Vec::new(),
        original_allowed_values: Vec::new(),
    };
    let form = [
        field("team", Some(FieldValue::String("db".into()))),
        field("reason", None),
    ];
    let changed = session.on_change("team", &prompt, &form).await.unwrap();
    assert!(changed[1].visible && changed[1].required, "{changed:?}");
    let form = [
        field("team", Some(FieldValue::String("web".into()))),
        field("reason", None),
    ];
    let changed = session.on_change("team", &prompt, &form).await.unwrap();
    assert!(!changed[1].visible && !changed[1].required, "{changed:?}");

    let flows: Vec<Flow> = ["approval", "break-glass"]
        .iter()
        .map(|name| Flow {
            name: (*name).into(),
            ..Flow::default()
        })
        .collect();
    let vars = BTreeMap::from([("hidden_flows".to_owned(), "break-glass".to_owned())]);
    let member = user("u-1", "ann", Role::Member);
    assert_eq!(
        session.get_flows(&member, &flows, &vars).await.unwrap(),
        ["approval"]
    );
    let guest = user("u-2", "gus", Role::Guest);
    assert!(
        session
            .get_flows(&guest, &flows, &vars)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A directory that answers from memory and remembers what it was asked.
#[derive(Default)]
struct FakeDirectory {
    approved: u64,
    queries: Mutex<Vec<EventCountQuery>>,
    identities: Mutex<Vec<(String, Identity)>>,
}

impl Directory for FakeDirectory {
    fn event_count(&self, query: EventCountQuery) -> ServiceFuture<'_, u64> {
        self.queries.lock().unwrap().push(query);
        Box::pin(async move { Ok(self.approved) })
    }

    fn persist_identity(&self, email: String, identity: Identity) -> ServiceFuture<'_, User> {
        self.identities
            .lock()
            .unwrap()
            .push((email.clone(), identity.clone()));
        Box::pin(async move {
            Ok(User {
                email,
                identities: vec![identity],
                ..User::default()
            })
        })
    }

    fn get_or_create_user(&self, email: String) -> ServiceFuture<'_, User> {
        Box::pin(async move { Err(ServiceError::InvalidInput(format!("`{email}` is unknown"))) })
    }
}

#[tokio::test]
async fn the_users_import_reaches_the_sessions_directory_only() {
    let host = host();
    let echo = load(&host, "echo-plugin").await;
    let request = event(Step::Request, &[("max_approved", "2")]);

    // Without a directory (as `assent plugin call` runs), the call fails and says why.
    let mut bare = echo.session().await.unwrap();
    let error = bare
        .on(Step::Request, &request)
        .await
        .expect_err("no directory");
    let CallFailure::Plugin(plugin_error) = &error.cause else {
        panic!("expected the plugin's error, got {error}");
    };
    assert_eq!(plugin_error.kind, "host-unavailable");
    assert!(
        plugin_error
            .message
            .contains("without the organisation's user directory"),
        "{plugin_error:?}"
    );

    // With one, the count it answers decides, and the query carries the plugin's filters.
    for (approved, expected) in [
        (1, HookOutcome::Proceed),
        (
            2,
            HookOutcome::Ignore(Some(
                "You already have 2 approved requests of approval.".into(),
            )),
        ),
    ] {
        let directory = Arc::new(FakeDirectory {
            approved,
            ..FakeDirectory::default()
        });
        let mut session = echo
            .session()
            .await
            .unwrap()
            .with_directory(directory.clone());
        assert_eq!(session.on(Step::Request, &request).await.unwrap(), expected);
        let queries = directory.queries.lock().unwrap();
        assert_eq!(queries.len(), 1);
        assert_eq!(queries[0].user_id, request.user.id);
        assert_eq!(queries[0].event, Step::Approve);
        assert_eq!(queries[0].flow.as_deref(), Some("approval"));
        assert!(!queries[0].include_errored);
    }

    let directory = Arc::new(FakeDirectory::default());
    let mut session = echo
        .session()
        .await
        .unwrap()
        .with_directory(directory.clone());
    let escalate = event(Step::Escalate, &[("keep_identity", "yes")]);
    session.after(Step::Escalate, &escalate).await.unwrap();
    let requester = &escalate.run.actors[&Step::Request];
    assert_eq!(
        *directory.identities.lock().unwrap(),
        [(
            requester.email.clone(),
            Identity::new("echo", format!("E-{}", requester.id))
        )]
    );
}
