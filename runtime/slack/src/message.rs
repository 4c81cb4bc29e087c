//! The Block Kit of every message Assent posts. Pure: a view model in, message content out,
//! so each kind is pinned by a snapshot test.

use slack_morphism::prelude::*;

/// Action ids on request cards; the button's value is the run id.
pub const APPROVE_ACTION: &str = "assent_approve";
pub const DENY_ACTION: &str = "assent_deny";
pub const REVOKE_ACTION: &str = "assent_revoke";

/// Someone named on a card: mentioned when their Slack id is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    pub slack_id: Option<String>,
}

impl Person {
    fn mention(&self) -> String {
        match &self.slack_id {
            Some(id) => format!("<@{id}>"),
            None => self.name.clone(),
        }
    }
}

/// Where a request stands, as its card shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardStatus {
    Pending,
    Approved,
    Denied,
    Expired,
    Escalated,
    Deescalated,
    Errored,
    Cancelled,
}

/// Who last decided something about the request, when and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub by: Person,
    /// Unix milliseconds.
    pub at: i64,
    pub reason: Option<String>,
}

/// Everything a request card shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestCard {
    pub run_id: String,
    pub flow_label: String,
    pub requester: Person,
    /// Each prompt field's label and value, in the flow's order.
    pub fields: Vec<(String, String)>,
    pub status: CardStatus,
    /// The approval or denial (or who ended access), once there is one.
    pub decision: Option<Decision>,
    /// When granted access ends (Unix milliseconds).
    pub access_until: Option<i64>,
    /// Whether the flow lets approvers end access early.
    pub revocable: bool,
    /// The plugin's error, for an errored request.
    pub error: Option<String>,
}

/// What the requester is told in a DM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectMessage {
    /// The request's first card went out.
    Requested,
    Approved,
    Denied,
    Expired,
    Escalated,
    Deescalated,
}

/// Slack renders `<!date^…>` in the reader's own time zone; the fallback is UTC.
fn date(at_ms: i64) -> String {
    let seconds = at_ms.div_euclid(1000);
    let fallback = u64::try_from(seconds)
        .ok()
        .map(|s| {
            humantime::format_rfc3339_seconds(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(s),
            )
            .to_string()
        })
        .unwrap_or_default();
    format!("<!date^{seconds}^{{date_short_pretty}} at {{time}}|{fallback}>")
}

fn markdown(text: impl Into<String>) -> SlackBlockText {
    SlackBlockText::MarkDown(SlackBlockMarkDownText::new(text.into()))
}

fn plain(text: impl Into<String>) -> SlackBlockPlainTextOnly {
    SlackBlockPlainTextOnly::from(text.into())
}

fn section(text: impl Into<String>) -> SlackBlock {
    SlackSectionBlock::new().with_text(markdown(text)).into()
}

fn context(text: impl Into<String>) -> SlackBlock {
    SlackContextBlock::new(vec![SlackContextBlockElement::MarkDown(
        SlackBlockMarkDownText::new(text.into()),
    )])
    .into()
}

fn button(
    action: &str,
    label: &str,
    run_id: &str,
    style: SlackBlockButtonStyle,
) -> SlackActionBlockElement {
    SlackBlockButtonElement::new(plain(label))
        .with_action_id(action.into())
        .with_value(run_id.to_owned())
        .with_style(style)
        .into()
}

/// Quotes text so every line shows as one quote.
fn quote(text: &str) -> String {
    text.lines()
        .map(|line| format!(">{line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl RequestCard {
    fn status_line(&self) -> String {
        let decided = |verb: &str| match &self.decision {
            Some(decision) => format!(
                "{verb} by {} · {}",
                decision.by.mention(),
                date(decision.at)
            ),
            None => verb.to_owned(),
        };
        match self.status {
            CardStatus::Pending => ":hourglass_flowing_sand: *Waiting for approval*".to_owned(),
            CardStatus::Approved => format!(":white_check_mark: *{}*", decided("Approved")),
            CardStatus::Denied => format!(":no_entry: *{}*", decided("Denied")),
            CardStatus::Expired => ":hourglass: *Expired* without an answer".to_owned(),
            CardStatus::Escalated => {
                let mut line = format!(":unlock: *Access granted* — {}", decided("approved"));
                if let Some(until) = self.access_until {
                    line.push_str(&format!(" · until {}", date(until)));
                }
                line
            }
            CardStatus::Deescalated => format!(":lock: *Access ended* — {}", decided("ended")),
            CardStatus::Errored => ":warning: *Stopped by an error*".to_owned(),
            CardStatus::Cancelled => ":heavy_minus_sign: *Cancelled*".to_owned(),
        }
    }

    /// The card as posted and as updated: the buttons are those the state still allows.
    pub fn content(&self) -> SlackMessageContent {
        let mut blocks: Vec<SlackBlock> = vec![
            SlackHeaderBlock::new(plain(format!("Access request: {}", self.flow_label))).into(),
            section(format!("*Requester:* {}", self.requester.mention())),
        ];
        // A section holds at most ten fields.
        for chunk in self.fields.chunks(10) {
            blocks.push(
                SlackSectionBlock::new()
                    .with_fields(
                        chunk
                            .iter()
                            .map(|(label, value)| markdown(format!("*{label}*\n{value}")))
                            .collect(),
                    )
                    .into(),
            );
        }
        blocks.push(SlackDividerBlock::new().into());
        blocks.push(section(self.status_line()));
        if let Some(reason) = self.decision.as_ref().and_then(|d| d.reason.as_deref())
            && !reason.is_empty()
        {
            blocks.push(section(quote(reason)));
        }
        if let Some(error) = &self.error {
            blocks.push(section(format!("```{error}```")));
        }
        match self.status {
            CardStatus::Pending => blocks.push(
                SlackActionsBlock::new(vec![
                    button(
                        APPROVE_ACTION,
                        "Approve",
                        &self.run_id,
                        SlackBlockButtonStyle::Primary,
                    ),
                    button(
                        DENY_ACTION,
                        "Deny",
                        &self.run_id,
                        SlackBlockButtonStyle::Danger,
                    ),
                ])
                .with_block_id("assent_decide".into())
                .into(),
            ),
            CardStatus::Escalated if self.revocable => blocks.push(
                SlackActionsBlock::new(vec![button(
                    REVOKE_ACTION,
                    "Revoke",
                    &self.run_id,
                    SlackBlockButtonStyle::Danger,
                )])
                .with_block_id("assent_revoke".into())
                .into(),
            ),
            _ => {}
        }
        blocks.push(context(format!("Request `{}`", self.run_id)));
        SlackMessageContent::new()
            .with_text(format!(
                "{} requests access: {}",
                self.requester.name, self.flow_label
            ))
            .with_blocks(blocks)
    }

    /// The DM the requester gets when their request moves.
    pub fn direct_message(&self, kind: DirectMessage) -> SlackMessageContent {
        let flow = &self.flow_label;
        let by = self
            .decision
            .as_ref()
            .map(|d| format!(" by {}", d.by.mention()))
            .unwrap_or_default();
        let mut text = match kind {
            DirectMessage::Requested => {
                format!(":outbox_tray: Your request for *{flow}* was sent for approval.")
            }
            DirectMessage::Approved => {
                format!(":white_check_mark: Your request for *{flow}* was approved{by}.")
            }
            DirectMessage::Denied => {
                format!(":no_entry: Your request for *{flow}* was denied{by}.")
            }
            DirectMessage::Expired => {
                format!(":hourglass: Your request for *{flow}* expired without an answer.")
            }
            DirectMessage::Escalated => match self.access_until {
                Some(until) => format!(
                    ":unlock: You now have access to *{flow}* until {}.",
                    date(until)
                ),
                None => format!(":unlock: You now have access to *{flow}*."),
            },
            DirectMessage::Deescalated => {
                format!(":lock: Your access to *{flow}* has ended{by}.")
            }
        };
        if matches!(kind, DirectMessage::Approved | DirectMessage::Denied)
            && let Some(reason) = self.decision.as_ref().and_then(|d| d.reason.as_deref())
            && !reason.is_empty()
        {
            text.push('\n');
            text.push_str(&quote(reason));
        }
        SlackMessageContent::new()
            .with_text(text.clone())
            .with_blocks(vec![
                section(text),
                context(format!("Request `{}`", self.run_id)),
            ])
    }
}

/// A plain message, for ephemeral replies and command answers.
pub fn notice(text: impl Into<String>) -> SlackMessageContent {
    let text = text.into();
    SlackMessageContent::new()
        .with_text(text.clone())
        .with_blocks(vec![section(text)])
}

/// What the error-logger channel is told when a plugin or strategy fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorReport {
    pub flow: String,
    /// `None` when the handler failed before there was a run (`on_prompt`).
    pub run_id: Option<String>,
    pub step: String,
    pub handler: String,
    /// The error in the plugin author's words.
    pub error: String,
}

impl ErrorReport {
    pub fn content(&self) -> SlackMessageContent {
        let summary = format!(
            ":warning: `{}` failed in flow *{}* during `{}`",
            self.handler, self.flow, self.step
        );
        SlackMessageContent::new()
            .with_text(format!("{} failed in flow {}", self.handler, self.flow))
            .with_blocks(vec![
                section(summary),
                section(format!("```{}```", self.error)),
                context(match &self.run_id {
                    Some(run_id) => format!("Run `{run_id}`"),
                    None => "No run yet: someone was opening the request form".to_owned(),
                }),
            ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(status: CardStatus) -> RequestCard {
        RequestCard {
            run_id: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".into(),
            flow_label: "Prod database".into(),
            requester: Person {
                name: "ann@example.com".into(),
                slack_id: Some("U0ANN".into()),
            },
            fields: vec![
                ("Target".into(), "prod-db".into()),
                ("Duration".into(), "1h".into()),
                ("Reason".into(), "Investigating INC-42".into()),
            ],
            status,
            decision: None,
            access_until: None,
            revocable: true,
            error: None,
        }
    }

    fn decided(status: CardStatus, reason: Option<&str>) -> RequestCard {
        RequestCard {
            decision: Some(Decision {
                by: Person {
                    name: "bob@example.com".into(),
                    slack_id: Some("U0BOB".into()),
                },
                at: 1_795_000_000_000,
                reason: reason.map(str::to_owned),
            }),
            ..card(status)
        }
    }

    #[test]
    fn pending_card_has_approve_and_deny() {
        insta::assert_json_snapshot!(card(CardStatus::Pending).content());
    }

    #[test]
    fn approved_card_names_the_approver_and_drops_the_buttons() {
        insta::assert_json_snapshot!(
            decided(CardStatus::Approved, Some("Auto-approved!")).content()
        );
    }

    #[test]
    fn denied_card() {
        insta::assert_json_snapshot!(
            decided(CardStatus::Denied, Some("not during the freeze")).content()
        );
    }

    #[test]
    fn expired_card() {
        insta::assert_json_snapshot!(card(CardStatus::Expired).content());
    }

    #[test]
    fn escalated_card_offers_revoke_when_the_flow_allows_it() {
        let mut escalated = decided(CardStatus::Escalated, None);
        escalated.access_until = Some(1_795_003_600_000);
        insta::assert_json_snapshot!(escalated.content());
        escalated.revocable = false;
        let content = serde_json::to_string(&escalated.content()).unwrap_or_default();
        assert!(!content.contains(REVOKE_ACTION));
    }

    #[test]
    fn deescalated_card() {
        insta::assert_json_snapshot!(decided(CardStatus::Deescalated, None).content());
    }

    #[test]
    fn errored_card_shows_the_error() {
        let mut errored = card(CardStatus::Errored);
        errored.error = Some("`get_permissions` raised KeyError: 'approvers'".into());
        insta::assert_json_snapshot!(errored.content());
    }

    #[test]
    fn direct_messages() {
        let mut escalated = decided(CardStatus::Escalated, Some("ok for today"));
        escalated.access_until = Some(1_795_003_600_000);
        let all = [
            DirectMessage::Requested,
            DirectMessage::Approved,
            DirectMessage::Denied,
            DirectMessage::Expired,
            DirectMessage::Escalated,
            DirectMessage::Deescalated,
        ]
        .map(|kind| escalated.direct_message(kind));
        insta::assert_json_snapshot!(all);
    }

    #[test]
    fn error_report() {
        let report = ErrorReport {
            flow: "approval".into(),
            run_id: Some("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".into()),
            step: "request".into(),
            handler: "get_request_notifications".into(),
            error: "ValueError: no approvers configured".into(),
        };
        insta::assert_json_snapshot!(report.content());
    }

    #[test]
    fn error_report_before_any_run() {
        let report = ErrorReport {
            flow: "break-glass".into(),
            run_id: None,
            step: "prompt".into(),
            handler: "on_prompt".into(),
            error: "KeyError: 'team'".into(),
        };
        insta::assert_json_snapshot!(report.content());
    }

    #[test]
    fn a_card_without_slack_ids_names_people() {
        let mut pending = card(CardStatus::Pending);
        pending.requester.slack_id = None;
        let content = serde_json::to_string(&pending.content()).unwrap_or_default();
        assert!(content.contains("*Requester:* ann@example.com"));
    }
}
