//! GitHub's REST API (`https://api.github.com`, version 2022-11-28) with a token of the
//! integration's organisation (`Authorization: Bearer …`): repository collaborators, which
//! the GitHub strategy grants and takes back.

use assent_outbound::{Method, Response};
use serde_json::{Value, json};

use crate::failure::Failure;
use crate::provider::{Provider, encode, json_of, string_arg, with_details};

const OPERATIONS: &[&str] = &["is_collaborator", "add_collaborator", "remove_collaborator"];

// The permissions GitHub grants on a repository; anything else it refuses with a 422.
const PERMISSIONS: &[&str] = &["pull", "triage", "push", "maintain", "admin"];

/// A GitHub error body: `{"message": "Not Found", "documentation_url": "…"}`, with
/// `errors` on a validation failure.
fn explain(response: &Response) -> Option<String> {
    let body = &json_of(response);
    let message = body.get("message")?.as_str()?.to_owned();
    let details = body
        .get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|error| {
            error
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| error.as_str().map(str::to_owned))
        })
        .collect();
    Some(with_details(message, details))
}

pub(crate) async fn call(
    provider: &mut Provider<'_>,
    operation: &str,
    args: &Value,
) -> Result<Value, Failure> {
    let connection = provider.connection;
    let base = connection.base_url(|_| "https://api.github.com".to_owned());
    provider.at("GitHub", base, explain);
    let token = connection.secret("api_token_secret")?;
    provider.header("authorization", format!("Bearer {}", token.expose()));
    provider.header("accept", "application/vnd.github+json".to_owned());
    provider.header("x-github-api-version", "2022-11-28".to_owned());
    if !OPERATIONS.contains(&operation) {
        return Err(Failure::UnknownOperation {
            integration: connection.name.clone(),
            operation: operation.to_owned(),
            known: OPERATIONS.to_vec(),
        });
    }
    let owner = connection.spec.external_id.trim();
    let repo = provider.required(operation, args, "repo")?;
    let user = provider.required(operation, args, "user")?;
    let path = format!(
        "/repos/{}/{}/collaborators/{}",
        encode(owner),
        encode(repo),
        encode(user)
    );
    match operation {
        "is_collaborator" => match provider.request(Method::Get, &path, None).await {
            Ok(_) => Ok(json!(true)),
            Err(Failure::Provider { status: 404, .. }) => Ok(json!(false)),
            Err(error) => Err(error),
        },
        "add_collaborator" => {
            let permission = string_arg(args, "permission").unwrap_or("push");
            if !PERMISSIONS.contains(&permission) {
                return Err(provider.bad_arguments(
                    operation,
                    format!(
                        "`{permission}` is not a repository permission; use one of {}",
                        PERMISSIONS.join(", ")
                    ),
                ));
            }
            let body = json!({ "permission": permission });
            let answer = provider.request(Method::Put, &path, Some(&body)).await?;
            // 201 with an invitation for someone outside the organisation; 204 (no body)
            // when they are in it, or already a collaborator.
            Ok(json!({
                "repo": format!("{owner}/{repo}"),
                "user": user,
                "permission": permission,
                "invitation_id": answer.get("id").cloned().unwrap_or(Value::Null),
            }))
        }
        _ => {
            match provider.request(Method::Delete, &path, None).await {
                Ok(_) => {}
                // A collaborator already gone is what was asked for.
                Err(Failure::Provider { status: 404, .. }) => {}
                Err(error) => return Err(error),
            }
            Ok(json!({ "repo": format!("{owner}/{repo}"), "user": user }))
        }
    }
}
