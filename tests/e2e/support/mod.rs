//! An Assent server in the test process, on a test database, and an HTTP client for it.

// Each suite uses part of this support.
#![allow(dead_code)]

use std::time::Duration;

use assent_server::{Server, ServerConfig, WorkerConfig};
use assent_tests::{TestDatabase, guest_target_dir, plugin_bytes};
use reqwest::StatusCode;
use serde_json::{Value, json};

pub use assent_tests::Api;

pub const OPERATOR_TOKEN: &str = "operator-test-token";

pub fn server_config(database: &TestDatabase) -> ServerConfig {
    ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: database.url.clone(),
        cache_dir: Some(guest_target_dir().join("compiled")),
        plugin_cache: assent_server::CacheBudget::default(),
        operator_token: Some(OPERATOR_TOKEN.into()),
        // Timers in these tests are a second or two; look often.
        worker: WorkerConfig {
            poll: Duration::from_millis(100),
            ..WorkerConfig::default()
        },
        slack: None,
        secrets: assent_server::Keyring::from_hex(assent_tests::slack::SECRETS_KEY, None).unwrap(),
        // The providers' fakes listen on loopback over plain http.
        outbound: assent_server::OutboundPolicy {
            plain_http: assent_server::HostList::parse("127.0.0.1"),
            private_addresses: assent_server::HostList::parse("127.0.0.1"),
            // The slow-provider tests stall a fake for longer than this.
            total_timeout: Duration::from_secs(2),
            ..assent_server::OutboundPolicy::default()
        },
    }
}

/// A client of `server` with `token`.
pub fn api(server: &Server, token: &str) -> Api {
    Api::new(&format!("http://{}/api/v1", server.addr), token)
}

pub async fn start(database: &TestDatabase) -> Server {
    Server::start(server_config(database)).await.unwrap()
}

/// An organisation with an admin, a member, and the echo plugin uploaded.
#[derive(Debug)]
pub struct Tenant {
    pub admin: Api,
    pub member: Api,
    pub other_member: Api,
    pub echo: String,
}

pub async fn tenant(server: &Server, slug: &str) -> Tenant {
    let operator = api(server, OPERATOR_TOKEN);
    let (status, created) = operator
        .post(
            "/orgs",
            json!({ "slug": slug, "name": slug, "admin_email": format!("admin@{slug}.test") }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let admin = operator.with_token(created["token"].as_str().unwrap());
    let mut members = Vec::new();
    for name in ["ann", "bob"] {
        let email = format!("{name}@{slug}.test");
        let (status, user) = admin
            .put(&format!("/users/{email}"), json!({ "role": "member" }))
            .await;
        assert_eq!(status, StatusCode::OK, "{user}");
        let (status, token) = admin
            .post("/tokens", json!({ "email": email, "name": "tests" }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{token}");
        members.push(admin.with_token(token["token"].as_str().unwrap()));
    }
    let (status, plugin) = admin.upload(plugin_bytes("echo-plugin")).await;
    assert_eq!(status, StatusCode::CREATED, "{plugin}");
    let other_member = members.pop().unwrap();
    let member = members.pop().unwrap();
    Tenant {
        admin,
        member,
        other_member,
        echo: plugin["hash"].as_str().unwrap().to_owned(),
    }
}

impl Tenant {
    /// Stores flow `name` running the echo plugin with `vars`; `strategy` makes echo its
    /// strategy too. Fields: `reason` (string), `duration`, `timeout`, `allow_self`.
    pub async fn flow(&self, name: &str, vars: Value, strategy: bool) -> Value {
        self.flow_with(name, vars, strategy, json!({})).await
    }

    pub async fn flow_with(&self, name: &str, vars: Value, strategy: bool, params: Value) -> Value {
        let (status, flow) = self
            .admin
            .put(
                &format!("/flows/{name}"),
                json!({
                    "label": name,
                    "vars": vars,
                    "fields": [
                        { "name": "reason", "type": "string", "required": true },
                        { "name": "duration", "type": "duration" },
                        { "name": "timeout", "type": "duration" },
                        { "name": "allow_self", "type": "bool", "default": false },
                    ],
                    "params": params,
                    "plugin": self.echo,
                    "strategy": if strategy { json!(self.echo) } else { Value::Null },
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{flow}");
        flow
    }

    /// The member requests `flow`; returns the response body.
    pub async fn request(&self, flow: &str, inputs: Value) -> Value {
        let (status, body) = self
            .member
            .post(
                "/events/request",
                json!({ "flow": flow, "flow_inputs": inputs }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }
}
