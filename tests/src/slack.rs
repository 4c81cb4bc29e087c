//! A fake Slack for the tests: the Web API served on 127.0.0.1, recording every call, and
//! signed inbound payloads as Slack sends them.
//!
//! The server under test is configured with this fake's URL as its Slack API base; nothing
//! else about its Slack client changes.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// The signing secret the tests sign with and servers under test verify with.
pub const SIGNING_SECRET: &str = "test-signing-secret";
/// The key sealing secrets and bot tokens in tests.
pub const SECRETS_KEY: &str = "5f4dcc3b5aa765d61d8327deb882cf995f4dcc3b5aa765d61d8327deb882cf99";
pub const CLIENT_ID: &str = "1234.5678";
pub const CLIENT_SECRET: &str = "test-client-secret";

/// One Web API call the fake received.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// The bot token it carried (`Authorization: Bearer …`).
    pub token: Option<String>,
    /// JSON body, or the query parameters of a GET, as an object.
    pub body: Value,
    /// What the fake answered.
    pub response: Value,
}

#[derive(Debug, Default)]
struct Fake {
    calls: Vec<Call>,
    /// Channels `chat.postMessage` refuses (`channel_not_found`).
    failing: BTreeSet<String>,
    /// Method → how many of its next calls get `503 Service Unavailable` (Slack down).
    outages: BTreeMap<String, usize>,
    /// Slack user id → (email, name).
    users: BTreeMap<String, (String, String)>,
    /// Slack user ids of the workspace's (multi-channel) guests.
    guests: BTreeSet<String>,
    /// Method → how long the fake takes to answer it (the call is recorded at once).
    delays: BTreeMap<String, Duration>,
    /// What `oauth.v2.access` returns for a code: (team id, team name, bot token).
    installs: BTreeMap<String, (String, String, String)>,
    next_ts: u64,
}

/// A running fake Slack Web API.
#[derive(Debug, Clone)]
pub struct FakeSlack {
    pub addr: SocketAddr,
    state: Arc<Mutex<Fake>>,
}

impl FakeSlack {
    pub async fn start() -> FakeSlack {
        let state = Arc::new(Mutex::new(Fake::default()));
        let app = Router::new()
            .route("/api/{method}", any(web_api))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeSlack { addr, state }
    }

    /// The Web API base URL for the server under test.
    pub fn api_url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    /// A Slack user `users.info` knows.
    pub fn add_user(&self, id: &str, email: &str, name: &str) {
        self.state
            .lock()
            .unwrap()
            .users
            .insert(id.into(), (email.into(), name.into()));
    }

    /// A multi-channel guest of the workspace (`is_restricted`), whom `users.info` knows.
    pub fn add_guest(&self, id: &str, email: &str, name: &str) {
        self.add_user(id, email, name);
        self.state.lock().unwrap().guests.insert(id.into());
    }

    /// Makes `chat.postMessage` to `channel` fail as Slack does for a missing channel.
    pub fn fail_channel(&self, channel: &str) {
        self.state.lock().unwrap().failing.insert(channel.into());
    }

    /// Makes the next `calls` calls to `method` fail as when Slack is down (HTTP 503). They
    /// are recorded as `"<method> (unavailable)"`, so `calls(method)` holds answered ones.
    pub fn outage(&self, method: &str, calls: usize) {
        self.state
            .lock()
            .unwrap()
            .outages
            .insert(method.into(), calls);
    }

    /// Makes Slack take `delay` to answer `method`: the call is recorded (and visible to
    /// the test) at once, the answer comes after — as when a real post is slow.
    pub fn slow(&self, method: &str, delay: Duration) {
        self.state
            .lock()
            .unwrap()
            .delays
            .insert(method.into(), delay);
    }

    /// What `oauth.v2.access` answers for `code`.
    pub fn on_install(&self, code: &str, team_id: &str, team_name: &str, bot_token: &str) {
        self.state.lock().unwrap().installs.insert(
            code.into(),
            (team_id.into(), team_name.into(), bot_token.into()),
        );
    }

    /// Every call so far to `method` (e.g. `chat.postMessage`).
    pub fn calls(&self, method: &str) -> Vec<Call> {
        self.state
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|call| call.method == method)
            .cloned()
            .collect()
    }

    /// How many calls to `method` so far (cheaper than [`FakeSlack::calls`] under load).
    pub fn count(&self, method: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|call| call.method == method)
            .count()
    }

    pub fn all_calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    /// Waits (up to `timeout`) until `method` has been called `count` times; returns the calls.
    pub async fn wait_for(&self, method: &str, count: usize, timeout: Duration) -> Vec<Call> {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.count(method) < count && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.calls(method)
    }
}

async fn web_api(
    State(state): State<Arc<Mutex<Fake>>>,
    Path(method): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let (response, delay) = answer(&state, method, query, &headers, &body);
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    response
}

/// Records the call and works out Slack's answer, and how long to wait before giving it.
fn answer(
    state: &Mutex<Fake>,
    method: String,
    query: BTreeMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
) -> (Response, Option<Duration>) {
    let token = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::to_owned);
    let body: Value = if body.is_empty() {
        json!(query)
    } else {
        serde_json::from_slice(body)
            .or_else(|_| {
                serde_urlencoded::from_bytes::<BTreeMap<String, String>>(body)
                    .map(|form| json!(form))
            })
            .unwrap_or(Value::Null)
    };
    let mut fake = state.lock().unwrap();
    if let Some(left) = fake.outages.get_mut(&method)
        && *left > 0
    {
        *left -= 1;
        fake.calls.push(Call {
            method: format!("{method} (unavailable)"),
            token,
            body,
            response: Value::Null,
        });
        return (
            (StatusCode::SERVICE_UNAVAILABLE, "slack is down").into_response(),
            None,
        );
    }
    fake.next_ts += 1;
    let ts = format!("1700000000.{:06}", fake.next_ts);
    let text = |key: &str| {
        body.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let response = match method.as_str() {
        "chat.postMessage" => {
            let channel = text("channel");
            if fake.failing.contains(&channel) {
                json!({ "ok": false, "error": "channel_not_found" })
            } else {
                json!({ "ok": true, "channel": channel, "ts": ts, "message": { "ts": ts, "text": text("text") } })
            }
        }
        "chat.update" => json!({
            "ok": true, "channel": text("channel"), "ts": text("ts"),
            "message": { "text": text("text") }
        }),
        "chat.postEphemeral" => json!({ "ok": true, "message_ts": ts }),
        "views.open" | "views.update" => {
            let mut view = body.get("view").cloned().unwrap_or(json!({}));
            view["id"] = json!("V0FAKE");
            view["team_id"] = json!("T0FAKE");
            view["hash"] = json!("1700000000.hash");
            json!({ "ok": true, "view": view })
        }
        "conversations.open" => {
            let users = match body.get("users") {
                Some(Value::Array(users)) => users
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
                Some(Value::String(users)) => users.clone(),
                _ => String::new(),
            };
            json!({ "ok": true, "channel": { "id": format!("D-{users}") } })
        }
        "users.info" => {
            let id = text("user");
            match fake.users.get(&id) {
                Some((email, name)) => json!({ "ok": true, "user": {
                    "id": id, "name": name, "real_name": name,
                    "is_restricted": fake.guests.contains(&id),
                    "profile": { "email": email, "real_name": name }
                } }),
                None => json!({ "ok": false, "error": "user_not_found" }),
            }
        }
        "users.lookupByEmail" => {
            let email = text("email");
            match fake.users.iter().find(|(_, (known, _))| *known == email) {
                Some((id, (email, name))) => json!({ "ok": true, "user": {
                    "id": id, "name": name, "real_name": name,
                    "profile": { "email": email, "real_name": name }
                } }),
                None => json!({ "ok": false, "error": "users_not_found" }),
            }
        }
        "oauth.v2.access" => match fake.installs.get(&text("code")) {
            Some((team, name, token)) => json!({
                "ok": true, "access_token": token, "token_type": "bot",
                "scope": "commands,chat:write", "bot_user_id": "U0BOT", "app_id": "A0ASSENT",
                "team": { "id": team, "name": name }, "authed_user": { "id": "U0INSTALLER" }
            }),
            None => json!({ "ok": false, "error": "invalid_code" }),
        },
        _ => json!({ "ok": false, "error": "unknown_method" }),
    };
    let delay = fake.delays.get(&method).copied();
    fake.calls.push(Call {
        method,
        token,
        body,
        response: response.clone(),
    });
    (axum::Json(response).into_response(), delay)
}

/// Connects the organisation `admin` administers to workspace `team` the way an admin does:
/// asks the server at `server` (`http://127.0.0.1:PORT`) for an install link, plays Slack's
/// consent (the fake answers the code with `bot_token`), and follows the callback.
pub async fn connect(
    server: &str,
    admin: &crate::Api,
    slack: &FakeSlack,
    team: &str,
    bot_token: &str,
    domains: &[&str],
) {
    let (status, start) = admin
        .post("/slack/install", json!({ "domains": domains }))
        .await;
    assert!(status.is_success(), "{start}");
    let url = reqwest::Url::parse(start["url"].as_str().unwrap()).unwrap();
    let query: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(query["client_id"], CLIENT_ID);
    assert!(query["scope"].contains("chat:write"));
    assert!(
        query["redirect_uri"].ends_with("/slack/oauth/callback"),
        "{query:?}"
    );
    let code = format!("code-{team}");
    slack.on_install(&code, team, &format!("{team} workspace"), bot_token);
    let page = reqwest::Client::new()
        .get(format!("{server}/slack/oauth/callback"))
        .query(&[("code", code.as_str()), ("state", query["state"].as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), reqwest::StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Assent is installed"));
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// Slack's `X-Slack-Signature` for `body` at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("v0:{timestamp}:{body}").as_bytes());
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// Plays Slack's part towards a server: posts signed commands and interactions.
#[derive(Debug, Clone)]
pub struct SlackSender {
    base: String,
    client: reqwest::Client,
    pub secret: String,
    /// Seconds added to the signing time (negative: an old request).
    pub skew: i64,
}

impl SlackSender {
    /// Sends to the server at `base` (`http://127.0.0.1:PORT`).
    pub fn new(base: &str) -> SlackSender {
        SlackSender {
            base: base.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
            secret: SIGNING_SECRET.into(),
            skew: 0,
        }
    }

    /// POSTs a form body to `path`, signed; returns the status and the body as JSON (or a
    /// string).
    pub async fn post(&self, path: &str, body: &str) -> (u16, Value) {
        self.send(path, "application/x-www-form-urlencoded", body)
            .await
    }

    /// An Events API callback from `team` carrying `event`.
    pub async fn event(&self, team: &str, event: Value) -> (u16, Value) {
        let body = json!({
            "token": "deprecated",
            "team_id": team,
            "api_app_id": "A0ASSENT",
            "type": "event_callback",
            "event_id": "Ev0TEST",
            "event_time": unix_now(),
            "event": event,
        });
        self.send_json("/slack/events", &body).await
    }

    /// POSTs `body` as JSON to `path`, signed.
    pub async fn send_json(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(path, "application/json", &body.to_string()).await
    }

    async fn send(&self, path: &str, content_type: &str, body: &str) -> (u16, Value) {
        let timestamp = unix_now() + self.skew;
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .header("x-slack-request-timestamp", timestamp.to_string())
            .header("x-slack-signature", sign(&self.secret, timestamp, body))
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// A slash command from `user` in `channel` of `team`.
    pub async fn command(&self, team: &str, user: &str, channel: &str, text: &str) -> (u16, Value) {
        let body = serde_urlencoded::to_string([
            ("token", "deprecated"),
            ("team_id", team),
            ("team_domain", "acme"),
            ("channel_id", channel),
            ("channel_name", "general"),
            ("user_id", user),
            ("user_name", user),
            ("command", "/assent"),
            ("text", text),
            ("response_url", "https://hooks.slack.invalid/commands/1"),
            ("trigger_id", "1337.42.trigger"),
        ])
        .unwrap();
        self.post("/slack/commands", &body).await
    }

    /// An interaction payload (`block_actions`, `view_submission`, …).
    pub async fn interaction(&self, payload: &Value) -> (u16, Value) {
        let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
        self.post("/slack/interactions", &body).await
    }

    /// `user` clicks the button `action_id` (value `value`) on the message `ts` in `channel`.
    pub async fn click(
        &self,
        team: &str,
        user: &str,
        channel: &str,
        ts: &str,
        action_id: &str,
        value: &str,
    ) -> (u16, Value) {
        self.interaction(&json!({
            "type": "block_actions",
            "team": { "id": team, "domain": "acme" },
            "user": { "id": user, "username": user, "team_id": team },
            "api_app_id": "A0ASSENT",
            "trigger_id": "1337.43.trigger",
            "container": { "type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": false },
            "channel": { "id": channel, "name": "requests" },
            "actions": [ { "type": "button", "action_id": action_id, "block_id": "assent_decide",
                           "value": value, "action_ts": "1700000000.1" } ]
        }))
        .await
    }

    /// `user` changes field `block_id` of the open modal `view`, which then holds `values`
    /// (Slack sends a field with `dispatch_action` as a block action, the modal's state inside
    /// `view.state`).
    pub async fn change(
        &self,
        team: &str,
        user: &str,
        view: &Value,
        block_id: &str,
        values: Value,
    ) -> (u16, Value) {
        let action = values[block_id]["value"].clone();
        let view = opened(view, team, values);
        self.interaction(&json!({
            "type": "block_actions",
            "team": { "id": team, "domain": "acme" },
            "user": { "id": user, "username": user, "team_id": team },
            "api_app_id": "A0ASSENT",
            "trigger_id": "1337.45.trigger",
            "container": { "type": "view", "view_id": "V0FAKE" },
            "view": view,
            "actions": [ {
                "type": action["type"], "action_id": "value", "block_id": block_id,
                "selected_option": action["selected_option"], "action_ts": "1700000000.2"
            } ]
        }))
        .await
    }

    /// `user` submits `view` (as opened) with `values` as the modal state.
    pub async fn submit(
        &self,
        team: &str,
        user: &str,
        view: &Value,
        values: Value,
    ) -> (u16, Value) {
        let view = opened(view, team, values);
        self.interaction(&json!({
            "type": "view_submission",
            "team": { "id": team, "domain": "acme" },
            "user": { "id": user, "username": user, "team_id": team },
            "api_app_id": "A0ASSENT",
            "trigger_id": "1337.44.trigger",
            "view": view
        }))
        .await
    }
}

/// `view` as Slack sends it back from an open modal: with its id, team, hash and `values`.
fn opened(view: &Value, team: &str, values: Value) -> Value {
    let mut view = view.clone();
    view["id"] = json!("V0FAKE");
    view["team_id"] = json!(team);
    view["hash"] = json!("1700000000.hash");
    view["state"] = json!({ "values": values });
    view
}
