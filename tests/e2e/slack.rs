//! The Slack app end to end: a real server (SQLite, and PostgreSQL when `DATABASE_URL` is
//! set) with its Slack client pointed at a fake Slack Web API, driven by signed payloads as
//! Slack sends them.

mod support;

use std::time::Duration;

use assent_server::{Server, SlackConfig};
use assent_tests::slack::{
    CLIENT_ID, CLIENT_SECRET, FakeSlack, SECRETS_KEY, SIGNING_SECRET, SlackSender,
};
use assent_tests::{TestDatabase, sqlite_database, test_databases};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Tenant, server_config, tenant};

const WAIT: Duration = Duration::from_secs(10);

/// A server with the Slack app, a fake Slack, and one organisation connected to workspace
/// `T0ACME` through the OAuth install.
struct World {
    server: Server,
    slack: FakeSlack,
    sender: SlackSender,
    tenant: Tenant,
    slug: String,
}

async fn start_with_slack(database: &TestDatabase, slack: &FakeSlack) -> Server {
    let mut config = server_config(database);
    config.slack = Some(SlackConfig {
        signing_secret: SIGNING_SECRET.into(),
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        api_url: slack.api_url(),
        authorize_url: SlackConfig::DEFAULT_AUTHORIZE_URL.into(),
        public_url: "https://assent.example.test".into(),
        secrets_key: SECRETS_KEY.into(),
        command: "/assent".into(),
    });
    Server::start(config).await.unwrap()
}

/// Connects `tenant`'s organisation to `team` the way an admin does: install link, Slack's
/// consent, the callback.
async fn install(
    server: &Server,
    slack: &FakeSlack,
    tenant: &Tenant,
    team: &str,
    token: &str,
    domains: &[&str],
) {
    let (status, start) = tenant
        .admin
        .post("/slack/install", json!({ "domains": domains }))
        .await;
    assert_eq!(status, StatusCode::OK, "{start}");
    let url = reqwest::Url::parse(start["url"].as_str().unwrap()).unwrap();
    let query: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(query["client_id"], CLIENT_ID);
    assert!(query["scope"].contains("chat:write"));
    assert_eq!(
        query["redirect_uri"],
        "https://assent.example.test/slack/oauth/callback"
    );
    let code = format!("code-{team}");
    slack.on_install(&code, team, &format!("{team} workspace"), token);
    let page = reqwest::Client::new()
        .get(format!("http://{}/slack/oauth/callback", server.addr))
        .query(&[("code", code.as_str()), ("state", query["state"].as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Assent is installed"));
}

impl World {
    async fn new(database: &TestDatabase, slug: &str) -> World {
        let slack = FakeSlack::start().await;
        let server = start_with_slack(database, &slack).await;
        let tenant = tenant(&server, slug).await;
        install(
            &server,
            &slack,
            &tenant,
            "T0ACME",
            "xoxb-acme",
            &[&format!("{slug}.test")],
        )
        .await;
        slack.add_user("U0ANN", &format!("ann@{slug}.test"), "ann");
        slack.add_user("U0BOB", &format!("bob@{slug}.test"), "bob");
        slack.add_user("U0ADMIN", &format!("admin@{slug}.test"), "admin");
        let sender = SlackSender::new(&format!("http://{}", server.addr));
        World {
            server,
            slack,
            sender,
            tenant,
            slug: slug.into(),
        }
    }

    /// Ann requests `flow` through the slash command and the modal; returns the run id from
    /// the card posted to `channel`.
    async fn request(&self, flow: &str, values: Value, channel: &str) -> String {
        let opened = self.slack.calls("views.open").len();
        let (status, reply) = self
            .sender
            .command("T0ACME", "U0ANN", "C0GENERAL", &format!("req {flow}"))
            .await;
        assert_eq!(status, 200, "{reply}");
        let views = self.slack.calls("views.open");
        assert_eq!(views.len(), opened + 1, "no modal opened: {reply}");
        let view = views.last().unwrap().body["view"].clone();
        assert_eq!(view["callback_id"], "assent_request");
        let (status, answer) = self.sender.submit("T0ACME", "U0ANN", &view, values).await;
        assert_eq!(status, 200);
        assert_eq!(answer["response_action"], "clear", "{answer}");
        let card = self.card_in(channel).await;
        card_run_id(&card.body)
    }

    /// The latest card posted to `channel`.
    async fn card_in(&self, channel: &str) -> assent_tests::slack::Call {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(call) = self
                .slack
                .calls("chat.postMessage")
                .into_iter()
                .rev()
                .find(|call| call.body["channel"] == channel)
            {
                return call;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no card in {channel}: {:#?}",
                self.slack.all_calls()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The `ts` of the latest card in `channel`, to click on and find its updates by.
    async fn card_ts(&self, channel: &str) -> String {
        self.card_in(channel).await.response["ts"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// DMs to `user` so far (texts).
    fn dms(&self, user: &str) -> Vec<String> {
        self.slack
            .calls("chat.postMessage")
            .into_iter()
            .filter(|call| call.body["channel"] == format!("D-{user}"))
            .map(|call| call.body["text"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    async fn wait_dm(&self, user: &str, containing: &str) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(text) = self
                .dms(user)
                .into_iter()
                .find(|text| text.contains(containing))
            {
                return text;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no DM to {user} with {containing:?}: {:?}",
                self.dms(user)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The latest update of the card `ts`.
    fn latest_update(&self, ts: &str) -> Option<Value> {
        self.slack
            .calls("chat.update")
            .into_iter()
            .rev()
            .find(|call| call.body["ts"] == ts)
            .map(|call| call.body)
    }

    async fn wait_update(&self, ts: &str, containing: &str) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(update) = self.latest_update(ts)
                && update.to_string().contains(containing)
            {
                return update;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "card {ts} never showed {containing:?}: {:?}",
                self.latest_update(ts)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn run(&self, run_id: &str) -> Value {
        let (status, run) = self.tenant.admin.get(&format!("/runs/{run_id}")).await;
        assert_eq!(status, StatusCode::OK, "{run}");
        run
    }
}

fn card_run_id(card: &Value) -> String {
    let text = card.to_string();
    let start = text.find("\"value\":\"").expect("the card has buttons") + 9;
    text[start..start + 36].to_owned()
}

fn action_ids(message: &Value) -> Vec<String> {
    message["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|block| block["type"] == "actions")
        .flat_map(|block| block["elements"].as_array().cloned().unwrap_or_default())
        .map(|element| element["action_id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn reason(text: &str) -> Value {
    json!({ "reason": { "value": { "type": "plain_text_input", "value": text } } })
}

fn with(mut values: Value, field: &str, value: &str) -> Value {
    values[field] = json!({ "value": { "type": "plain_text_input", "value": value } });
    values
}

#[tokio::test]
async fn request_approve_escalate_and_expire_without_leaving_slack() {
    for database in test_databases().await {
        let world = World::new(&database, "journey").await;
        world
            .tenant
            .flow_with(
                "db",
                json!({ "channels": "#db-requests" }),
                true,
                json!({ "allow_revoke": true }),
            )
            .await;

        // The bare command opens the flow picker; picking a flow swaps in its form.
        let (status, _) = world
            .sender
            .command("T0ACME", "U0ANN", "C0GENERAL", "")
            .await;
        assert_eq!(status, 200);
        let picker = world.slack.calls("views.open")[0].clone();
        assert_eq!(picker.token.as_deref(), Some("xoxb-acme"));
        assert_eq!(picker.body["trigger_id"], "1337.42.trigger");
        assert_eq!(picker.body["view"]["callback_id"], "assent_pick");
        assert!(picker.body.to_string().contains("\"value\":\"db\""));
        let (status, form) = world
            .sender
            .submit(
                "T0ACME",
                "U0ANN",
                &picker.body["view"],
                json!({ "flow": { "assent_flow": { "type": "static_select",
                    "selected_option": { "text": { "type": "plain_text", "text": "db" }, "value": "db" } } } }),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(form["response_action"], "update", "{form}");
        let form_view = form["view"].clone();
        let blocks: Vec<&str> = form_view["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|block| block["block_id"].as_str().unwrap())
            .collect();
        assert_eq!(blocks, ["reason", "duration", "timeout", "allow_self"]);

        // Submitting sends the card, with buttons, to the plugin's channel.
        let (status, answer) = world
            .sender
            .submit(
                "T0ACME",
                "U0ANN",
                &form_view,
                with(reason("INC-42 needs a look"), "duration", "2s"),
            )
            .await;
        assert_eq!(
            (status, answer["response_action"].as_str()),
            (200, Some("clear")),
            "{answer}"
        );
        let card = world.card_in("#db-requests").await;
        assert_eq!(card.token.as_deref(), Some("xoxb-acme"));
        assert_eq!(action_ids(&card.body), ["assent_approve", "assent_deny"]);
        let text = card.body.to_string();
        assert!(
            text.contains("<@U0ANN>") && text.contains("INC-42 needs a look"),
            "{text}"
        );
        let run_id = card_run_id(&card.body);
        let ts = card.response["ts"].as_str().unwrap().to_owned();
        let run = world.run(&run_id).await;
        assert_eq!(run["status"], "requested");
        assert_eq!(
            run["requester"]["email"],
            format!("ann@{}.test", world.slug)
        );

        // Bob approves: the card shows who, the buttons go, Ann hears of it.
        let (status, _) = world
            .sender
            .click(
                "T0ACME",
                "U0BOB",
                "#db-requests",
                &ts,
                "assent_approve",
                &run_id,
            )
            .await;
        assert_eq!(status, 200);
        world.wait_dm("U0ANN", "was approved by <@U0BOB>").await;
        world.wait_dm("U0ANN", "You now have access").await;
        let escalated = world.wait_update(&ts, "Access granted").await;
        // The flow allows revoking: the escalated card offers Revoke.
        assert_eq!(action_ids(&escalated), ["assent_revoke"]);
        assert_eq!(world.run(&run_id).await["status"], "escalated");

        // At expiry access is taken away, the card says so, Ann is told.
        world.wait_dm("U0ANN", "has ended").await;
        let ended = world.wait_update(&ts, "Access ended").await;
        assert!(action_ids(&ended).is_empty());
        assert_eq!(world.run(&run_id).await["status"], "deescalated");
        world.server.abort();
    }
}

#[tokio::test]
async fn deny_updates_the_card_and_tells_the_requester() {
    let database = sqlite_database();
    let world = World::new(&database, "deny").await;
    world
        .tenant
        .flow("db", json!({ "channels": "#db-requests" }), false)
        .await;
    let run_id = world
        .request("db", reason("quick look"), "#db-requests")
        .await;
    let ts = world.card_ts("#db-requests").await;
    let (status, _) = world
        .sender
        .click(
            "T0ACME",
            "U0BOB",
            "#db-requests",
            &ts,
            "assent_deny",
            &run_id,
        )
        .await;
    assert_eq!(status, 200);
    let denied = world.wait_update(&ts, "Denied").await;
    assert!(denied.to_string().contains("<@U0BOB>"));
    assert!(action_ids(&denied).is_empty());
    world.wait_dm("U0ANN", "was denied by <@U0BOB>").await;
    assert_eq!(world.run(&run_id).await["status"], "denied");

    // The same click again (a double click, a retry) is no second transition.
    let (status, _) = world
        .sender
        .click(
            "T0ACME",
            "U0BOB",
            "#db-requests",
            &ts,
            "assent_deny",
            &run_id,
        )
        .await;
    assert_eq!(status, 200);
    let ephemeral = world.slack.wait_for("chat.postEphemeral", 1, WAIT).await;
    assert!(
        ephemeral[0].body["text"]
            .as_str()
            .unwrap()
            .contains("no longer be approved or denied")
    );
    let (_, audit) = world
        .tenant
        .admin
        .get(&format!("/audit?run_id={run_id}"))
        .await;
    let denials = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "deny")
        .count();
    assert_eq!(denials, 1, "{audit}");
    assert_eq!(
        world
            .dms("U0ANN")
            .iter()
            .filter(|t| t.contains("denied"))
            .count(),
        1
    );
    world.server.abort();
}

#[tokio::test]
async fn concurrent_clicks_take_one_step() {
    let database = sqlite_database();
    let world = World::new(&database, "double").await;
    world
        .tenant
        .flow("db", json!({ "channels": "#db-requests" }), false)
        .await;
    let run_id = world.request("db", reason("twice"), "#db-requests").await;
    let ts = world.card_ts("#db-requests").await;
    let (first, second) = tokio::join!(
        world.sender.click(
            "T0ACME",
            "U0BOB",
            "#db-requests",
            &ts,
            "assent_approve",
            &run_id
        ),
        world.sender.click(
            "T0ACME",
            "U0BOB",
            "#db-requests",
            &ts,
            "assent_approve",
            &run_id
        ),
    );
    assert_eq!((first.0, second.0), (200, 200));
    world.wait_dm("U0ANN", "was approved").await;
    let (_, audit) = world
        .tenant
        .admin
        .get(&format!("/audit?run_id={run_id}"))
        .await;
    let approvals = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "approve")
        .count();
    assert_eq!(approvals, 1, "{audit}");
    assert_eq!(
        world
            .dms("U0ANN")
            .iter()
            .filter(|t| t.contains("approved"))
            .count(),
        1
    );
    world.server.abort();
}

#[tokio::test]
async fn an_ignored_click_is_answered_privately_and_the_request_stays_open() {
    let database = sqlite_database();
    let world = World::new(&database, "ignore").await;
    world
        .tenant
        .flow(
            "db",
            json!({ "channels": "#db-requests", "on_approve": "ignore:Not during the freeze" }),
            false,
        )
        .await;
    let run_id = world.request("db", reason("freeze?"), "#db-requests").await;
    let ts = world.card_ts("#db-requests").await;
    world
        .sender
        .click(
            "T0ACME",
            "U0BOB",
            "#db-requests",
            &ts,
            "assent_approve",
            &run_id,
        )
        .await;
    let ephemeral = world.slack.wait_for("chat.postEphemeral", 1, WAIT).await;
    assert_eq!(ephemeral.len(), 1);
    assert_eq!(ephemeral[0].body["channel"], "#db-requests");
    assert_eq!(ephemeral[0].body["user"], "U0BOB");
    assert_eq!(ephemeral[0].body["text"], "Not during the freeze");
    assert_eq!(world.run(&run_id).await["status"], "requested");
    assert!(
        world.latest_update(&ts).is_none(),
        "the card must stay as it was"
    );
    assert!(world.dms("U0ANN").is_empty());
    world.server.abort();
}

#[tokio::test]
async fn unanswered_requests_move_to_the_next_approvers_then_expire() {
    let database = sqlite_database();
    let world = World::new(&database, "timeout").await;
    world
        .tenant
        .flow(
            "db",
            json!({ "channels": "#first,#second", "timeout_last": "yes" }),
            false,
        )
        .await;
    let run_id = world
        .request(
            "db",
            with(reason("nobody answers"), "timeout", "1"),
            "#first",
        )
        .await;
    let second = world.card_in("#second").await;
    assert_eq!(card_run_id(&second.body), run_id);
    // The last notification goes to people: DMs and a group DM are opened for it.
    let opened = world.slack.wait_for("conversations.open", 1, WAIT).await;
    assert!(
        opened
            .iter()
            .any(|call| call.body["users"].to_string().contains("U1"))
    );
    world.wait_dm("U0ANN", "expired without an answer").await;
    let ts = world.card_ts("#first").await;
    let expired = world.wait_update(&ts, "Expired").await;
    assert!(action_ids(&expired).is_empty());
    assert_eq!(world.run(&run_id).await["status"], "expired");
    world.server.abort();
}

#[tokio::test]
async fn a_destination_that_cannot_be_reached_forwards_at_once() {
    let database = sqlite_database();
    let world = World::new(&database, "failing").await;
    world.slack.fail_channel("#gone");
    // No timeout: only the failed delivery can move the request on.
    world
        .tenant
        .flow("db", json!({ "channels": "#gone,#backup" }), false)
        .await;
    let (status, _) = world
        .sender
        .command("T0ACME", "U0ANN", "C0GENERAL", "req db")
        .await;
    assert_eq!(status, 200);
    let view = world.slack.calls("views.open")[0].body["view"].clone();
    world
        .sender
        .submit("T0ACME", "U0ANN", &view, reason("primary is gone"))
        .await;
    let backup = world.card_in("#backup").await;
    let run_id = card_run_id(&backup.body);
    let (_, audit) = world
        .tenant
        .admin
        .get(&format!("/audit?run_id={run_id}"))
        .await;
    let kinds: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"delivery_failed") && kinds.contains(&"request_forward"),
        "{kinds:?}"
    );
    world.server.abort();
}

#[tokio::test]
async fn forged_stale_and_unsigned_requests_are_refused() {
    let database = sqlite_database();
    let world = World::new(&database, "forged").await;
    world
        .tenant
        .flow("db", json!({ "channels": "#db-requests" }), false)
        .await;

    let mut forged = world.sender.clone();
    forged.secret = "not-the-secret".into();
    let (status, body) = forged
        .command("T0ACME", "U0ANN", "C0GENERAL", "req db")
        .await;
    assert_eq!(status, 401);
    assert!(body.as_str().unwrap().contains("signature"), "{body}");

    let mut stale = world.sender.clone();
    stale.skew = -6 * 60;
    let (status, body) = stale
        .command("T0ACME", "U0ANN", "C0GENERAL", "req db")
        .await;
    assert_eq!(status, 401);
    assert!(body.as_str().unwrap().contains("five minutes"), "{body}");

    let unsigned = reqwest::Client::new()
        .post(format!("http://{}/slack/interactions", world.server.addr))
        .body("payload={}")
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    assert!(world.slack.calls("views.open").is_empty());
    assert!(world.slack.calls("users.info").is_empty());
    world.server.abort();
}

#[tokio::test]
async fn an_unknown_workspace_gets_a_friendly_reply_and_nothing_else() {
    let database = sqlite_database();
    let world = World::new(&database, "unknown").await;
    world
        .tenant
        .flow("db", json!({ "channels": "#db-requests" }), false)
        .await;
    let (status, reply) = world
        .sender
        .command("T0STRANGER", "U0ANN", "C0GENERAL", "req db")
        .await;
    assert_eq!(status, 200);
    assert_eq!(reply["response_type"], "ephemeral");
    assert!(
        reply["text"]
            .as_str()
            .unwrap()
            .contains("not connected to Assent"),
        "{reply}"
    );
    assert!(
        world
            .slack
            .all_calls()
            .iter()
            .all(|call| call.method == "oauth.v2.access")
    );
    world.server.abort();
}

#[tokio::test]
async fn workspaces_see_only_their_own_organisation() {
    let database = sqlite_database();
    let world = World::new(&database, "first").await;
    world
        .tenant
        .flow("first-db", json!({ "channels": "#first-db" }), false)
        .await;
    let other = tenant(&world.server, "second").await;
    install(
        &world.server,
        &world.slack,
        &other,
        "T0OTHER",
        "xoxb-other",
        &["second.test"],
    )
    .await;
    other
        .flow("second-db", json!({ "channels": "#second-db" }), false)
        .await;
    world.slack.add_user("U0SECOND", "ann@second.test", "ann2");

    // A flow of the first organisation is unknown in the second workspace.
    let (_, reply) = world
        .sender
        .command("T0OTHER", "U0SECOND", "C0X", "req first-db")
        .await;
    assert!(
        reply["text"]
            .as_str()
            .unwrap()
            .contains("There is no flow `first-db`"),
        "{reply}"
    );
    assert!(!reply.to_string().contains("first-db`,"));
    // Its own flow works, with its own bot token.
    let (status, _) = world.sender.command("T0OTHER", "U0SECOND", "C0X", "").await;
    assert_eq!(status, 200);
    let picker = world.slack.calls("views.open").pop().unwrap();
    assert_eq!(picker.token.as_deref(), Some("xoxb-other"));
    let text = picker.body.to_string();
    assert!(
        text.contains("second-db") && !text.contains("first-db"),
        "{text}"
    );
    // The same Slack workspace cannot be taken over by another organisation.
    let (status, start) = other.admin.post("/slack/install", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let url = reqwest::Url::parse(start["url"].as_str().unwrap()).unwrap();
    let state: String = url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    world
        .slack
        .on_install("steal", "T0ACME", "Acme", "xoxb-stolen");
    let page = reqwest::Client::new()
        .get(format!("http://{}/slack/oauth/callback", world.server.addr))
        .query(&[("code", "steal"), ("state", state.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    // A forged state is refused before Slack is asked anything.
    let page = reqwest::Client::new()
        .get(format!("http://{}/slack/oauth/callback", world.server.addr))
        .query(&[("code", "steal"), ("state", "00ff")])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    assert!(page.text().await.unwrap().contains("not valid"));
    world.server.abort();
}

#[tokio::test]
async fn people_are_matched_by_email_and_the_organisation_domains() {
    let database = sqlite_database();
    let world = World::new(&database, "people").await;
    world
        .slack
        .add_user("U0NEW", "newcomer@people.test", "newcomer");
    world
        .slack
        .add_user("U0OUT", "visitor@elsewhere.test", "visitor");

    let (_, known) = world
        .sender
        .command("T0ACME", "U0ANN", "C0", "whoami")
        .await;
    assert_eq!(
        known["text"],
        "You are *ann@people.test* (member) in Assent."
    );
    let (_, new) = world
        .sender
        .command("T0ACME", "U0NEW", "C0", "whoami")
        .await;
    assert_eq!(
        new["text"],
        "You are *newcomer@people.test* (member) in Assent."
    );
    let (_, users) = world.tenant.admin.get("/users").await;
    let newcomer = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "newcomer@people.test")
        .unwrap();
    assert_eq!(newcomer["identities"][0]["external_id"], "U0NEW");
    let (_, outsider) = world.sender.command("T0ACME", "U0OUT", "C0", "req").await;
    assert!(
        outsider["text"]
            .as_str()
            .unwrap()
            .contains("`visitor@elsewhere.test` is not an Assent user"),
        "{outsider}"
    );
    assert!(world.slack.calls("views.open").is_empty());
    // A Slack user is looked up once, then remembered.
    world
        .sender
        .command("T0ACME", "U0ANN", "C0", "whoami")
        .await;
    let lookups = world
        .slack
        .calls("users.info")
        .iter()
        .filter(|c| c.body["user"] == "U0ANN")
        .count();
    assert_eq!(lookups, 1);

    let (_, help) = world.sender.command("T0ACME", "U0ANN", "C0", "help").await;
    assert!(
        help["text"]
            .as_str()
            .unwrap()
            .contains("/assent req <flow>")
    );
    let (_, unknown) = world
        .sender
        .command("T0ACME", "U0ANN", "C0", "grant me")
        .await;
    assert!(
        unknown["text"]
            .as_str()
            .unwrap()
            .starts_with("I don't know `grant`")
    );
    world.server.abort();
}

#[tokio::test]
async fn invalid_inputs_are_shown_in_the_modal() {
    let database = sqlite_database();
    let world = World::new(&database, "invalid").await;
    world
        .tenant
        .flow("db", json!({ "channels": "#db-requests" }), false)
        .await;
    world
        .sender
        .command("T0ACME", "U0ANN", "C0", "req db")
        .await;
    let view = world.slack.calls("views.open")[0].body["view"].clone();
    let (status, answer) = world
        .sender
        .submit(
            "T0ACME",
            "U0ANN",
            &view,
            with(reason("x"), "duration", "soon"),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(answer["response_action"], "errors", "{answer}");
    assert!(
        answer["errors"]["duration"]
            .as_str()
            .unwrap()
            .contains("is not a duration"),
        "{answer}"
    );
    assert!(world.slack.calls("chat.postMessage").is_empty());
    let (_, runs) = world.tenant.admin.get("/runs").await;
    assert_eq!(runs.as_array().map(Vec::len), Some(0), "{runs}");
    world.server.abort();
}

#[tokio::test]
async fn plugin_errors_go_to_the_error_logger_in_the_authors_words() {
    let database = sqlite_database();
    let world = World::new(&database, "errors").await;
    let (status, body) = world
        .tenant
        .admin
        .put(
            "/environments/main",
            json!({ "error_logger": "#assent-errors" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    world
        .tenant
        .flow(
            "db",
            json!({ "channels": "#db-requests", "fail": "get_request_notifications" }),
            false,
        )
        .await;
    world
        .sender
        .command("T0ACME", "U0ANN", "C0", "req db")
        .await;
    let view = world.slack.calls("views.open")[0].body["view"].clone();
    let (_, answer) = world
        .sender
        .submit("T0ACME", "U0ANN", &view, reason("boom"))
        .await;
    // The requester is told in the modal; the details go to the error logger.
    assert_eq!(answer["response_action"], "errors", "{answer}");
    assert!(
        answer["errors"]["reason"]
            .as_str()
            .unwrap()
            .contains("admins"),
        "{answer}"
    );
    let report = world.card_in("#assent-errors").await;
    let text = report.body.to_string();
    assert!(
        text.contains("ValueError") && text.contains("get_request_notifications was told to fail"),
        "{text}"
    );
    assert!(text.contains("*db*"), "{text}");
    world.server.abort();
}

#[tokio::test]
async fn install_links_need_a_slack_app_and_real_domains() {
    let database = sqlite_database();
    let plain = support::start(&database).await;
    let without = tenant(&plain, "noslack").await;
    let (status, body) = without.admin.post("/slack/install", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "slack_not_configured", "{body}");
    plain.abort();

    let world = World::new(&sqlite_database(), "domains").await;
    let (status, body) = world
        .tenant
        .admin
        .post("/slack/install", json!({ "domains": ["not a domain"] }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`not a domain` is not an email domain"),
        "{body}"
    );
    // Members may not connect workspaces.
    let (status, _) = world.tenant.member.post("/slack/install", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    world.server.abort();
}

#[tokio::test]
async fn revoke_ends_access_early_from_the_card() {
    let database = sqlite_database();
    let world = World::new(&database, "revoke").await;
    world
        .tenant
        .flow_with(
            "db",
            json!({ "channels": "#db-requests" }),
            true,
            json!({ "allow_revoke": true }),
        )
        .await;
    let run_id = world
        .request(
            "db",
            with(reason("long job"), "duration", "1h"),
            "#db-requests",
        )
        .await;
    let ts = world.card_ts("#db-requests").await;
    world
        .sender
        .click(
            "T0ACME",
            "U0BOB",
            "#db-requests",
            &ts,
            "assent_approve",
            &run_id,
        )
        .await;
    let granted = world.wait_update(&ts, "Access granted").await;
    assert_eq!(action_ids(&granted), ["assent_revoke"]);
    let (status, _) = world
        .sender
        .click(
            "T0ACME",
            "U0ADMIN",
            "#db-requests",
            &ts,
            "assent_revoke",
            &run_id,
        )
        .await;
    assert_eq!(status, 200);
    world.wait_dm("U0ANN", "has ended by <@U0ADMIN>").await;
    let ended = world.wait_update(&ts, "Access ended").await;
    assert!(ended.to_string().contains("<@U0ADMIN>"));
    assert!(action_ids(&ended).is_empty());
    assert_eq!(world.run(&run_id).await["status"], "deescalated");
    world.server.abort();
}
