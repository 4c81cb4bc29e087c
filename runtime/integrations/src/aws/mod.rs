//! AWS, through an `aws` integration (Sym's `permission_context`): Lambda, IAM Identity
//! Center and IAM, every request signed (Signature Version 4) with the integration's access
//! key, or with a role assumed with it (STS) when the integration names a `role_arn`.
//!
//! - `sigv4`: signing;
//! - `lambda`: invoking a function, as Sym's `aws_lambda` does;
//! - `identity_center`: permission set assignments (the `aws_sso` strategy);
//! - `query`: the Query protocol of IAM (groups, the `aws_iam` strategy) and STS (roles).
//!
//! Settings: `region` (default `us-east-1`); `access_key_id` (or `access_key_id_secret`),
//! `secret_access_key_secret` and optionally `session_token_secret`; `role_arn` and
//! `role_external_id` to assume a role; `sso_instance_arn` (and `identity_store_id`, to
//! skip looking it up) for Identity Center when the account has more than one instance; `api_url` to send every service's requests to
//! one base (a VPC endpoint, a test double).

mod identity_center;
mod lambda;
mod query;
pub(crate) mod sigv4;

use assent_outbound::Response;
use serde_json::Value;

use crate::connection::Connection;
use crate::failure::Failure;
use crate::provider::{Provider, json_of};
use sigv4::{Credentials, Signer};

const OPERATIONS: &[&str] = &[
    "invoke",
    "invoke_async",
    "create_account_assignment",
    "delete_account_assignment",
    "add_user_to_group",
    "remove_user_from_group",
];

// Error codes with which AWS says "slow down" (most services with a 400, Lambda with a 429).
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
];

pub(crate) async fn call(
    provider: &mut Provider<'_>,
    operation: &str,
    args: &Value,
) -> Result<Value, Failure> {
    let connection = provider.connection;
    if !OPERATIONS.contains(&operation) {
        return Err(Failure::UnknownOperation {
            integration: connection.name.clone(),
            operation: operation.to_owned(),
            known: OPERATIONS.to_vec(),
        });
    }
    let mut aws = Aws::connect(provider).await?;
    match operation {
        "invoke" | "invoke_async" => lambda::call(&mut aws, operation, args).await,
        "create_account_assignment" | "delete_account_assignment" => {
            identity_center::call(&mut aws, operation, args).await
        }
        _ => query::group_membership(&mut aws, operation, args).await,
    }
}

/// One integration's AWS account, with the credentials to sign for it.
pub(crate) struct Aws<'p, 'a> {
    pub(crate) provider: &'p mut Provider<'a>,
    region: String,
    credentials: Credentials,
}

/// An AWS service: its endpoint prefix and the name requests to it are signed for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Service {
    pub(crate) label: &'static str,
    endpoint: &'static str,
    signing_name: &'static str,
    /// Served from one endpoint for the whole partition (IAM), not per region.
    global: bool,
    /// What an AWS JSON 1.1 action's `x-amz-target` starts with; empty for other protocols.
    pub(crate) target_prefix: &'static str,
}

pub(crate) const LAMBDA: Service = Service {
    label: "AWS Lambda",
    endpoint: "lambda",
    signing_name: "lambda",
    global: false,
    target_prefix: "",
};
pub(crate) const SSO_ADMIN: Service = Service {
    label: "AWS IAM Identity Center",
    endpoint: "sso",
    signing_name: "sso",
    global: false,
    target_prefix: "SWBExternalService",
};
pub(crate) const IDENTITY_STORE: Service = Service {
    label: "AWS Identity Store",
    endpoint: "identitystore",
    signing_name: "identitystore",
    global: false,
    target_prefix: "AWSIdentityStore",
};
pub(crate) const IAM: Service = Service {
    label: "AWS IAM",
    endpoint: "iam",
    signing_name: "iam",
    global: true,
    target_prefix: "",
};
pub(crate) const STS: Service = Service {
    label: "AWS STS",
    endpoint: "sts",
    signing_name: "sts",
    global: false,
    target_prefix: "",
};

impl<'p, 'a> Aws<'p, 'a> {
    /// The integration's credentials: its access key, or a role assumed with it.
    async fn connect(provider: &'p mut Provider<'a>) -> Result<Aws<'p, 'a>, Failure> {
        let connection = provider.connection;
        let region = connection
            .setting("region")
            .unwrap_or("us-east-1")
            .to_owned();
        let access_key_id = match connection.setting("access_key_id") {
            Some(id) => id.to_owned(),
            None => connection
                .secret("access_key_id_secret")?
                .expose()
                .to_owned(),
        };
        let credentials = Credentials {
            access_key_id,
            secret_access_key: connection.secret("secret_access_key_secret")?.clone(),
            session_token: connection.secrets.get("session_token_secret").cloned(),
        };
        let mut aws = Aws {
            provider,
            region,
            credentials,
        };
        if let Some(role) = connection.setting("role_arn") {
            aws.credentials = query::assume_role(&mut aws, role).await?;
        }
        Ok(aws)
    }

    /// Points the provider at `service`, signing for it.
    pub(crate) fn at(&mut self, service: Service) {
        let connection = self.provider.connection;
        let (host, signing_region) = endpoint(service, &self.region);
        let base = connection.base_url(|_| format!("https://{host}"));
        self.provider.at(service.label, base, explain);
        self.provider.sign_with(
            Signer {
                credentials: self.credentials.clone(),
                region: signing_region,
                service: service.signing_name,
            },
            throttled,
        );
    }

    pub(crate) fn connection(&self) -> &'a Connection {
        self.provider.connection
    }
}

/// The host of `service` in `region`, and the region requests to it are signed for (IAM's
/// one endpoint per partition signs for the partition's first region).
fn endpoint(service: Service, region: &str) -> (String, String) {
    let (suffix, home) = if region.starts_with("cn-") {
        ("amazonaws.com.cn", "cn-north-1")
    } else if region.starts_with("us-gov-") {
        ("amazonaws.com", "us-gov-west-1")
    } else {
        ("amazonaws.com", "us-east-1")
    };
    match (service.global, home) {
        (true, "us-gov-west-1") => (format!("{}.us-gov.{suffix}", service.endpoint), home.into()),
        (true, "cn-north-1") => (format!("{}.{home}.{suffix}", service.endpoint), home.into()),
        (true, _) => (format!("{}.{suffix}", service.endpoint), home.into()),
        (false, _) => (
            format!("{}.{region}.{suffix}", service.endpoint),
            region.to_owned(),
        ),
    }
}

/// An AWS error's code, from the `x-amzn-ErrorType` header, a JSON `__type` or `code`, or
/// the Query protocol's `<Code>`.
fn error_code(response: &Response) -> Option<String> {
    let from_header = response
        .header("x-amzn-errortype")
        .and_then(|kind| kind.split(':').next());
    let body = json_of(response);
    let from_json = body
        .get("__type")
        .or_else(|| body.get("code"))
        .and_then(Value::as_str)
        .map(|kind| kind.rsplit('#').next().unwrap_or(kind));
    from_header
        .or(from_json)
        .map(str::to_owned)
        .or_else(|| query::xml_text(&response.body, "Code"))
        .filter(|code| !code.is_empty())
}

/// An AWS error in its own words: the message and the code.
fn explain(response: &Response) -> Option<String> {
    let body = json_of(response);
    let message = body
        .get("message")
        .or_else(|| body.get("Message"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| query::xml_text(&response.body, "Message"));
    match (message, error_code(response)) {
        (Some(message), Some(code)) => Some(format!("{message} ({code})")),
        (Some(message), None) => Some(message),
        (None, code) => code,
    }
}

fn throttled(response: &Response) -> bool {
    response.status == 429
        || error_code(response).is_some_and(|code| THROTTLING.contains(&code.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_follow_the_region_and_partition() {
        assert_eq!(
            endpoint(LAMBDA, "eu-west-1"),
            ("lambda.eu-west-1.amazonaws.com".into(), "eu-west-1".into())
        );
        assert_eq!(
            endpoint(IAM, "eu-west-1"),
            ("iam.amazonaws.com".into(), "us-east-1".into())
        );
        assert_eq!(
            endpoint(IAM, "us-gov-east-1"),
            ("iam.us-gov.amazonaws.com".into(), "us-gov-west-1".into())
        );
        assert_eq!(
            endpoint(SSO_ADMIN, "cn-northwest-1"),
            (
                "sso.cn-northwest-1.amazonaws.com.cn".into(),
                "cn-northwest-1".into()
            )
        );
    }

    #[test]
    fn errors_are_read_in_each_protocol() {
        let answer = |status, headers: Vec<(String, String)>, body: &str| Response {
            status,
            headers,
            body: body.as_bytes().to_vec(),
            url: String::new(),
        };
        let lambda = answer(
            404,
            vec![(
                "x-amzn-ErrorType".into(),
                "ResourceNotFoundException:http://internal.amazon.com/".into(),
            )],
            r#"{"Type":"User","Message":"Function not found: arn:aws:lambda:us-east-1:1:function:f"}"#,
        );
        assert_eq!(
            explain(&lambda).as_deref(),
            Some(
                "Function not found: arn:aws:lambda:us-east-1:1:function:f (ResourceNotFoundException)"
            )
        );
        let json = answer(
            400,
            vec![],
            r#"{"__type":"com.amazonaws.swbexternalservice#ThrottlingException","message":"Rate exceeded"}"#,
        );
        assert!(throttled(&json));
        let xml = answer(
            404,
            vec![],
            "<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The group with name ops cannot be found.</Message></Error></ErrorResponse>",
        );
        assert_eq!(
            explain(&xml).as_deref(),
            Some("The group with name ops cannot be found. (NoSuchEntity)")
        );
        assert!(!throttled(&xml));
    }
}
