//! Implements every handler and answers from the event, so tests can check that each value
//! crosses the host/plugin boundary intact.
//!
//! Flow vars steer it:
//! - `approve_deny`: `ADMIN`, `MEMBER`, `ALL_USERS`, or a comma-separated user list;
//! - `channels`: comma-separated Slack channels to notify, in order;
//! - `on_<step>`: `approve:<reason>`, `deny:<reason>`, `ignore:<message>`, `request`,
//!   `escalate`, `deescalate`; `need_message` ignores a decision without a message (the
//!   event's `payload.message`); anything else (or nothing) proceeds;
//! - `fail`: the handler whose name it holds returns a plugin error;
//! - `timeout_last`: the final notification (to the requester) times out too;
//! - `requesters`: comma-separated emails; `on_prompt` ignores anyone else, naming them;
//! - `max_approved`: `on_request` ignores a requester with that many approved requests of this
//!   flow already (counted by the host, `users::event_count`);
//! - `keep_identity`: `after_escalate` keeps `echo:E-<user id>` as the requester's identity;
//! - `hidden_flows`: comma-separated flow names `get_flows` does not offer (a flows filter's
//!   vars; `fail: get_flows` there makes it fail);
//! - `team_options`: `value:label,…`, the choices `prefetch` gives the `team` field;
//!   `on_change` of `team` makes `reason` visible and required when the team is `db`.

use assent_sdk::log::LogLevel;
use assent_sdk::prelude::*;
use assent_sdk::{Approvers, FieldOption, Flow, FormField};

struct Echo;

#[assent_sdk::plugin]
impl Plugin for Echo {
    const PREFETCH_FIELDS: &'static [&'static str] = &["team"];
    const ON_CHANGE_FIELDS: &'static [&'static str] = &["team"];

    fn get_flows(user: &User, flows: &[Flow], vars: &[(String, String)]) -> Result<Vec<String>> {
        if user.role == Role::Guest {
            return Ok(Vec::new());
        }
        let var = |name: &str| {
            vars.iter()
                .find(|(key, _)| key == name)
                .map_or("", |(_, value)| value.as_str())
        };
        if var("fail") == "get_flows" {
            return Err(PluginError::new("ValueError", "get_flows was told to fail"));
        }
        let hidden = var("hidden_flows");
        Ok(flows
            .iter()
            .map(|flow| flow.name.clone())
            .filter(|name| !hidden.split(',').any(|one| one == name))
            .collect())
    }

    fn prefetch(field: &str, event: &Event) -> Result<Vec<FieldOption>> {
        fail_if_asked("prefetch", event)?;
        let options = event.var(&format!("{field}_options")).unwrap_or("");
        Ok(options
            .split(',')
            .filter_map(|option| option.split_once(':'))
            .map(|(value, label)| FieldOption {
                value: value.to_owned(),
                label: label.to_owned(),
            })
            .collect())
    }

    fn on_change(field: &str, _user: &User, mut form: Vec<FormField>) -> Result<Vec<FormField>> {
        let team = form
            .iter()
            .find(|one| one.name == field)
            .and_then(|one| match &one.value {
                Some(FieldValue::String(team)) => Some(team.clone()),
                _ => None,
            });
        let needs_reason = team.as_deref() == Some("db");
        for one in form.iter_mut().filter(|one| one.name == "reason") {
            one.visible = needs_reason;
            one.required = needs_reason;
        }
        Ok(form)
    }
    fn get_permissions(event: &Event) -> Result<RequestPermission> {
        fail_if_asked("get_permissions", event)?;
        let approve_deny = match event.var("approve_deny").unwrap_or("MEMBER") {
            "ADMIN" => Permission::Level(PermissionLevel::Admin),
            "MEMBER" => Permission::Level(PermissionLevel::Member),
            "ALL_USERS" => Permission::Level(PermissionLevel::AllUsers),
            users => Permission::Users(users.split(',').map(str::to_owned).collect()),
        };
        let allow_self = event
            .field("allow_self")
            .and_then(FieldValue::as_bool)
            .unwrap_or(false);
        Ok(RequestPermission::new(PermissionLevel::Admin, approve_deny)
            .allow_self_approval(allow_self))
    }

    fn get_request_notifications(event: &Event) -> Result<Vec<Notification>> {
        fail_if_asked("get_request_notifications", event)?;
        let timeout = event.field("timeout").and_then(FieldValue::as_duration);
        let mut notifications: Vec<Notification> = channels(event)
            .map(|channel| {
                let notification = Notification::new([slack::channel(channel)]);
                match timeout {
                    Some(seconds) => notification.timeout(seconds),
                    None => notification,
                }
            })
            .collect();
        let last = Notification::new([
            slack::user(event.user.email.clone()),
            slack::group(["U1", "U2"]),
            Destination::UserEmail(event.user.email.clone()),
            Destination::UserId(event.user.id.clone()),
        ]);
        notifications.push(match timeout {
            Some(seconds) if event.var("timeout_last").is_some() => last.timeout(seconds),
            _ => last,
        });
        Ok(notifications)
    }

    fn get_approvers(event: &Event) -> Result<Approvers> {
        fail_if_asked("get_approvers", event)?;
        Ok(slack::fallback(channels(event).map(slack::channel)).allow_self(true))
    }

    /// Echoes the whole event as one line of text.
    fn get_identity(event: &Event) -> Result<Option<String>> {
        fail_if_asked("get_identity", event)?;
        Ok(Some(summary(event)))
    }

    fn get_timeout(event: &Event) -> Result<Option<u64>> {
        fail_if_asked("get_timeout", event)?;
        Ok(event.field("duration").and_then(FieldValue::as_duration))
    }

    fn on_prompt(event: &Event) -> Result<Outcome> {
        if let Some(allowed) = event.var("requesters") {
            let email = &event.user.email;
            if !allowed.split(',').any(|one| one.trim() == email) {
                return Ok(Outcome::Ignore(Some(format!(
                    "{} is for {allowed}, not {email}.",
                    event.flow.name
                ))));
            }
        }
        decide("on_prompt", event)
    }
    fn on_request(event: &Event) -> Result<Outcome> {
        if let Some(max) = event
            .var("max_approved")
            .and_then(|max| max.parse::<u64>().ok())
        {
            let mut query = users::query(&event.user, Step::Approve);
            query.flow = Some(event.flow.name.clone());
            let approved = users::event_count(&query)?;
            if approved >= max {
                return Ok(Outcome::Ignore(Some(format!(
                    "You already have {approved} approved requests of {}.",
                    event.flow.name
                ))));
            }
        }
        decide("on_request", event)
    }
    fn on_approve(event: &Event) -> Result<Outcome> {
        decide("on_approve", event)
    }
    fn on_deny(event: &Event) -> Result<Outcome> {
        decide("on_deny", event)
    }
    fn on_escalate(event: &Event) -> Result<Outcome> {
        decide("on_escalate", event)
    }
    fn on_deescalate(event: &Event) -> Result<Outcome> {
        decide("on_deescalate", event)
    }
    fn on_request_forward(event: &Event) -> Result<Outcome> {
        decide("on_request_forward", event)
    }
    fn on_request_expire(event: &Event) -> Result<Outcome> {
        decide("on_request_expire", event)
    }

    fn after_prompt(event: &Event) -> Result<()> {
        record("after_prompt", event)
    }
    fn after_request(event: &Event) -> Result<()> {
        record("after_request", event)
    }
    fn after_approve(event: &Event) -> Result<()> {
        record("after_approve", event)
    }
    fn after_deny(event: &Event) -> Result<()> {
        record("after_deny", event)
    }
    fn after_escalate(event: &Event) -> Result<()> {
        let requester = event
            .run
            .actors
            .iter()
            .find(|(step, _)| *step == Step::Request);
        if let (Some(_), Some((_, requester))) = (event.var("keep_identity"), requester) {
            let external_id = format!("E-{}", requester.id);
            users::persist_identity(&requester.email, "echo", &external_id, None)?;
        }
        record("after_escalate", event)
    }
    fn after_deescalate(event: &Event) -> Result<()> {
        record("after_deescalate", event)
    }
    fn after_request_forward(event: &Event) -> Result<()> {
        record("after_request_forward", event)
    }
    fn after_request_expire(event: &Event) -> Result<()> {
        record("after_request_expire", event)
    }

    fn fetch_remote_identity(user: &User) -> Result<Option<String>> {
        Ok(Some(format!("remote:{}", user.username)))
    }

    fn escalate(target: &Target, event: &Event) -> Result<Option<String>> {
        fail_if_asked("escalate", event)?;
        let settings: Vec<String> = target
            .settings
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        Ok(Some(format!(
            r#"{{"granted":"{}","to":"{}","settings":"{}"}}"#,
            target.name,
            event.user.username,
            settings.join(",")
        )))
    }

    fn deescalate(target: &Target, event: &Event) -> Result<Option<String>> {
        fail_if_asked("deescalate", event)?;
        if event.var("bad_output").is_some() {
            return Ok(Some("this is not JSON".into()));
        }
        Ok(Some(format!(r#"{{"revoked":"{}"}}"#, target.name)))
    }
}

fn channels(event: &Event) -> impl Iterator<Item = &str> {
    event
        .var("channels")
        .unwrap_or("")
        .split(',')
        .filter(|channel| !channel.is_empty())
}

fn fail_if_asked(handler: &str, event: &Event) -> Result<()> {
    if event.var("fail") == Some(handler) {
        return Err(PluginError::new(
            "ValueError",
            format!("{handler} was told to fail"),
        ));
    }
    Ok(())
}

fn decide(hook: &str, event: &Event) -> Result<Outcome> {
    fail_if_asked(hook, event)?;
    let Some(rule) = event.var(hook) else {
        return Ok(Outcome::Proceed);
    };
    let (action, text) = rule.split_once(':').unwrap_or((rule, ""));
    let text = (!text.is_empty()).then(|| text.to_owned());
    Ok(match action {
        "approve" => Outcome::Approve(text),
        "deny" => Outcome::Deny(text),
        "ignore" => Outcome::Ignore(text),
        "request" => Outcome::Request(text),
        "escalate" => Outcome::Escalate(text),
        "deescalate" => Outcome::Deescalate(text),
        "need_message" => match &event.payload.message {
            None => Outcome::Ignore(Some("Say why: this flow needs a message.".to_owned())),
            Some(_) => Outcome::Proceed,
        },
        _ => Outcome::Proceed,
    })
}

fn record(hook: &str, event: &Event) -> Result<()> {
    fail_if_asked(hook, event)?;
    assent_sdk::log::with_fields(
        LogLevel::Info,
        &format!("{hook} ran"),
        &[("run", &event.run.id), ("user", &event.user.username)],
    );
    Ok(())
}

fn summary(event: &Event) -> String {
    let user = &event.user;
    let identities: Vec<String> = user
        .identities
        .iter()
        .map(|identity| format!("{}={}", identity.service, identity.external_id))
        .collect();
    let fields: Vec<String> = event
        .payload
        .fields
        .iter()
        .map(|(name, value)| format!("{name}={}", field_text(value)))
        .collect();
    let vars: Vec<String> = event
        .flow
        .vars
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    let prompt: Vec<String> = event
        .flow
        .fields
        .iter()
        .map(|field| {
            format!(
                "{}:{:?}:{}:{}",
                field.name,
                field.field_type,
                field.required,
                field.allowed_values.join("|")
            )
        })
        .collect();
    let actors: Vec<String> = event
        .run
        .actors
        .iter()
        .map(|(step, actor)| format!("{step:?}={}", actor.username))
        .collect();
    let contexts: Vec<String> = event
        .run
        .contexts
        .iter()
        .map(|(step, context)| format!("{step:?}={context}"))
        .collect();
    format!(
        "event={:?} user={}/{}/{}/{:?}/{} name={} {} flow={}/{} vars=[{}] prompt=[{}] fields=[{}] run={} actors=[{}] contexts=[{}] source={:?}/{:?} outputs={} at={}",
        event.name,
        user.id,
        user.email,
        user.username,
        user.role,
        identities.join(","),
        user.first_name.as_deref().unwrap_or("-"),
        user.last_name.as_deref().unwrap_or("-"),
        event.flow.name,
        event.flow.label,
        vars.join(","),
        prompt.join(","),
        fields.join(","),
        event.run.id,
        actors.join(","),
        contexts.join(","),
        event.run.source_channel.channel_type,
        event.run.source_channel.identifier,
        event.outputs,
        event.payload.timestamp,
    )
}

fn field_text(value: &FieldValue) -> String {
    match value {
        FieldValue::String(text) => format!("str:{text}"),
        FieldValue::StrList(items) => format!("strs:{}", items.join("|")),
        FieldValue::Int(number) => format!("int:{number}"),
        FieldValue::IntList(numbers) => format!(
            "ints:{}",
            numbers
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join("|")
        ),
        FieldValue::Bool(flag) => format!("bool:{flag}"),
        FieldValue::Duration(seconds) => format!("duration:{seconds}"),
        FieldValue::SlackUser(user) => format!("user:{}", user.email),
        FieldValue::SlackUserList(users) => format!(
            "users:{}",
            users
                .iter()
                .map(|user| user.email.as_str())
                .collect::<Vec<_>>()
                .join("|")
        ),
        FieldValue::Target(target) => {
            let settings: Vec<String> = target
                .settings
                .iter()
                .map(|(key, value)| format!("{key}={value}"))
                .collect();
            format!(
                "target:{}/{}/{}/{}",
                target.id,
                target.name,
                target.label,
                settings.join("&")
            )
        }
    }
}
