//! A run as its Slack card shows it.

use assent_engine::RunStatus;
use assent_slack::message::{CardStatus, Decision, Person, RequestCard};
use assent_store::{FlowRecord, RunRecord};
use assent_types::{FieldValue, Step, User};

use super::lookup::slack_id;

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
        .filter(|field| match &run.body.shown_fields {
            Some(shown) => shown.contains(&field.name),
            None => field.visible,
        })
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
                .map(|slack| Identity::new("slack", slack))
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
            prefetch: false,
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
            strategy: None,
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
    fn a_card_shows_the_fields_the_requesters_form_showed() {
        let mut run = run(RunStatus::Requested, &[]);
        // `on_change` showed `secret` and hid `duration`.
        run.body.shown_fields = Some(vec!["reason".into(), "secret".into()]);
        let card = card(&flow(), &run);
        assert_eq!(
            card.fields,
            vec![
                ("reason".to_owned(), "deploy".to_owned()),
                ("secret".to_owned(), "hidden".to_owned()),
            ]
        );
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
