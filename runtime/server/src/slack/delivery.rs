//! Delivers notices to Slack: request cards to each notification's destinations, card
//! updates and DMs when a run moves, plugin errors to the environment's error logger.
//!
//! Deliveries repeat safely: a card already posted for a destination is not posted again,
//! and updates and DMs carry the run's current state.

use assent_engine::{Notice, RunStatus};
use assent_slack::SlackApiError;
use assent_slack::message::{
    CardStatus, Decision, DirectMessage, ErrorReport, Person, RequestCard,
};
use assent_store::{FlowRecord, RunRecord, SlackMessage, SlackWorkspace, Store, StoreError};
use assent_types::{Destination, FieldValue, Step, User};
use futures::future::BoxFuture;

use super::Slack;
use super::people::{slack_id, slack_id_by_email, slack_id_of};
use crate::RuntimeError;
use crate::notify::{Delivery, Notifier};

// A request whose destinations Slack cannot be reached for is retried this many times (with
// the worker's backoff) before it counts as undeliverable and the run moves on.
const UNREACHABLE_ATTEMPTS: i64 = 5;

/// Delivers notices to the organisation's Slack workspace (if it has one).
#[derive(Debug, Clone)]
pub struct SlackNotifier {
    slack: Slack,
    store: Store,
}

impl SlackNotifier {
    pub(crate) fn new(slack: Slack, store: Store) -> SlackNotifier {
        SlackNotifier { slack, store }
    }

    /// Where a run's cards and DMs go: the workspace it was requested in while that is still
    /// connected to the run's organisation, otherwise the organisation's first workspace.
    async fn workspace_for(&self, run: &RunRecord) -> Result<Option<SlackWorkspace>, StoreError> {
        if let Some(team) = &run.body.slack_team {
            let origin = self.store.slack_workspace(team).await?;
            if let Some(workspace) = origin.filter(|found| found.org_id == run.org_id) {
                return Ok(Some(workspace));
            }
        }
        self.store.slack_workspace_of(&run.org_id).await
    }
}

impl Notifier for SlackNotifier {
    fn deliver<'a>(
        &'a self,
        flow: &'a FlowRecord,
        run: &'a RunRecord,
        notice: &'a Notice,
        attempts: i64,
    ) -> BoxFuture<'a, Result<Delivery, RuntimeError>> {
        Box::pin(async move {
            let Some(workspace) = self.workspace_for(run).await? else {
                return Ok(Delivery::Done);
            };
            let Some(token) = self.slack.bot_token(&workspace) else {
                return Ok(Delivery::Done);
            };
            let to = Workspace {
                slack: &self.slack,
                store: &self.store,
                workspace: &workspace,
                token: &token,
            };
            let mut card = card(flow, run);
            if card.requester.slack_id.is_none() {
                // Asked through the API: mention them if Slack knows their email.
                card.requester.slack_id = to.slack_id_of(&run.body.requester).await;
            }
            match notice {
                Notice::Request { notification } => {
                    to.post_request(&card, run, *notification, attempts).await
                }
                Notice::Moved { step } => {
                    // Either failing for want of Slack fails the notice, which is retried
                    // whole: the cards are updated again (no change) and the DM is sent.
                    to.update_cards(&card, run).await?;
                    if let Some(kind) = direct_message(*step) {
                        to.tell_requester(&card, run, kind).await?;
                    }
                    Ok(Delivery::Done)
                }
                Notice::Failed {
                    step,
                    handler,
                    error,
                } => {
                    if run.status == RunStatus::Errored {
                        to.update_cards(&card, run).await?;
                    }
                    to.report_error(flow, run, *step, handler, error).await?;
                    Ok(Delivery::Done)
                }
            }
        })
    }
}

fn direct_message(step: Step) -> Option<DirectMessage> {
    match step {
        Step::Approve => Some(DirectMessage::Approved),
        Step::Deny => Some(DirectMessage::Denied),
        Step::RequestExpire => Some(DirectMessage::Expired),
        Step::Escalate => Some(DirectMessage::Escalated),
        Step::Deescalate => Some(DirectMessage::Deescalated),
        // The request's own message goes with its first card (`post_request`).
        Step::Prompt | Step::Request | Step::RequestForward => None,
    }
}

/// One delivery's view of the workspace.
struct Workspace<'a> {
    slack: &'a Slack,
    store: &'a Store,
    workspace: &'a SlackWorkspace,
    token: &'a str,
}

impl Workspace<'_> {
    /// Posts the card to each destination of the notification not yet posted to.
    async fn post_request(
        &self,
        card: &RequestCard,
        run: &RunRecord,
        notification: u32,
        attempts: i64,
    ) -> Result<Delivery, RuntimeError> {
        let Some(destinations) = run
            .body
            .notifications
            .get(notification as usize)
            .map(|n| &n.destinations)
        else {
            return Ok(Delivery::Done);
        };
        // The run moved on before the card went out (approved by API, say): nothing to ask.
        if run.status != RunStatus::Requested || run.notification != notification {
            return Ok(Delivery::Done);
        }
        let posted = self.store.slack_messages(&run.org_id, &run.id).await?;
        let content = card.content();
        let (mut delivered, mut unreachable) = (0, false);
        let posted_before = posted
            .iter()
            .filter(|m| m.notification == notification)
            .count();
        for destination in destinations {
            let key = serde_json::to_string(destination).unwrap_or_default();
            if posted
                .iter()
                .any(|m| m.notification == notification && m.destination == key)
            {
                delivered += 1;
                continue;
            }
            let result = match self.channel_for(destination).await {
                Ok(channel) => {
                    self.slack
                        .api()
                        .post_message(self.token, &channel, content.clone())
                        .await
                }
                Err(error) => Err(error),
            };
            match result {
                Ok((channel, ts)) => {
                    self.store
                        .record_slack_message(
                            &run.org_id,
                            &run.id,
                            &SlackMessage {
                                notification,
                                destination: key,
                                channel,
                                ts,
                            },
                        )
                        .await?;
                    delivered += 1;
                }
                Err(error) => {
                    tracing::warn!(run = %run.id, destination = %key, %error, "request could not be delivered");
                    unreachable |= matches!(error, SlackApiError::Unreachable { .. });
                }
            }
        }
        // The requester hears once that their request went out: when its first card did
        // (not again on a retried delivery, nor when it is forwarded).
        // Best effort: a retry would find the cards posted and not know whether the DM went.
        if notification == 0 && posted_before == 0 && delivered > 0 {
            let _ = self
                .tell_requester(card, run, DirectMessage::Requested)
                .await;
        }
        if delivered > 0 || destinations.is_empty() {
            Ok(Delivery::Done)
        } else if unreachable && attempts < UNREACHABLE_ATTEMPTS {
            Err(RuntimeError::Unavailable(
                "Slack could not be reached".into(),
            ))
        } else {
            Ok(Delivery::Undeliverable)
        }
    }

    /// The channel to post to: channels as named, DMs and group DMs opened.
    async fn channel_for(&self, destination: &Destination) -> Result<String, SlackApiError> {
        let users = match destination {
            Destination::SlackChannel(channel) => return Ok(channel.clone()),
            Destination::SlackUser(user) | Destination::UserEmail(user) => {
                vec![self.slack_user_of(user).await]
            }
            Destination::SlackGroup(users) => {
                let mut ids = Vec::with_capacity(users.len());
                for user in users {
                    ids.push(self.slack_user_of(user).await);
                }
                ids
            }
            Destination::UserId(id) => {
                let known = self
                    .store
                    .user(&self.workspace.org_id, id)
                    .await
                    .ok()
                    .flatten();
                vec![match known {
                    Some(user) => self.slack_id_of(&user).await.unwrap_or_else(|| id.clone()),
                    None => id.clone(),
                }]
            }
        };
        self.slack.api().open_conversation(self.token, &users).await
    }

    /// A Slack user id for a destination naming a user by id, `@name` or email. Slack
    /// refuses a name it does not know, which makes the destination undeliverable.
    async fn slack_user_of(&self, user: &str) -> String {
        let name = user.trim_start_matches('@');
        if !name.contains('@') {
            return name.to_owned();
        }
        match self.store.user_by_email(&self.workspace.org_id, name).await {
            Ok(Some(known)) => self.slack_id_of(&known).await,
            _ => slack_id_by_email(self.slack, self.token, name).await,
        }
        .unwrap_or_else(|| name.to_owned())
    }

    async fn slack_id_of(&self, user: &User) -> Option<String> {
        slack_id_of(self.slack, self.store, self.workspace, self.token, user).await
    }

    /// Shows the run's state on every card posted for it. A card Slack refuses (deleted,
    /// channel archived) is skipped; if Slack could not be reached the notice is retried,
    /// and updating the cards already updated again changes nothing.
    async fn update_cards(&self, card: &RequestCard, run: &RunRecord) -> Result<(), RuntimeError> {
        let content = card.content();
        let mut unreachable = None;
        for message in self.store.slack_messages(&run.org_id, &run.id).await? {
            if let Err(error) = self
                .slack
                .api()
                .update_message(self.token, &message.channel, &message.ts, content.clone())
                .await
            {
                tracing::warn!(run = %run.id, channel = %message.channel, %error, "request card could not be updated");
                if matches!(error, SlackApiError::Unreachable { .. }) {
                    unreachable = Some(error);
                }
            }
        }
        match unreachable {
            Some(error) => Err(RuntimeError::Unavailable(error.to_string())),
            None => Ok(()),
        }
    }

    /// DMs the requester. Someone Slack will not DM is skipped; if Slack could not be
    /// reached, the error says so and the caller decides whether to retry.
    async fn tell_requester(
        &self,
        card: &RequestCard,
        run: &RunRecord,
        kind: DirectMessage,
    ) -> Result<(), RuntimeError> {
        let Some(requester) = card.requester.slack_id.clone() else {
            return Ok(());
        };
        let content = card.direct_message(kind);
        let sent = match self
            .slack
            .api()
            .open_conversation(self.token, &[requester])
            .await
        {
            Ok(channel) => self
                .slack
                .api()
                .post_message(self.token, &channel, content)
                .await
                .map(|_| ()),
            Err(error) => Err(error),
        };
        match sent {
            Ok(()) => Ok(()),
            Err(error) => {
                tracing::warn!(run = %run.id, %error, "the requester could not be told");
                match error {
                    SlackApiError::Unreachable { .. } => {
                        Err(RuntimeError::Unavailable(error.to_string()))
                    }
                    _ => Ok(()),
                }
            }
        }
    }

    async fn report_error(
        &self,
        flow: &FlowRecord,
        run: &RunRecord,
        step: Step,
        handler: &str,
        error: &str,
    ) -> Result<(), RuntimeError> {
        let report = ErrorReport {
            flow: flow.name.clone(),
            run_id: Some(run.id.clone()),
            step: step.to_string(),
            handler: handler.to_owned(),
            error: error.to_owned(),
        };
        report_error(
            self.slack,
            self.store,
            self.token,
            flow,
            &run.org_id,
            &report,
        )
        .await?;
        Ok(())
    }
}

/// Posts `report` to the error-logger channel of `flow`'s environment, if it has one. A
/// channel Slack refuses is logged, not retried: the report is a courtesy to the author.
pub(crate) async fn report_error(
    slack: &Slack,
    store: &Store,
    token: &str,
    flow: &FlowRecord,
    org_id: &str,
    report: &ErrorReport,
) -> Result<(), StoreError> {
    let Some(channel) = store.error_logger(org_id, &flow.environment).await? else {
        return Ok(());
    };
    if let Err(error) = slack
        .api()
        .post_message(token, &channel, report.content())
        .await
    {
        tracing::warn!(flow = %flow.name, %channel, %error, "the error logger could not be told");
    }
    Ok(())
}

fn person(user: &User) -> Person {
    Person {
        name: if user.email.is_empty() {
            user.username.clone()
        } else {
            user.email.clone()
        },
        slack_id: slack_id(user).map(str::to_owned),
    }
}

fn field_text(value: &FieldValue) -> String {
    let user = |user: &User| {
        let person = person(user);
        person.slack_id.map_or(person.name, |id| format!("<@{id}>"))
    };
    match value {
        FieldValue::String(text) => text.clone(),
        FieldValue::StrList(items) => items.join(", "),
        FieldValue::Int(number) => number.to_string(),
        FieldValue::IntList(numbers) => numbers
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        FieldValue::Bool(yes) => if *yes { "Yes" } else { "No" }.to_owned(),
        FieldValue::Duration(seconds) => {
            humantime::format_duration(std::time::Duration::from_secs(*seconds)).to_string()
        }
        FieldValue::SlackUser(one) => user(one),
        FieldValue::SlackUserList(many) => many.iter().map(user).collect::<Vec<_>>().join(", "),
        FieldValue::Target(target) => {
            if target.label.is_empty() {
                target.name.clone()
            } else {
                target.label.clone()
            }
        }
    }
}

/// The card of `run` as it stands.
pub(crate) fn card(flow: &FlowRecord, run: &RunRecord) -> RequestCard {
    let fields = flow
        .fields
        .iter()
        .filter(|field| field.visible)
        .filter_map(|field| {
            let value = run.body.fields.get(&field.name)?;
            let label = field.label.clone().unwrap_or_else(|| field.name.clone());
            Some((label, field_text(value)))
        })
        .collect();
    let status = match run.status {
        RunStatus::Requested => CardStatus::Pending,
        RunStatus::Approved => CardStatus::Approved,
        RunStatus::Escalated => CardStatus::Escalated,
        RunStatus::Denied => CardStatus::Denied,
        RunStatus::Expired => CardStatus::Expired,
        RunStatus::Deescalated => CardStatus::Deescalated,
        RunStatus::Cancelled => CardStatus::Cancelled,
        RunStatus::Errored => CardStatus::Errored,
    };
    let actors = &run.body.run.actors;
    let decided = match run.status {
        RunStatus::Approved | RunStatus::Escalated => Some(Step::Approve),
        RunStatus::Denied => Some(Step::Deny),
        RunStatus::Deescalated => Some(Step::Deescalate),
        _ => None,
    };
    let decider = decided
        .and_then(|step| Some((step, actors.get(&step)?)))
        // Access ended by someone other than the requester is a revoke; expiry is nobody's
        // doing.
        .filter(|(step, actor)| *step != Step::Deescalate || actor.id != run.body.requester.id);
    RequestCard {
        run_id: run.id.clone(),
        flow_label: flow.label.clone(),
        requester: person(&run.body.requester),
        fields,
        status,
        decision: decider.map(|(step, by)| Decision {
            by: person(by),
            // Runs stored before steps were timed show when they last moved.
            at: run
                .body
                .acted_at
                .get(&step)
                .copied()
                .unwrap_or(run.updated_at),
            reason: run.body.reason.clone(),
        }),
        access_until: run.body.access_until,
        revocable: flow.params.allow_revoke,
        error: run.body.error.as_ref().map(|error| error.message.clone()),
    }
}

#[cfg(test)]
mod tests {
    use assent_store::{FlowParams, RunBody};
    use assent_types::{FieldType, Identity, PromptField, Run};

    use super::*;

    fn user(id: &str, email: &str, slack: Option<&str>) -> User {
        User {
            id: id.into(),
            email: email.into(),
            identities: slack
                .map(|slack| Identity {
                    service: "slack".into(),
                    external_id: slack.into(),
                })
                .into_iter()
                .collect(),
            ..User::default()
        }
    }

    fn field(name: &str, field_type: FieldType, visible: bool) -> PromptField {
        PromptField {
            name: name.into(),
            label: None,
            field_type,
            required: false,
            allowed_values: Vec::new(),
            visible,
            default: None,
        }
    }

    fn flow() -> FlowRecord {
        FlowRecord {
            id: "f1".into(),
            name: "db".into(),
            version: 1,
            label: "Prod DB".into(),
            environment: "prod".into(),
            vars: Default::default(),
            fields: vec![
                field("reason", FieldType::String, true),
                field("duration", FieldType::Duration, true),
                field("buddy", FieldType::SlackUser, true),
                field("secret", FieldType::String, false),
            ],
            params: FlowParams::default(),
            plugin_hash: "h".into(),
            strategy_hash: None,
            created_at: 0,
        }
    }

    fn run(status: RunStatus, actors: &[(Step, User, i64)]) -> RunRecord {
        let ann = user("u1", "ann@acme.test", Some("U0ANN"));
        RunRecord {
            id: "r1".into(),
            org_id: "o1".into(),
            flow_id: "f1".into(),
            flow_name: "db".into(),
            requester_id: ann.id.clone(),
            status,
            notification: 0,
            version: 3,
            body: RunBody {
                requester: ann,
                fields: [
                    ("reason".into(), FieldValue::String("deploy".into())),
                    ("duration".into(), FieldValue::Duration(5400)),
                    (
                        "buddy".into(),
                        FieldValue::SlackUser(user("", "cat@acme.test", Some("U0CAT"))),
                    ),
                    ("secret".into(), FieldValue::String("hidden".into())),
                ]
                .into(),
                run: Run {
                    actors: actors
                        .iter()
                        .map(|(step, user, _)| (*step, user.clone()))
                        .collect(),
                    ..Run::default()
                },
                acted_at: actors.iter().map(|(step, _, at)| (*step, *at)).collect(),
                reason: Some("looks fine".into()),
                ..RunBody::default()
            },
            created_at: 1_000,
            updated_at: 9_000,
        }
    }

    #[test]
    fn a_card_shows_visible_fields_in_the_flows_order() {
        let card = card(&flow(), &run(RunStatus::Requested, &[]));
        assert_eq!(
            card.fields,
            vec![
                ("reason".to_owned(), "deploy".to_owned()),
                ("duration".to_owned(), "1h 30m".to_owned()),
                ("buddy".to_owned(), "<@U0CAT>".to_owned()),
            ]
        );
        assert_eq!(card.requester.slack_id.as_deref(), Some("U0ANN"));
        assert_eq!(card.decision, None);
    }

    #[test]
    fn the_decision_keeps_its_own_time_after_later_steps() {
        let bob = user("u2", "bob@acme.test", Some("U0BOB"));
        // Approved at 5 000, escalated at 9 000 (the run's `updated_at`).
        let card = card(
            &flow(),
            &run(
                RunStatus::Escalated,
                &[
                    (Step::Approve, bob.clone(), 5_000),
                    (Step::Escalate, bob, 9_000),
                ],
            ),
        );
        let decision = card.decision.expect("an escalated run was approved");
        assert_eq!(decision.by.slack_id.as_deref(), Some("U0BOB"));
        assert_eq!(decision.at, 5_000);
        assert_eq!(decision.reason.as_deref(), Some("looks fine"));
    }

    #[test]
    fn access_ended_by_expiry_names_nobody_but_a_revoke_names_who() {
        let ann = user("u1", "ann@acme.test", Some("U0ANN"));
        let bob = user("u2", "bob@acme.test", Some("U0BOB"));
        let expired = card(
            &flow(),
            &run(
                RunStatus::Deescalated,
                &[
                    (Step::Approve, bob.clone(), 5_000),
                    (Step::Deescalate, ann, 7_000),
                ],
            ),
        );
        assert_eq!(expired.decision, None);
        let revoked = card(
            &flow(),
            &run(
                RunStatus::Deescalated,
                &[
                    (Step::Approve, bob.clone(), 5_000),
                    (Step::Deescalate, bob, 7_000),
                ],
            ),
        );
        let decision = revoked.decision.expect("a revoke names who revoked");
        assert_eq!(
            (decision.by.name.as_str(), decision.at),
            ("bob@acme.test", 7_000)
        );
    }

    #[test]
    fn runs_stored_before_steps_were_timed_show_their_last_move() {
        let bob = user("u2", "bob@acme.test", Some("U0BOB"));
        let mut old = run(RunStatus::Denied, &[(Step::Deny, bob, 0)]);
        old.body.acted_at.clear();
        let decision = card(&flow(), &old).decision.expect("a denial names who");
        assert_eq!(decision.at, 9_000);
    }
}
