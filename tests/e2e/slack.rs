//! The Slack app end to end: a real server (SQLite, and PostgreSQL when `DATABASE_URL` is
//! set) with its Slack client pointed at a fake Slack Web API, driven by signed payloads as
//! Slack sends them.

mod support;

use std::time::Duration;

use assent_server::{Server, SlackConfig};
use assent_tests::slack::{
    CLIENT_ID, CLIENT_SECRET, FakeSlack, SIGNING_SECRET, SlackSender, connect,
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
        command: "/assent".into(),
    });
    Server::start(config).await.unwrap()
}

/// Connects `tenant`'s organisation to `team` through the OAuth install.
async fn install(
    server: &Server,
    slack: &FakeSlack,
    tenant: &Tenant,
    team: &str,
    token: &str,
    domains: &[&str],
) {
    let base = format!("http://{}", server.addr);
    connect(&base, &tenant.admin, slack, team, token, domains).await;
    // The install link sends Slack back to the configured public URL.
    let (_, start) = tenant.admin.post("/slack/install", json!({})).await;
    assert!(
        start["url"]
            .as_str()
            .unwrap()
            .contains("redirect_uri=https%3A%2F%2Fassent.example.test%2Fslack%2Foauth%2Fcallback"),
        "{start}"
    );
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

/// The sealed `state` of an install link (`POST /slack/install`'s answer).
fn install_state(start: &Value) -> String {
    let url = reqwest::Url::parse(start["url"].as_str().unwrap()).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned()
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
        // Ann hears that it went out.
        world
            .wait_dm("U0ANN", "Your request for *db* was sent for approval.")
            .await;

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
        // One DM per thing that happened, in order.
        let dms = world.dms("U0ANN");
        let said = |text: &str| dms.iter().position(|dm| dm.contains(text));
        let order = [
            "sent for approval",
            "was approved",
            "now have access",
            "has ended",
        ];
        assert_eq!(dms.len(), order.len(), "{dms:?}");
        assert!(order.iter().map(|text| said(text)).is_sorted(), "{dms:?}");
        assert!(order.iter().all(|text| said(text).is_some()), "{dms:?}");
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
    // Ann heard that her request went out, and nothing since.
    let dms = world.dms("U0ANN");
    assert_eq!(dms.len(), 1, "{dms:?}");
    assert!(dms[0].contains("was sent for approval"), "{dms:?}");
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
    // The last notification goes to people: DMs and a group DM are opened for it (after
    // the requester's own DM, opened when the first card went out): the requester's DM
    // again, then the group DM with U1 — three opens before the assertion can hold.
    let opened = world.slack.wait_for("conversations.open", 3, WAIT).await;
    assert!(
        opened
            .iter()
            .any(|call| call.body["users"].to_string().contains("U1"))
    );
    world.wait_dm("U0ANN", "expired without an answer").await;
    // Forwarding is not news to the requester: one "sent" DM, for the first card.
    let sent = world.dms("U0ANN");
    let sent: Vec<_> = sent
        .iter()
        .filter(|t| t.contains("sent for approval"))
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
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

    // Signed (so it reaches the age check) with a timestamp no clock shows: refused as
    // stale, where the age's arithmetic used to overflow and take the request down.
    let mut ancient = world.sender.clone();
    ancient.skew = i64::MIN;
    let (status, body) = ancient
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
    let state = install_state(&start);
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

#[tokio::test]
async fn clicks_that_change_nothing_say_why_to_the_clicker_alone() {
    let database = sqlite_database();
    let world = World::new(&database, "refuse").await;
    world
        .slack
        .add_user("U0OUT", "visitor@elsewhere.test", "visitor");
    // Ann may approve, but not her own request; Bob may not approve at all.
    world
        .tenant
        .flow(
            "db",
            json!({ "channels": "#db-requests", "approve_deny": "ann@refuse.test" }),
            false,
        )
        .await;
    let run_id = world.request("db", reason("peek"), "#db-requests").await;
    let ts = world.card_ts("#db-requests").await;
    let click = |user: &'static str, action: &'static str| {
        let (ts, run_id) = (ts.clone(), run_id.clone());
        let world = &world;
        async move {
            let (status, _) = world
                .sender
                .click("T0ACME", user, "#db-requests", &ts, action, &run_id)
                .await;
            assert_eq!(status, 200);
        }
    };
    let refusals = [
        (
            "U0BOB",
            "assent_approve",
            "You can't do that: `bob@refuse.test` may not approve or deny this request.",
        ),
        (
            "U0BOB",
            "assent_deny",
            "You can't do that: `bob@refuse.test` may not approve or deny this request.",
        ),
        (
            "U0ANN",
            "assent_approve",
            "You can't do that: you may not approve your own request; this flow does not allow self-approval.",
        ),
        (
            "U0OUT",
            "assent_approve",
            "`visitor@elsewhere.test` is not an Assent user of this organisation, and its domain is not one the organisation accepts. Ask an Assent admin to add you.",
        ),
    ];
    for (n, (user, action, expected)) in refusals.into_iter().enumerate() {
        click(user, action).await;
        let told = world
            .slack
            .wait_for("chat.postEphemeral", n + 1, WAIT)
            .await;
        assert_eq!(told.len(), n + 1, "{user} was not told why");
        let answer = &told[n].body;
        assert_eq!(answer["channel"], "#db-requests");
        assert_eq!(answer["user"], user);
        assert_eq!(answer["text"], expected);
    }
    // None of it moved the request or touched its card.
    assert_eq!(world.run(&run_id).await["status"], "requested");
    assert!(world.latest_update(&ts).is_none());

    // The admin approves; a late deny is told the request is decided.
    click("U0ADMIN", "assent_approve").await;
    world.wait_update(&ts, "approved by <@U0ADMIN>").await;
    // Without a strategy, approval grants access at once.
    assert_eq!(world.run(&run_id).await["status"], "escalated");
    click("U0ANN", "assent_deny").await;
    let told = world.slack.wait_for("chat.postEphemeral", 5, WAIT).await;
    assert_eq!(
        told[4].body["text"],
        "Nothing to do: the request is escalated, so it can no longer be approved or denied."
    );
    assert_eq!(told[4].body["user"], "U0ANN");
    assert_eq!(world.run(&run_id).await["status"], "escalated");
    world.server.abort();
}

#[tokio::test]
async fn requesters_from_the_api_are_found_in_slack_by_email() {
    let database = sqlite_database();
    let world = World::new(&database, "apiuser").await;
    world
        .tenant
        .flow("db", json!({ "channels": "#db-requests" }), false)
        .await;
    // Ann asks through the API: Assent has never seen her in Slack.
    let requested = world
        .tenant
        .request("db", json!({ "reason": "from a script" }))
        .await;
    let run_id = requested["run"]["id"].as_str().unwrap().to_owned();
    let card = world.card_in("#db-requests").await;
    assert!(
        card.body.to_string().contains("*Requester:* <@U0ANN>"),
        "the card mentions her: {}",
        card.body
    );
    let (status, _) = world
        .tenant
        .admin
        .post(&format!("/runs/{run_id}/approve"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    world.wait_dm("U0ANN", "approved").await;
    // Found once by email, then remembered on her user.
    let lookups = world.slack.calls("users.lookupByEmail");
    assert_eq!(lookups.len(), 1, "{lookups:?}");
    assert_eq!(lookups[0].body["email"], "ann@apiuser.test");
    let (_, users) = world.tenant.admin.get("/users").await;
    let ann = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "ann@apiuser.test")
        .unwrap()
        .clone();
    assert_eq!(ann["identities"][0]["external_id"], "U0ANN", "{ann}");

    // Someone Slack does not know by email still gets the card in the channel, no DM.
    let (status, _) = world
        .tenant
        .admin
        .put("/users/carol@apiuser.test", json!({ "role": "member" }))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, token) = world
        .tenant
        .admin
        .post(
            "/tokens",
            json!({ "email": "carol@apiuser.test", "name": "tests" }),
        )
        .await;
    let carol = world
        .tenant
        .admin
        .with_token(token["token"].as_str().unwrap());
    let cards = world.slack.calls("chat.postMessage").len();
    let (status, body) = carol
        .post(
            "/events/request",
            json!({ "flow": "db", "flow_inputs": { "reason": "no slack" } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let posted = world
        .slack
        .wait_for("chat.postMessage", cards + 1, WAIT)
        .await;
    assert!(
        posted
            .last()
            .unwrap()
            .body
            .to_string()
            .contains("*Requester:* carol@apiuser.test")
    );
    world.server.abort();
}

#[tokio::test]
async fn uninstalling_the_app_disconnects_the_workspace() {
    let database = sqlite_database();
    let world = World::new(&database, "uninstall").await;
    world
        .tenant
        .flow("db", json!({ "channels": "#db-requests" }), false)
        .await;
    let (_, before) = world
        .sender
        .command("T0ACME", "U0ANN", "C0", "whoami")
        .await;
    assert_eq!(
        before["text"],
        "You are *ann@uninstall.test* (member) in Assent."
    );

    // Slack checks the events URL once when it is configured.
    let (status, challenge) = world
        .sender
        .send_json(
            "/slack/events",
            &json!({ "type": "url_verification", "token": "x", "challenge": "c4ll3ng3" }),
        )
        .await;
    assert_eq!(
        (status, challenge),
        (200, json!({ "challenge": "c4ll3ng3" }))
    );

    // A person revoking their own token leaves the bot in place.
    let (status, _) = world
        .sender
        .event(
            "T0ACME",
            json!({ "type": "tokens_revoked", "tokens": { "oauth": ["U0ANN"] } }),
        )
        .await;
    assert_eq!(status, 200);
    let (_, still) = world
        .sender
        .command("T0ACME", "U0ANN", "C0", "whoami")
        .await;
    assert_eq!(still["text"], before["text"]);

    // A forged uninstall is refused and changes nothing.
    let mut forger = world.sender.clone();
    forger.secret = "not-the-secret".into();
    let (status, _) = forger
        .event("T0ACME", json!({ "type": "app_uninstalled" }))
        .await;
    assert_eq!(status, 401);

    let (status, _) = world
        .sender
        .event("T0ACME", json!({ "type": "app_uninstalled" }))
        .await;
    assert_eq!(status, 200);
    let calls = world.slack.all_calls().len();
    let (_, after) = world
        .sender
        .command("T0ACME", "U0ANN", "C0", "req db")
        .await;
    assert!(
        after["text"]
            .as_str()
            .unwrap()
            .starts_with("This Slack workspace is not connected to Assent"),
        "{after}"
    );
    // Requests still work through the API; nothing is posted to a workspace that is gone.
    let requested = world
        .tenant
        .request("db", json!({ "reason": "slack is gone" }))
        .await;
    let run_id = requested["run"]["id"].as_str().unwrap();
    let (status, _) = world
        .tenant
        .admin
        .post(&format!("/runs/{run_id}/approve"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        world.slack.all_calls().len(),
        calls,
        "{:#?}",
        world.slack.all_calls()
    );
    let (_, audit) = world.tenant.admin.get("/audit").await;
    let kinds: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .filter(|kind| kind.starts_with("slack."))
        .collect();
    assert_eq!(kinds, ["slack.connected", "slack.disconnected"], "{audit}");
    let disconnected = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "slack.disconnected")
        .unwrap();
    assert_eq!(disconnected["data"]["team_id"], "T0ACME");
    assert_eq!(
        disconnected["data"]["why"],
        "the app was uninstalled from the workspace"
    );

    // Installing it again reconnects it; people are matched afresh.
    install(
        &world.server,
        &world.slack,
        &world.tenant,
        "T0ACME",
        "xoxb-acme-2",
        &["uninstall.test"],
    )
    .await;
    let (_, again) = world
        .sender
        .command("T0ACME", "U0ANN", "C0", "whoami")
        .await;
    assert_eq!(again["text"], before["text"]);
    let info = world.slack.calls("users.info");
    assert_eq!(info.last().unwrap().token.as_deref(), Some("xoxb-acme-2"));
    world.server.abort();
}

/// The flow's `on_prompt` hook decides which flows a person is offered: the picker lists only
/// those, and `req <flow>` for a withheld one answers with the hook's words and opens nothing.
#[tokio::test]
async fn people_are_offered_only_the_flows_their_prompt_hook_allows() {
    let database = sqlite_database();
    let world = World::new(&database, "offer").await;
    let (status, body) = world
        .tenant
        .admin
        .put(
            "/environments/main",
            json!({ "error_logger": "#assent-errors" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let flows = [
        ("prod-db", json!({ "channels": "#access" })),
        (
            "break-glass",
            json!({ "channels": "#access", "requesters": "bob@offer.test" }),
        ),
        (
            "payroll",
            json!({ "channels": "#access", "on_prompt": "deny:Payroll access is requested from HR." }),
        ),
        (
            "broken",
            json!({ "channels": "#access", "fail": "on_prompt" }),
        ),
    ];
    for (name, vars) in flows {
        world.tenant.flow(name, vars, false).await;
    }
    // Requested through the API only (`allowed_sources`): never offered in Slack.
    world
        .tenant
        .flow_with(
            "api-only",
            json!({ "channels": "#access" }),
            false,
            json!({ "allowed_sources": ["api"] }),
        )
        .await;
    let offered_to = |user: &'static str| {
        let world = &world;
        async move {
            let (status, reply) = world
                .sender
                .command("T0ACME", user, "C0GENERAL", "req")
                .await;
            assert_eq!(status, 200, "{reply}");
            let picker = world.slack.calls("views.open").pop().unwrap();
            assert_eq!(picker.body["view"]["callback_id"], "assent_pick");
            picker.body["view"]["blocks"][0]["element"]["options"]
                .as_array()
                .unwrap()
                .iter()
                .map(|option| option["value"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(offered_to("U0ANN").await, ["prod-db"]);
    assert_eq!(offered_to("U0BOB").await, ["break-glass", "prod-db"]);

    // Asking for a withheld flow by name: the hook's own words, or a plain refusal.
    let opened = world.slack.calls("views.open").len();
    let reply_to = |text: &'static str| {
        let world = &world;
        async move {
            let (status, reply) = world
                .sender
                .command("T0ACME", "U0ANN", "C0GENERAL", text)
                .await;
            assert_eq!(status, 200, "{reply}");
            assert_eq!(reply["response_type"], "ephemeral", "{reply}");
            reply["text"].as_str().unwrap().to_owned()
        }
    };
    assert_eq!(
        reply_to("req break-glass").await,
        "break-glass is for bob@offer.test, not ann@offer.test."
    );
    assert_eq!(
        reply_to("req payroll").await,
        "Payroll access is requested from HR."
    );
    assert_eq!(
        reply_to("req api-only").await,
        "flow `api-only` cannot be requested from `slack`; its `allowed_sources` param allows `api`"
    );
    let broken = reply_to("req broken").await;
    assert!(
        broken.starts_with("The request form for `broken` could not be opened:")
            && broken.contains("on_prompt was told to fail")
            && broken.ends_with("An Assent admin can fix the flow."),
        "{broken}"
    );
    assert_eq!(
        reply_to("req nope").await,
        "There is no flow `nope`. You can request: `prod-db`."
    );
    assert_eq!(world.slack.calls("views.open").len(), opened);
    // The failing hook was asked four times (two pickers, `req broken`, `req nope`), and
    // each failure reached the error logger in the author's words, with no run to name.
    let reports: Vec<Value> = world
        .slack
        .calls("chat.postMessage")
        .into_iter()
        .filter(|call| call.body["channel"] == "#assent-errors")
        .map(|call| call.body)
        .collect();
    assert_eq!(reports.len(), 4, "{reports:#?}");
    let report = reports[0].to_string();
    assert!(
        report.contains("`on_prompt` failed in flow *broken* during `prompt`")
            && report.contains("on_prompt was told to fail")
            && report.contains("No run yet"),
        "{report}"
    );

    // An offered flow opens its form straight away.
    world.request("prod-db", reason("deploy"), "#access").await;
    world.server.abort();
}

/// An organisation connected to two workspaces: a request's card, its updates and the
/// requester's DMs stay in the workspace it was made in (with that workspace's bot token);
/// requests through the API go to the first workspace connected.
#[tokio::test]
async fn each_request_stays_in_the_workspace_it_was_made_in() {
    let database = sqlite_database();
    let world = World::new(&database, "twin").await;
    install(
        &world.server,
        &world.slack,
        &world.tenant,
        "T0BRANCH",
        "xoxb-branch",
        &["twin.test"],
    )
    .await;
    world.slack.add_user("U0CARL", "carl@twin.test", "carl");
    world
        .tenant
        .flow("db", json!({ "channels": "#db-requests" }), false)
        .await;
    let tokens = |method: &str| -> Vec<String> {
        world
            .slack
            .calls(method)
            .into_iter()
            .filter_map(|call| call.token)
            .collect()
    };

    // Carl requests from the branch workspace; Bob approves there.
    let (status, reply) = world
        .sender
        .command("T0BRANCH", "U0CARL", "C0BRANCH", "req db")
        .await;
    assert_eq!(status, 200, "{reply}");
    let form = world.slack.calls("views.open").pop().unwrap();
    assert_eq!(form.token.as_deref(), Some("xoxb-branch"));
    let (status, answer) = world
        .sender
        .submit(
            "T0BRANCH",
            "U0CARL",
            &form.body["view"],
            reason("branch work"),
        )
        .await;
    assert_eq!((status, &answer["response_action"]), (200, &json!("clear")));
    let card = world.card_in("#db-requests").await;
    assert_eq!(card.token.as_deref(), Some("xoxb-branch"));
    let run_id = card_run_id(&card.body);
    let ts = card.response["ts"].as_str().unwrap().to_owned();
    world
        .sender
        .click(
            "T0BRANCH",
            "U0BOB",
            "#db-requests",
            &ts,
            "assent_approve",
            &run_id,
        )
        .await;
    world.wait_update(&ts, "<@U0BOB>").await;
    world.wait_dm("U0CARL", "approved").await;
    assert!(
        ["chat.postMessage", "chat.update", "conversations.open"]
            .iter()
            .flat_map(|method| tokens(method))
            .all(|token| token == "xoxb-branch"),
        "{:#?}",
        world.slack.all_calls()
    );

    // A request through the API goes to the first workspace connected.
    let (status, requested) = world
        .tenant
        .admin
        .post(
            "/events/request",
            json!({ "flow": "db", "flow_inputs": { "reason": "from a script" } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{requested}");
    let card = world.card_in("#db-requests").await;
    assert_eq!(
        card_run_id(&card.body),
        requested["run"]["id"].as_str().unwrap()
    );
    assert_eq!(card.token.as_deref(), Some("xoxb-acme"));
    world.server.abort();
}

/// Slack down for a moment while a decision is being told: the card update and the
/// requester's DM are not lost, they go out when the notice is retried — once each.
#[tokio::test]
async fn card_updates_and_dms_survive_a_slack_outage() {
    let database = sqlite_database();
    let world = World::new(&database, "outage").await;
    world
        .tenant
        .flow("db", json!({ "channels": "#db-requests" }), false)
        .await;
    let run_id = world
        .request("db", reason("during an outage"), "#db-requests")
        .await;
    world.wait_dm("U0ANN", "was sent for approval").await;
    let ts = world.card_ts("#db-requests").await;

    world.slack.outage("chat.update", 1);
    world.slack.outage("conversations.open", 2);
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
    world.wait_update(&ts, "Access granted").await;
    assert_eq!(world.run(&run_id).await["status"], "escalated");
    // Slack really was down for those calls, and nothing was said twice.
    assert_eq!(world.slack.calls("chat.update (unavailable)").len(), 1);
    assert_eq!(
        world.slack.calls("conversations.open (unavailable)").len(),
        2
    );
    let dms = world.dms("U0ANN");
    for said in ["sent for approval", "was approved", "now have access"] {
        let times = dms.iter().filter(|dm| dm.contains(said)).count();
        assert_eq!(times, 1, "{said:?} in {dms:?}");
    }
    world.server.abort();
}

/// An install link connects one workspace, once: replaying its `state` with another code
/// (someone who saw the link connecting their own workspace) is refused, on both databases.
#[tokio::test]
async fn an_install_link_works_once() {
    for database in test_databases().await {
        let slack = FakeSlack::start().await;
        let server = start_with_slack(&database, &slack).await;
        let acme = tenant(&server, "acme").await;
        let (_, start) = acme.admin.post("/slack/install", json!({})).await;
        let state = install_state(&start);
        let callback = format!("http://{}/slack/oauth/callback", server.addr);
        slack.on_install("first", "T0ACME", "Acme", "xoxb-acme");
        slack.on_install("again", "T0EVIL", "Evil", "xoxb-evil");
        let page = reqwest::Client::new()
            .get(&callback)
            .query(&[("code", "first"), ("state", state.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK, "{}", database.kind);
        let page = reqwest::Client::new()
            .get(&callback)
            .query(&[("code", "again"), ("state", state.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::BAD_REQUEST, "{}", database.kind);
        assert!(page.text().await.unwrap().contains("already used"));
        let (_, audit) = acme.admin.get("/audit").await;
        let connected: Vec<&Value> = audit["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "slack.connected")
            .collect();
        assert_eq!(connected.len(), 1, "{connected:?}");
        assert_eq!(connected[0]["data"]["team_id"], "T0ACME");
        server.abort();
    }
}

/// A decision that lands while the request's card is still being posted (the approver saw
/// it at once; Slack had not answered the post yet) still shows on the card.
#[tokio::test]
async fn a_denial_while_the_card_is_posted_still_updates_it() {
    for database in test_databases().await {
        let world = World::new(&database, "race").await;
        world
            .tenant
            .flow("db", json!({ "channels": "#db-race" }), false)
            .await;
        world.slack.slow("chat.postMessage", Duration::from_secs(1));
        let member = world.tenant.member.clone();
        let requested = tokio::spawn(async move {
            member
                .post(
                    "/events/request",
                    json!({ "flow": "db", "flow_inputs": { "reason": "race" } }),
                )
                .await
        });
        let card = world.card_in("#db-race").await;
        let run_id = card_run_id(&card.body);
        let ts = card.response["ts"].as_str().unwrap().to_owned();
        let (status, denied) = world
            .tenant
            .admin
            .post(&format!("/runs/{run_id}/deny"), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{denied}");
        assert_eq!(requested.await.unwrap().0, StatusCode::CREATED);
        let updated = world.wait_update(&ts, "Denied").await;
        assert!(
            !action_ids(&updated).contains(&"assent_approve".to_owned()),
            "{}: {updated}",
            database.kind
        );
        world.server.abort();
    }
}

fn selected(value: &str) -> Value {
    json!({ "value": { "type": "static_select",
        "selected_option": { "text": { "type": "plain_text", "text": value }, "value": value } } })
}

fn block_ids(view: &Value) -> Vec<&str> {
    view["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|block| block["block_id"].as_str())
        .collect()
}

/// The modal as Sym shows it: "Loading…" while the flow's plugin fetches a field's choices,
/// then the form; a change to a field the plugin's `on_change` answers updates the modal
/// (`views.update`); the submission is held to the form it showed. The flows filter decides
/// what the picker lists.
#[tokio::test]
async fn the_modal_loads_choices_and_changes_as_it_is_filled_in() {
    let database = sqlite_database();
    let world = World::new(&database, "forms").await;
    let (status, body) = world
        .tenant
        .admin
        .put(
            "/flows/teams",
            json!({
                "label": "Team access",
                "vars": { "channels": "#access", "team_options": "db:Databases,web:Web" },
                "fields": [
                    { "name": "team", "type": "string", "required": true, "prefetch": true },
                    { "name": "reason", "type": "string", "visible": false },
                ],
                "params": { "additional_header_text": "*Ask for the least you need.*" },
                "plugin": world.tenant.echo,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let (status, reply) = world
        .sender
        .command("T0ACME", "U0ANN", "C0GENERAL", "req teams")
        .await;
    assert_eq!(status, 200, "{reply}");
    let opened = world.slack.calls("views.open");
    assert_eq!(opened.len(), 1, "{reply}");
    assert!(
        opened[0].body["view"].to_string().contains("Loading…"),
        "{:#}",
        opened[0].body
    );
    let updates = world.slack.wait_for("views.update", 1, WAIT).await;
    assert_eq!(updates.len(), 1, "{:#?}", world.slack.all_calls());
    assert_eq!(updates[0].body["view_id"], "V0FAKE");
    let form = updates[0].body["view"].clone();
    assert_eq!(form["callback_id"], "assent_request");
    assert_eq!(
        form["blocks"][0]["text"]["text"],
        "*Ask for the least you need.*"
    );
    assert_eq!(block_ids(&form), ["team"], "{form:#}");
    let team = &form["blocks"][1];
    assert_eq!(team["dispatch_action"], true);
    let labels: Vec<&str> = team["element"]["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|option| option["text"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["Databases", "Web"]);

    // Choosing `db` shows `reason`, required.
    let (status, _) = world
        .sender
        .change(
            "T0ACME",
            "U0ANN",
            &form,
            "team",
            json!({ "team": selected("db") }),
        )
        .await;
    assert_eq!(status, 200);
    let updates = world.slack.wait_for("views.update", 2, WAIT).await;
    assert_eq!(updates.len(), 2, "{:#?}", world.slack.all_calls());
    let changed = updates[1].body["view"].clone();
    assert_eq!(block_ids(&changed), ["team", "reason"], "{changed:#}");
    assert_eq!(changed["blocks"][2]["optional"], false);

    // Submitted without a reason: the error goes beside it.
    let (status, answer) = world
        .sender
        .submit(
            "T0ACME",
            "U0ANN",
            &changed,
            json!({ "team": selected("db") }),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(answer["response_action"], "errors", "{answer}");
    assert_eq!(answer["errors"]["reason"], "Reason is required");
    let mut values = json!({ "team": selected("db") });
    values["reason"] = reason("schema migration")["reason"].clone();
    let (status, answer) = world
        .sender
        .submit("T0ACME", "U0ANN", &changed, values)
        .await;
    assert_eq!(status, 200);
    assert_eq!(answer["response_action"], "clear", "{answer}");
    let card = world.card_in("#access").await;
    assert!(card.body.to_string().contains("schema migration"));

    // A flows filter hides `teams` from Ann's picker, and from `req teams`.
    world
        .tenant
        .flow("prod-db", json!({ "channels": "#access" }), false)
        .await;
    let (status, body) = world
        .tenant
        .admin
        .put(
            "/flows-filter",
            json!({ "plugin": world.tenant.echo, "vars": { "hidden_flows": "teams" } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, reply) = world
        .sender
        .command("T0ACME", "U0ANN", "C0GENERAL", "req")
        .await;
    assert_eq!(status, 200, "{reply}");
    let picker = world.slack.calls("views.open").pop().unwrap();
    assert_eq!(picker.body["view"]["callback_id"], "assent_pick");
    let offered: Vec<&str> = picker.body["view"]["blocks"][0]["element"]["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|option| option["value"].as_str().unwrap())
        .collect();
    assert_eq!(offered, ["prod-db"]);
    let (_, reply) = world
        .sender
        .command("T0ACME", "U0ANN", "C0GENERAL", "req teams")
        .await;
    assert_eq!(reply["text"], "`teams` is not offered to you.", "{reply}");
    world.server.abort();
}

/// `include_decision_message`: Approve on the card opens a form for the approver's message,
/// which reaches the flow's hooks and the card. Slack guests are offered, and may request,
/// only flows with `allow_guest_interaction`.
#[tokio::test]
async fn approvers_add_a_message_and_guests_need_a_flow_that_allows_them() {
    let database = sqlite_database();
    let world = World::new(&database, "decide").await;
    world
        .tenant
        .flow_with(
            "explained",
            json!({ "channels": "#access", "on_approve": "need_message" }),
            false,
            json!({ "include_decision_message": true }),
        )
        .await;
    let run_id = world.request("explained", reason("INC-7"), "#access").await;
    let ts = world.card_ts("#access").await;
    let (status, _) = world
        .sender
        .click("T0ACME", "U0BOB", "#access", &ts, "assent_approve", &run_id)
        .await;
    assert_eq!(status, 200);
    let form = world.slack.calls("views.open").pop().unwrap();
    assert_eq!(form.body["trigger_id"], "1337.43.trigger");
    let form = form.body["view"].clone();
    assert_eq!(form["callback_id"], "assent_decide", "{form:#}");
    assert_eq!(world.run(&run_id).await["status"], "requested");

    // Without a message, this flow's `on_approve` sets the approval aside, in the form.
    let (_, answer) = world
        .sender
        .submit("T0ACME", "U0BOB", &form, json!({}))
        .await;
    assert_eq!(answer["response_action"], "errors", "{answer}");
    assert_eq!(
        answer["errors"]["message"],
        "Say why: this flow needs a message."
    );
    let message = json!({ "message": { "value": { "type": "plain_text_input", "value": "Rollback plan checked." } } });
    let (_, answer) = world.sender.submit("T0ACME", "U0BOB", &form, message).await;
    assert_eq!(answer["response_action"], "clear", "{answer}");
    world.wait_update(&ts, "Rollback plan checked.").await;
    let run = world.run(&run_id).await;
    assert_eq!(run["status"], "escalated", "{run:#}");
    assert_eq!(run["reason"], "Rollback plan checked.");

    // A Slack guest: admitted as a guest, offered only the flow that allows guests.
    world.slack.add_guest("U0GUS", "gus@decide.test", "gus");
    let (_, reply) = world
        .sender
        .command("T0ACME", "U0GUS", "C0GENERAL", "req")
        .await;
    assert_eq!(
        reply["text"], "There are no flows you can request yet; an Assent admin adds them.",
        "{reply}"
    );
    world
        .tenant
        .flow_with(
            "partners",
            json!({ "channels": "#access" }),
            false,
            json!({ "allow_guest_interaction": true }),
        )
        .await;
    let opened = world.slack.calls("views.open").len();
    world
        .sender
        .command("T0ACME", "U0GUS", "C0GENERAL", "req")
        .await;
    let picker = world.slack.wait_for("views.open", opened + 1, WAIT).await;
    let offered: Vec<&str> = picker.last().unwrap().body["view"]["blocks"][0]["element"]["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|option| option["value"].as_str().unwrap())
        .collect();
    assert_eq!(offered, ["partners"]);
    let (_, reply) = world
        .sender
        .command("T0ACME", "U0GUS", "C0GENERAL", "req explained")
        .await;
    assert!(
        reply["text"]
            .as_str()
            .unwrap()
            .starts_with("You cannot request access: guests may not request access with this flow"),
        "{reply}"
    );
    let (_, users) = world.tenant.admin.get("/users").await;
    let gus = users
        .as_array()
        .unwrap()
        .iter()
        .find(|user| user["email"] == "gus@decide.test")
        .expect("the guest was admitted");
    assert_eq!(gus["role"], "guest");
    world.server.abort();
}
