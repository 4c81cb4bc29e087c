//! Okta's Users and Groups APIs (`/api/v1`), with an API token (`Authorization: SSWS …`).
//! Operations by the names of Sym's `sym.sdk.integrations.okta`, plus the group membership
//! changes the Okta strategy makes.

use assent_outbound::{Method, Response};
use serde_json::{Value, json};

use crate::failure::Failure;
use crate::provider::{Provider, encode, json_of, next_link, string_arg};

const OPERATIONS: &[&str] = &[
    "is_user_in_group",
    "users_in_group",
    "get_user_info",
    "list_groups",
    "add_user_to_group",
    "remove_user_from_group",
];

// Okta pages at most 200 users per request; following 50 pages (10,000 members) covers any
// approvers' group and bounds a call on a group of the whole company.
const MAX_PAGES: usize = 50;

/// An Okta error body: `{"errorCode": "E0000007", "errorSummary": "Not found: …"}`.
fn explain(response: &Response) -> Option<String> {
    let body = &json_of(response);
    let summary = body.get("errorSummary")?.as_str()?;
    Some(match body.get("errorCode").and_then(Value::as_str) {
        Some(code) => format!("{summary} ({code})"),
        None => summary.to_owned(),
    })
}

pub(crate) async fn call(
    provider: &mut Provider<'_>,
    operation: &str,
    args: &Value,
) -> Result<Value, Failure> {
    let connection = provider.connection;
    let base = connection.base_url(|domain| format!("https://{domain}"));
    provider.at("Okta", base, explain);
    let token = connection.secret("api_token_secret")?;
    provider.header("authorization", format!("SSWS {}", token.expose()));
    match operation {
        "is_user_in_group" => {
            let user = provider.required(operation, args, "user")?;
            let group = provider.required(operation, args, "group_id")?;
            // The group must exist: a misspelt id is an error, not "not a member".
            provider
                .get(&format!("/api/v1/groups/{}", encode(group)))
                .await?;
            let groups = match provider
                .get(&format!("/api/v1/users/{}/groups", encode(user)))
                .await
            {
                Ok((groups, _)) => groups,
                Err(Failure::Provider { status: 404, .. }) => return Ok(json!(false)),
                Err(error) => return Err(error),
            };
            let member = groups
                .as_array()
                .is_some_and(|groups| groups.iter().any(|g| g["id"] == group));
            Ok(json!(member))
        }
        "users_in_group" => {
            let group = provider.required(operation, args, "group_id")?;
            let mut page = provider
                .get(&format!("/api/v1/groups/{}/users?limit=200", encode(group)))
                .await?;
            let mut emails = Vec::new();
            for _ in 0..MAX_PAGES {
                let (users, link) = page;
                emails.extend(
                    users
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|user| {
                            user["profile"]["email"]
                                .as_str()
                                .or_else(|| user["profile"]["login"].as_str())
                        })
                        .map(str::to_owned),
                );
                let Some(next) = next_link(link.as_deref()) else {
                    break;
                };
                page = provider.get_url(&next).await?;
            }
            Ok(json!(emails))
        }
        "get_user_info" => {
            let user = provider.required(operation, args, "user")?;
            let (info, _) = provider
                .get(&format!("/api/v1/users/{}", encode(user)))
                .await?;
            Ok(info)
        }
        "list_groups" => {
            let path = match string_arg(args, "query") {
                Some(query) => format!("/api/v1/groups?q={}&limit=200", encode(query)),
                None => "/api/v1/groups?limit=200".to_owned(),
            };
            let (groups, _) = provider.get(&path).await?;
            Ok(groups)
        }
        "add_user_to_group" | "remove_user_from_group" => {
            let user = provider.required(operation, args, "user")?;
            let group = provider.required(operation, args, "group_id")?;
            let (found, _) = provider
                .get(&format!("/api/v1/users/{}", encode(user)))
                .await?;
            let Some(user_id) = found["id"].as_str() else {
                return Err(provider
                    .bad_arguments(operation, format!("Okta answered no id for user `{user}`")));
            };
            let path = format!("/api/v1/groups/{}/users/{}", encode(group), encode(user_id));
            let method = if operation == "add_user_to_group" {
                Method::Put
            } else {
                Method::Delete
            };
            match provider.request(method, &path, None).await {
                Ok(_) => {}
                // Removing a membership that is already gone is what was asked for.
                Err(Failure::Provider { status: 404, .. }) if method == Method::Delete => {}
                Err(error) => return Err(error),
            }
            Ok(json!({ "user_id": user_id, "group_id": group }))
        }
        _ => Err(Failure::UnknownOperation {
            integration: connection.name.clone(),
            operation: operation.to_owned(),
            known: OPERATIONS.to_vec(),
        }),
    }
}
