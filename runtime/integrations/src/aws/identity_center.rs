//! IAM Identity Center (the `sso` and `identitystore` services, AWS JSON 1.1): a person's
//! assignment to a permission set in an account, which the `aws_sso` strategy creates at
//! escalation and deletes at deescalation.

use std::time::Duration;

use assent_outbound::Method;
use serde_json::{Value, json};

use crate::aws::{Aws, IDENTITY_STORE, SSO_ADMIN, Service};
use crate::failure::Failure;
use crate::provider::{json_of, string_arg};

// An assignment is made asynchronously; AWS finishes one in a second or two. Polling every
// 500 ms for up to 10 s keeps the step well inside the worker's 30 s lease.
const POLL_EVERY: Duration = Duration::from_millis(500);
const POLLS: usize = 20;

/// The instance and identity store the assignment is made in.
struct Instance {
    arn: String,
    identity_store: String,
}

pub(crate) async fn call(
    aws: &mut Aws<'_, '_>,
    operation: &str,
    args: &Value,
) -> Result<Value, Failure> {
    let permission_set = aws
        .provider
        .required(operation, args, "permission_set_arn")?
        .to_owned();
    let account = aws
        .provider
        .required(operation, args, "account_id")?
        .to_owned();
    let instance = instance(aws).await?;
    let principal = match string_arg(args, "user_id") {
        Some(id) => id.to_owned(),
        None => {
            let email = aws.provider.required(operation, args, "user")?.to_owned();
            user_id(aws, &instance, &email).await?
        }
    };
    let assignment = json!({
        "InstanceArn": instance.arn,
        "PermissionSetArn": permission_set,
        "PrincipalId": principal,
        "PrincipalType": "USER",
        "TargetId": account,
        "TargetType": "AWS_ACCOUNT",
    });
    let (action, status_key, describe, request_key) = if operation == "create_account_assignment" {
        (
            "CreateAccountAssignment",
            "AccountAssignmentCreationStatus",
            "DescribeAccountAssignmentCreationStatus",
            "AccountAssignmentCreationRequestId",
        )
    } else {
        (
            "DeleteAccountAssignment",
            "AccountAssignmentDeletionStatus",
            "DescribeAccountAssignmentDeletionStatus",
            "AccountAssignmentDeletionRequestId",
        )
    };
    let answer = match target(aws, SSO_ADMIN, action, &assignment).await {
        Ok(answer) => answer,
        // Deleting an assignment that is gone is what was asked for.
        Err(Failure::Provider { status: 404, .. }) if action == "DeleteAccountAssignment" => {
            return Ok(outcome(&assignment, "SUCCEEDED"));
        }
        Err(error) => return Err(error),
    };
    let mut status = answer[status_key].clone();
    for _ in 0..POLLS {
        match status["Status"].as_str() {
            Some("IN_PROGRESS") => {}
            Some("FAILED") => {
                return Err(Failure::OperationFailed {
                    provider: SSO_ADMIN.label,
                    what: format!(
                        "{} permission set `{permission_set}` in account `{account}`",
                        if action == "CreateAccountAssignment" {
                            "assigning"
                        } else {
                            "removing the assignment of"
                        }
                    ),
                    message: status["FailureReason"]
                        .as_str()
                        .unwrap_or("no reason given")
                        .to_owned(),
                });
            }
            _ => break,
        }
        tokio::time::sleep(POLL_EVERY).await;
        let asked = json!({ "InstanceArn": instance.arn, request_key: status["RequestId"] });
        status = target(aws, SSO_ADMIN, describe, &asked).await?[status_key].clone();
    }
    // Still in progress after the polls: AWS finishes it on its own.
    Ok(outcome(
        &assignment,
        status["Status"].as_str().unwrap_or("IN_PROGRESS"),
    ))
}

fn outcome(assignment: &Value, status: &str) -> Value {
    json!({
        "instance_arn": assignment["InstanceArn"],
        "permission_set_arn": assignment["PermissionSetArn"],
        "account_id": assignment["TargetId"],
        "principal_id": assignment["PrincipalId"],
        "status": status,
    })
}

/// The integration's `sso_instance_arn`, or the organisation's one instance.
async fn instance(aws: &mut Aws<'_, '_>) -> Result<Instance, Failure> {
    let connection = aws.connection();
    let wanted = connection.setting("sso_instance_arn").map(str::to_owned);
    if let (Some(arn), Some(store)) = (&wanted, connection.setting("identity_store_id")) {
        return Ok(Instance {
            arn: arn.clone(),
            identity_store: store.to_owned(),
        });
    }
    let listed = target(aws, SSO_ADMIN, "ListInstances", &json!({})).await?;
    let instances: Vec<Instance> = listed["Instances"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|instance| {
            Some(Instance {
                arn: instance["InstanceArn"].as_str()?.to_owned(),
                identity_store: instance["IdentityStoreId"].as_str()?.to_owned(),
            })
        })
        .collect();
    let name = aws.connection().name.clone();
    let bad = |reason: String| Failure::BadArguments {
        integration: name.clone(),
        operation: "IAM Identity Center".into(),
        reason,
    };
    match wanted {
        Some(arn) => instances
            .into_iter()
            .find(|instance| instance.arn == arn)
            .ok_or_else(|| {
                bad(format!(
                    "the account has no Identity Center instance `{arn}`; check the integration's `sso_instance_arn`"
                ))
            }),
        None => {
            let count = instances.len();
            let mut instances = instances.into_iter();
            match (instances.next(), count) {
                (Some(only), 1) => Ok(only),
                (None, _) => Err(bad(
                    "the account has no IAM Identity Center instance; enable Identity Center, or point the integration at the organisation's management account".into(),
                )),
                _ => Err(bad(format!(
                    "the account has {count} Identity Center instances; set the integration's `sso_instance_arn` to the one to use"
                ))),
            }
        }
    }
}

/// The identity store's id for the person with `email`.
async fn user_id(
    aws: &mut Aws<'_, '_>,
    instance: &Instance,
    email: &str,
) -> Result<String, Failure> {
    let asked = json!({
        "IdentityStoreId": instance.identity_store,
        "AlternateIdentifier": {
            "UniqueAttribute": { "AttributePath": "emails.value", "AttributeValue": email }
        },
    });
    let found = target(aws, IDENTITY_STORE, "GetUserId", &asked).await?;
    found["UserId"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| Failure::BadArguments {
            integration: aws.connection().name.clone(),
            operation: "GetUserId".into(),
            reason: format!("the identity store answered no user id for `{email}`"),
        })
}

/// One AWS JSON 1.1 action: `POST /` with `x-amz-target: {prefix}.{action}`.
async fn target(
    aws: &mut Aws<'_, '_>,
    service: Service,
    action: &str,
    body: &Value,
) -> Result<Value, Failure> {
    aws.at(service);
    let response = aws
        .provider
        .exchange(
            Method::Post,
            "/",
            &[(
                "x-amz-target",
                format!("{}.{action}", service.target_prefix),
            )],
            Some(("application/x-amz-json-1.1", body.to_string().into_bytes())),
        )
        .await?;
    Ok(json_of(&response))
}
