//! PagerDuty's REST API v2 (`https://api.pagerduty.com`), with an API token
//! (`Authorization: Token token=…`). Operations by the names of Sym's
//! `sym.sdk.integrations.pagerduty`.

use assent_outbound::Response;
use serde_json::{Value, json};

use crate::failure::Failure;
use crate::provider::{Provider, encode, json_of, string_arg, with_details};

const OPERATIONS: &[&str] = &[
    "is_on_call",
    "users_on_call",
    "users_for_schedule",
    "get_incidents",
    "has_incident",
];

/// A PagerDuty error body: `{"error": {"message": "…", "code": 2100, "errors": ["…"]}}`.
fn explain(response: &Response) -> Option<String> {
    let body = &json_of(response);
    let error = body.get("error")?;
    let message = error.get("message")?.as_str()?.to_owned();
    let details = error
        .get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    Some(with_details(message, details))
}

pub(crate) async fn call(
    provider: &mut Provider<'_>,
    operation: &str,
    args: &Value,
) -> Result<Value, Failure> {
    let connection = provider.connection;
    provider.at(
        "PagerDuty",
        connection.base_url(|_| "https://api.pagerduty.com".to_owned()),
        explain,
    );
    let token = connection.secret("api_token_secret")?;
    provider.header("authorization", format!("Token token={}", token.expose()));
    provider.header(
        "accept",
        "application/vnd.pagerduty+json;version=2".to_owned(),
    );
    match operation {
        "is_on_call" => {
            let user = provider.required(operation, args, "user")?;
            let Some(user_id) = user_id(provider, user).await? else {
                return Ok(json!(false));
            };
            let filters = filters(provider, args).await?;
            let (oncalls, _) = provider
                .get(&format!(
                    "/oncalls?user_ids[]={}{filters}",
                    encode(&user_id)
                ))
                .await?;
            Ok(json!(
                oncalls["oncalls"]
                    .as_array()
                    .is_some_and(|list| !list.is_empty())
            ))
        }
        "users_on_call" => {
            let filters = filters(provider, args).await?;
            let (oncalls, _) = provider
                .get(&format!("/oncalls?include[]=users&limit=100{filters}"))
                .await?;
            let mut emails: Vec<String> = oncalls["oncalls"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|oncall| oncall["user"]["email"].as_str().map(str::to_owned))
                .collect();
            emails.sort();
            emails.dedup();
            Ok(json!(emails))
        }
        "users_for_schedule" => {
            let schedule = match string_arg(args, "schedule_id") {
                Some(id) => id.to_owned(),
                None => {
                    let name = provider.required(operation, args, "schedule_name")?;
                    find(provider, "schedules", name).await?
                }
            };
            let (users, _) = provider
                .get(&format!("/schedules/{}/users", encode(&schedule)))
                .await?;
            Ok(json!(
                users["users"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|user| user["email"].as_str())
                    .collect::<Vec<_>>()
            ))
        }
        "get_incidents" | "has_incident" => {
            let mut query = String::from("/incidents?limit=100");
            for status in args["statuses"].as_array().into_iter().flatten() {
                if let Some(status) = status.as_str() {
                    query.push_str(&format!("&statuses[]={}", encode(status)));
                }
            }
            for (arg, param) in [
                ("service_ids", "service_ids[]"),
                ("urgencies", "urgencies[]"),
            ] {
                for value in args[arg].as_array().into_iter().flatten() {
                    if let Some(value) = value.as_str() {
                        query.push_str(&format!("&{param}={}", encode(value)));
                    }
                }
            }
            let (incidents, _) = provider.get(&query).await?;
            let list = incidents["incidents"].clone();
            if operation == "has_incident" {
                return Ok(json!(list.as_array().is_some_and(|l| !l.is_empty())));
            }
            Ok(list)
        }
        _ => Err(Failure::UnknownOperation {
            integration: connection.name.clone(),
            operation: operation.to_owned(),
            known: OPERATIONS.to_vec(),
        }),
    }
}

/// The PagerDuty id of the user with `email`, if PagerDuty has one.
async fn user_id(provider: &mut Provider<'_>, email: &str) -> Result<Option<String>, Failure> {
    let (users, _) = provider
        .get(&format!("/users?query={}", encode(email)))
        .await?;
    Ok(users["users"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|user| {
            user["email"]
                .as_str()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        })
        .and_then(|user| user["id"].as_str().map(str::to_owned)))
}

/// The id of the schedule or escalation policy (`kind`, the API's collection) named `name`.
async fn find(provider: &mut Provider<'_>, kind: &str, name: &str) -> Result<String, Failure> {
    let (found, _) = provider
        .get(&format!("/{kind}?query={}", encode(name)))
        .await?;
    found[kind]
        .as_array()
        .into_iter()
        .flatten()
        .find(|item| item["name"].as_str() == Some(name))
        .and_then(|item| item["id"].as_str().map(str::to_owned))
        .ok_or_else(|| {
            provider.bad_arguments(
                "find",
                format!(
                    "PagerDuty has no {} named `{name}`",
                    kind.trim_end_matches('s').replace('_', " ")
                ),
            )
        })
}

/// The `/oncalls` filters Sym's SDK takes: a schedule or an escalation policy, by id or name.
async fn filters(provider: &mut Provider<'_>, args: &Value) -> Result<String, Failure> {
    let mut query = String::new();
    if let Some(id) = string_arg(args, "schedule_id") {
        query.push_str(&format!("&schedule_ids[]={}", encode(id)));
    } else if let Some(name) = string_arg(args, "schedule_name") {
        let id = find(provider, "schedules", name).await?;
        query.push_str(&format!("&schedule_ids[]={}", encode(&id)));
    }
    if let Some(id) = string_arg(args, "escalation_policy_id") {
        query.push_str(&format!("&escalation_policy_ids[]={}", encode(id)));
    } else if let Some(name) = string_arg(args, "escalation_policy_name") {
        let id = find(provider, "escalation_policies", name).await?;
        query.push_str(&format!("&escalation_policy_ids[]={}", encode(&id)));
    }
    Ok(query)
}
