//! The `assent plugin` commands, run as a user runs them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

use assent_tests::{guest_target_dir, plugin_path, workspace_root};
use serde_json::{Value, json};

fn assent(args: &[&str], stdin: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_assent"));
    command
        .args(args)
        .current_dir(workspace_root())
        .env("CARGO_TARGET_DIR", guest_target_dir());
    match stdin {
        None => command.output().unwrap(),
        Some(input) => {
            use std::io::Write;
            let mut child = command
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
            child.wait_with_output().unwrap()
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The example approval event, by the person with `email` (whose username it also is).
fn approval_event(email: &str) -> String {
    let event =
        std::fs::read_to_string(workspace_root().join("examples/events/approve.json")).unwrap();
    let mut event: Value = serde_json::from_str(&event).unwrap();
    event["user"]["email"] = json!(email);
    event["user"]["username"] = json!(email);
    event.to_string()
}

#[test]
fn build_writes_a_component_and_reports_its_handlers() {
    // Make sure the shared guest build has run, so this build is incremental.
    plugin_path("approval-only");
    let out = std::env::temp_dir().join(format!("assent-cli-build-{}.wasm", std::process::id()));
    let output = assent(
        &[
            "plugin",
            "build",
            "examples/rust/approval-only",
            "-o",
            out.to_str().unwrap(),
        ],
        None,
    );
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("handlers: get_approvers, on_approve, on_deny"),
        "{stderr}"
    );
    assert_eq!(text(&output.stdout).trim(), out.to_str().unwrap());
    assert_eq!(&std::fs::read(&out).unwrap()[..8], b"\0asm\x0d\0\x01\0");
    std::fs::remove_file(out).unwrap();
}

#[test]
fn build_of_a_directory_without_a_crate_says_so() {
    let output = assent(&["plugin", "build", "docs"], None);
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("`docs` has no Cargo.toml"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn inspect_describes_the_component() {
    let file = plugin_path("custom-strategy");
    let output = assent(
        &["plugin", "inspect", file.to_str().unwrap(), "--json"],
        None,
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let inspection: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(inspection["world"], "assent:flow/plugin@0.2.0");
    assert_eq!(
        inspection["handlers"],
        json!(["fetch_remote_identity", "escalate", "deescalate"])
    );
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(inspection["size"], bytes.len());
    assert_eq!(
        inspection["sha256"],
        assent_plugin_host::content_hash(&bytes)
    );
}

#[test]
fn call_runs_a_handler_and_prints_json() {
    let file = plugin_path("approval-only");
    let file = file.to_str().unwrap();

    let output = assent(
        &["plugin", "call", file, "on_approve", "--event", "-"],
        Some(&approval_event("grace@example.com")),
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result, json!({"outcome": "proceed"}));

    let output = assent(
        &["plugin", "call", file, "on_approve", "--event", "-"],
        Some(&approval_event("mallory@example.com")),
    );
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        result,
        json!({"outcome": "ignore", "reason": "You are not authorized to approve this request."})
    );

    let output = assent(
        &[
            "plugin",
            "call",
            file,
            "get_approvers",
            "--event",
            "examples/events/approve.json",
        ],
        None,
    );
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        result,
        json!({
            "destinations": [{"type": "slack_channel", "value": "#sym-requests"}],
            "fallback": false,
            "allow_self": true
        })
    );
}

#[test]
fn call_shows_plugin_logs_on_stderr() {
    let file = plugin_path("custom-strategy");
    let mut event: Value = serde_json::from_str(&approval_event("grace@example.com")).unwrap();
    event["payload"]["fields"]["target"] = json!({
        "type": "target",
        "value": {"id": "t1", "name": "prod-db", "label": "Prod DB", "settings": {"group": "db-admins"}}
    });
    let output = assent(
        &[
            "plugin",
            "call",
            file.to_str().unwrap(),
            "escalate",
            "--event",
            "-",
        ],
        Some(&event.to_string()),
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("[Info] adding grace@example.com to db-admins"),
        "{}",
        text(&output.stderr)
    );
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["action"], "granted");
}

#[test]
fn call_explains_bad_input() {
    let file = plugin_path("approval-only");
    let file = file.to_str().unwrap();
    let cases: [(&[&str], Option<&str>, &str); 4] = [
        (
            &[
                "plugin",
                "call",
                file,
                "get_permissions",
                "--event",
                "examples/events/approve.json",
            ],
            None,
            "does not implement `get_permissions`; it implements: get_approvers, on_approve, on_deny",
        ),
        (
            &[
                "plugin",
                "call",
                file,
                "on_aprove",
                "--event",
                "examples/events/approve.json",
            ],
            None,
            "`on_aprove` is not a handler",
        ),
        (
            &["plugin", "call", file, "on_approve", "--event", "-"],
            Some("{not json"),
            "`-` is not a valid event",
        ),
        (
            &[
                "plugin",
                "call",
                "Cargo.toml",
                "on_approve",
                "--event",
                "examples/events/approve.json",
            ],
            None,
            "`Cargo.toml` is not a usable plugin: the plugin is not WebAssembly",
        ),
    ];
    for (args, stdin, expected) in cases {
        let output = assent(args, stdin);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
