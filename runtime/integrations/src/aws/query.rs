//! The AWS Query protocol (`POST /` with a form body, an XML answer) of IAM and STS: group
//! membership for the `aws_iam` strategy, and assuming the integration's role.

use assent_outbound::Method;
use assent_secrets::SecretValue;
use serde_json::{Value, json};

use crate::aws::sigv4::Credentials;
use crate::aws::{Aws, IAM, STS, Service};
use crate::failure::Failure;
use crate::provider::encode;

const IAM_VERSION: &str = "2010-05-08";
const STS_VERSION: &str = "2011-06-15";

// An assumed role's key lives as short as STS allows (15 minutes): it is made for one call.
const ROLE_SECONDS: &str = "900";

/// `AddUserToGroup` or `RemoveUserFromGroup`: `user` (an IAM user name) joins or leaves
/// `group`. Both are idempotent: IAM accepts adding a member, and a member already gone is
/// what removing asked for.
pub(crate) async fn group_membership(
    aws: &mut Aws<'_, '_>,
    operation: &str,
    args: &Value,
) -> Result<Value, Failure> {
    let group = aws.provider.required(operation, args, "group")?.to_owned();
    let user = aws.provider.required(operation, args, "user")?.to_owned();
    let (action, member) = if operation == "add_user_to_group" {
        ("AddUserToGroup", true)
    } else {
        ("RemoveUserFromGroup", false)
    };
    let params = [("GroupName", group.as_str()), ("UserName", user.as_str())];
    match send(aws, IAM, action, IAM_VERSION, &params).await {
        Ok(_) => {}
        Err(Failure::Provider { status: 404, .. }) if !member => {}
        Err(error) => return Err(error),
    }
    Ok(json!({ "group": group, "user": user, "member": member }))
}

/// A temporary key for the integration's `role_arn`, assumed with its own key.
pub(crate) async fn assume_role(aws: &mut Aws<'_, '_>, role: &str) -> Result<Credentials, Failure> {
    let connection = aws.connection();
    // Session names allow letters, digits and `+=,.@-`, up to 64 characters; CloudTrail
    // shows it, so it names the integration.
    let session: String = format!("assent-{}", connection.name)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    let mut params = vec![
        ("RoleArn", role),
        ("RoleSessionName", session.as_str()),
        ("DurationSeconds", ROLE_SECONDS),
    ];
    let external_id = connection.setting("role_external_id");
    if let Some(external_id) = external_id {
        params.push(("ExternalId", external_id));
    }
    let answer = send(aws, STS, "AssumeRole", STS_VERSION, &params).await?;
    let field = |tag: &str| xml_text(&answer, tag);
    match (
        field("AccessKeyId"),
        field("SecretAccessKey"),
        field("SessionToken"),
    ) {
        (Some(access_key_id), Some(secret), Some(token)) => Ok(Credentials {
            access_key_id,
            secret_access_key: SecretValue::new(secret),
            session_token: Some(SecretValue::new(token)),
        }),
        _ => Err(Failure::BadArguments {
            integration: connection.name.clone(),
            operation: "AssumeRole".into(),
            reason: format!("STS answered no credentials for role `{role}`"),
        }),
    }
}

/// One Query action; answers the XML body.
async fn send(
    aws: &mut Aws<'_, '_>,
    service: Service,
    action: &str,
    version: &str,
    params: &[(&str, &str)],
) -> Result<Vec<u8>, Failure> {
    let mut form = format!("Action={action}&Version={version}");
    for (name, value) in params {
        form.push_str(&format!("&{name}={}", encode(value)));
    }
    aws.at(service);
    let response = aws
        .provider
        .exchange(
            Method::Post,
            "/",
            &[("accept", "text/xml".to_owned())],
            Some((
                "application/x-www-form-urlencoded; charset=utf-8",
                form.into_bytes(),
            )),
        )
        .await?;
    Ok(response.body)
}

/// The text of the first `<tag>…</tag>` in an XML answer, unescaped. The Query protocol's
/// answers are flat enough that the few fields read here need no parser.
pub(crate) fn xml_text(body: &[u8], tag: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let open = format!("<{tag}>");
    let start = text.find(&open)? + open.len();
    let end = start + text[start..].find(&format!("</{tag}>"))?;
    Some(
        text[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_fields_are_read_and_unescaped() {
        let answer = b"<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>s&amp;k</SecretAccessKey></Credentials></AssumeRoleResult></AssumeRoleResponse>";
        assert_eq!(xml_text(answer, "AccessKeyId").as_deref(), Some("ASIA1"));
        assert_eq!(xml_text(answer, "SecretAccessKey").as_deref(), Some("s&k"));
        assert_eq!(xml_text(answer, "SessionToken"), None);
    }
}
