//! A custom access strategy, as in the "Custom Access" workflow: it grants the requester
//! membership of the target's group and takes it away again, and reports what it did as the
//! step's output. Wire the `escalate`/`deescalate` bodies to your system's API.

use assent_sdk::prelude::*;

struct GroupStrategy;

#[assent_sdk::plugin]
impl Plugin for GroupStrategy {
    /// Users are known to the target system by their email, lower-cased.
    fn fetch_remote_identity(user: &User) -> Result<Option<String>> {
        if user.email.is_empty() {
            return Ok(None);
        }
        Ok(Some(user.email.to_lowercase()))
    }

    fn escalate(target: &Target, event: &Event) -> Result<Option<String>> {
        let group = group_of(target)?;
        log::info(&format!("adding {} to {group}", event.user.email));
        Ok(Some(change("granted", group, event)))
    }

    fn deescalate(target: &Target, event: &Event) -> Result<Option<String>> {
        let group = group_of(target)?;
        log::info(&format!("removing {} from {group}", event.user.email));
        Ok(Some(change("revoked", group, event)))
    }
}

fn group_of(target: &Target) -> Result<&str> {
    target
        .settings
        .iter()
        .find(|(key, _)| key == "group")
        .map(|(_, group)| group.as_str())
        .ok_or_else(|| {
            PluginError::new(
                "missing-setting",
                format!("target `{}` has no `group` setting", target.name),
            )
        })
}

/// The step output, as JSON text.
fn change(action: &str, group: &str, event: &Event) -> String {
    format!(
        r#"{{"action":"{}","group":"{}","identity":"{}"}}"#,
        escape(action),
        escape(group),
        escape(&event.user.email.to_lowercase())
    )
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}
