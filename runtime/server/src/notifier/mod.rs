//! Delivers the runner's notices to Slack: request cards to each notification's
//! destinations, card updates and DMs when a run moves, plugin errors to the environment's
//! error logger.
//!
//! The runner calls this from a notice's durable job, after the step committed; the only
//! state written here is delivery bookkeeping — which card was posted where (so a retried
//! delivery posts nothing twice) and which Slack id a person has — never a run.
//!
//! Deliveries repeat safely: a card already posted for a destination is not posted again,
//! and updates and DMs carry the run's current state.

mod card;
mod lookup;

use assent_engine::{Notice, RunStatus};
use assent_slack::SlackApiError;
use assent_slack::message::{DirectMessage, ErrorReport, RequestCard};
use assent_slack::slack_morphism::prelude::SlackMessageContent;
use assent_store::{FlowRecord, RunRecord, SlackMessage, SlackWorkspace, Store, StoreError};
use assent_types::{Destination, Step, User};
use futures::future::BoxFuture;

use assent_runner::{Delivery, Notifier, RuntimeError};

use crate::slack::Slack;
use card::card;
use lookup::{slack_id_by_email, slack_id_of};

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
                    to.post_request(flow, &card, run, *notification, attempts)
                        .await
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
        flow: &FlowRecord,
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
            match self.post_card(destination, content.clone()).await {
                Ok((channel, ts)) => {
                    let message = SlackMessage {
                        notification,
                        destination: key,
                        channel,
                        ts,
                    };
                    self.store
                        .record_slack_message(&run.org_id, &run.id, &message)
                        .await?;
                    delivered += 1;
                }
                Err(error) => {
                    tracing::warn!(run = %run.id, destination = %key, %error, "request could not be delivered");
                    unreachable |= matches!(error, SlackApiError::Unreachable { .. });
                }
            }
        }
        if delivered > posted_before {
            self.catch_up(flow, card, run).await?;
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

    /// Shows a step that landed while the cards were being posted. Its own notice ran before
    /// they were recorded and found none to update; of the two deliveries, whichever comes
    /// second sees both the cards and the step, so reading the run again here closes the gap.
    async fn catch_up(
        &self,
        flow: &FlowRecord,
        posted: &RequestCard,
        run: &RunRecord,
    ) -> Result<(), RuntimeError> {
        let Some(now) = self.store.run(&run.org_id, &run.id).await? else {
            return Ok(());
        };
        if now.version == run.version {
            return Ok(());
        }
        let mut current = card(flow, &now);
        current.requester.slack_id = posted.requester.slack_id.clone();
        self.update_cards(&current, &now).await
    }

    /// Posts a card to `destination`; its channel and timestamp.
    async fn post_card(
        &self,
        destination: &Destination,
        content: SlackMessageContent,
    ) -> Result<(String, String), SlackApiError> {
        let channel = self.channel_for(destination).await?;
        self.slack
            .api()
            .post_message(self.token, &channel, content)
            .await
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
        let channel = self
            .store
            .error_logger(&run.org_id, &flow.environment)
            .await?;
        self.slack
            .report_error(self.token, flow, channel, &report)
            .await;
        Ok(())
    }
}
