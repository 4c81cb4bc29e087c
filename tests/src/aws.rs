//! A fake AWS on 127.0.0.1: Lambda `Invoke`, IAM Identity Center (`sso` and `identitystore`,
//! AWS JSON 1.1), IAM and STS (the Query protocol), at one base URL (an `aws` integration's
//! `api_url`), speaking the paths, targets, actions, bodies and error shapes of AWS's API
//! references.
//!
//! Every request must carry a valid Signature Version 4 for the service it is addressed to,
//! checked here on the bytes received: an unknown key, a wrong signature or a session key
//! without its token is refused as AWS refuses it. Requests are recorded; the state
//! (functions, users, groups, assignments) is set by the test and changes as the server calls.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::providers::Recorded;

/// What a fake Lambda function does when invoked.
#[derive(Debug, Clone)]
pub enum Function {
    /// Answers this payload.
    Answers(Value),
    /// Raises, as an unhandled Python exception does.
    Raises(String),
}

#[derive(Debug, Default)]
struct Aws {
    /// Long-term keys: id → secret.
    keys: BTreeMap<String, String>,
    /// Roles that may be assumed, with the external id each requires.
    roles: BTreeMap<String, Option<String>>,
    /// Issued session keys: id → (secret, token).
    sessions: BTreeMap<String, (String, String)>,
    functions: BTreeMap<String, Function>,
    /// Payloads each function was invoked with, and how (`RequestResponse`, `Event`).
    invocations: Vec<(String, String, Value)>,
    instance: Option<(String, String)>,
    permission_sets: BTreeSet<String>,
    /// Identity store users: email → user id.
    sso_users: BTreeMap<String, String>,
    /// (permission set, account, principal).
    assignments: BTreeSet<(String, String, String)>,
    iam_users: BTreeSet<String>,
    iam_groups: BTreeMap<String, BTreeSet<String>>,
    /// Answers the next requests with AWS's throttling error.
    throttle: usize,
    calls: Vec<Recorded>,
}

type Shared = Arc<Mutex<Aws>>;

/// The running fake.
#[derive(Debug, Clone)]
pub struct FakeAws {
    pub addr: SocketAddr,
    state: Shared,
}

impl FakeAws {
    pub async fn start() -> FakeAws {
        let state = Shared::default();
        let app = Router::new()
            .route("/aws/", any(arrive))
            .route("/aws/{*rest}", any(arrive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeAws { addr, state }
    }

    /// The `api_url` of an `aws` integration pointed at the fake.
    pub fn url(&self) -> String {
        format!("http://{}/aws", self.addr)
    }

    fn with<T>(&self, change: impl FnOnce(&mut Aws) -> T) -> T {
        change(&mut self.state.lock().unwrap())
    }

    /// An access key the fake accepts.
    pub fn add_key(&self, id: &str, secret: &str) {
        self.with(|aws| aws.keys.insert(id.into(), secret.into()));
    }

    /// A role that may be assumed (with `external_id`, if it requires one).
    pub fn add_role(&self, arn: &str, external_id: Option<&str>) {
        self.with(|aws| aws.roles.insert(arn.into(), external_id.map(str::to_owned)));
    }

    pub fn add_function(&self, arn: &str, function: Function) {
        self.with(|aws| aws.functions.insert(arn.into(), function));
    }

    /// Each invocation: the function, the invocation type, the payload.
    pub fn invocations(&self) -> Vec<(String, String, Value)> {
        self.with(|aws| aws.invocations.clone())
    }

    /// The organisation's Identity Center instance, its identity store, and a permission set.
    pub fn add_identity_center(&self, instance: &str, store: &str, permission_set: &str) {
        self.with(|aws| {
            aws.instance = Some((instance.into(), store.into()));
            aws.permission_sets.insert(permission_set.into());
        });
    }

    pub fn add_sso_user(&self, email: &str, user_id: &str) {
        self.with(|aws| aws.sso_users.insert(email.into(), user_id.into()));
    }

    /// Account assignments: (permission set, account, user id).
    pub fn assignments(&self) -> Vec<(String, String, String)> {
        self.with(|aws| aws.assignments.iter().cloned().collect())
    }

    pub fn add_iam_user(&self, name: &str) {
        self.with(|aws| aws.iam_users.insert(name.into()));
    }

    pub fn add_iam_group(&self, name: &str) {
        self.with(|aws| aws.iam_groups.insert(name.into(), BTreeSet::new()));
    }

    pub fn iam_members(&self, group: &str) -> Vec<String> {
        self.with(|aws| {
            aws.iam_groups
                .get(group)
                .map(|members| members.iter().cloned().collect())
                .unwrap_or_default()
        })
    }

    /// Throttles the next `count` requests, as AWS does under load.
    pub fn throttle_next(&self, count: usize) {
        self.with(|aws| aws.throttle = count);
    }

    pub fn calls(&self) -> Vec<Recorded> {
        self.with(|aws| aws.calls.clone())
    }
}

/// Which protocol a service speaks, for its error bodies.
#[derive(Clone, Copy, PartialEq)]
enum Protocol {
    RestJson,
    Json,
    Query,
}

fn protocol(service: &str) -> Protocol {
    match service {
        "lambda" => Protocol::RestJson,
        "iam" | "sts" => Protocol::Query,
        _ => Protocol::Json,
    }
}

/// AWS's error answer in the service's protocol.
fn error(protocol: Protocol, status: StatusCode, code: &str, message: &str) -> Response {
    match protocol {
        Protocol::Query => (
            status,
            [("content-type", "text/xml")],
            format!(
                "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fake-request</RequestId></ErrorResponse>"
            ),
        )
            .into_response(),
        Protocol::RestJson => (
            status,
            [("x-amzn-ErrorType", format!("{code}:http://internal.amazon.com/coral/com.amazonaws.awsgirapi/"))],
            axum::Json(json!({ "Type": "User", "Message": message })),
        )
            .into_response(),
        Protocol::Json => (
            status,
            axum::Json(json!({ "__type": code, "message": message })),
        )
            .into_response(),
    }
}

async fn arrive(
    axum::extract::State(state): axum::extract::State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let mut aws = state.lock().unwrap();
    aws.calls.push(Recorded {
        provider: "aws",
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        headers: headers
            .iter()
            .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_owned())))
            .collect(),
        body: body.to_vec(),
    });
    let service = match verify(&aws, &method, &uri, &headers, &body) {
        Ok(service) => service,
        Err(answer) => return *answer,
    };
    let protocol = protocol(&service);
    if aws.throttle > 0 {
        aws.throttle -= 1;
        let (status, code) = match protocol {
            Protocol::RestJson => (StatusCode::TOO_MANY_REQUESTS, "TooManyRequestsException"),
            Protocol::Query => (StatusCode::BAD_REQUEST, "Throttling"),
            Protocol::Json => (StatusCode::BAD_REQUEST, "ThrottlingException"),
        };
        return error(protocol, status, code, "Rate exceeded");
    }
    match service.as_str() {
        "lambda" => lambda(
            &mut aws,
            uri.path(),
            &header("x-amz-invocation-type"),
            &body,
        ),
        "sso" | "identitystore" => {
            let target = header("x-amz-target");
            let asked: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            identity_center(&mut aws, &target, &asked)
        }
        _ => {
            let form: BTreeMap<String, String> =
                serde_urlencoded::from_bytes(&body).unwrap_or_default();
            query(&mut aws, &service, &form)
        }
    }
}

/// Checks the request's Signature Version 4; answers the service it was signed for.
fn verify(
    aws: &Aws,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<String, Box<Response>> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let authorization = header("authorization").unwrap_or_default();
    let fields: BTreeMap<&str, &str> = authorization
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .unwrap_or_default()
        .split(", ")
        .filter_map(|field| field.split_once('='))
        .collect();
    let credential = fields.get("Credential").copied().unwrap_or_default();
    let parts: Vec<&str> = credential.split('/').collect();
    let [key_id, date, region, service, "aws4_request"] = parts.as_slice() else {
        return Err(Box::new(error(
            Protocol::Json,
            StatusCode::FORBIDDEN,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        )));
    };
    let protocol = protocol(service);
    let secret = match (aws.keys.get(*key_id), aws.sessions.get(*key_id)) {
        (Some(secret), _) => secret.clone(),
        (None, Some((secret, token))) => {
            if header("x-amz-security-token") != Some(token.as_str()) {
                return Err(Box::new(error(
                    protocol,
                    StatusCode::FORBIDDEN,
                    "InvalidClientTokenId",
                    "The security token included in the request is invalid.",
                )));
            }
            secret.clone()
        }
        (None, None) => {
            let code = if protocol == Protocol::Query {
                "InvalidClientTokenId"
            } else {
                "UnrecognizedClientException"
            };
            return Err(Box::new(error(
                protocol,
                StatusCode::FORBIDDEN,
                code,
                "The security token included in the request is invalid.",
            )));
        }
    };
    let signed_headers = fields.get("SignedHeaders").copied().unwrap_or_default();
    let canonical_headers: String = signed_headers
        .split(';')
        .map(|name| format!("{name}:{}\n", header(name).unwrap_or_default().trim()))
        .collect();
    let canonical_uri: String = uri
        .path()
        .split('/')
        .map(|segment| {
            segment
                .bytes()
                .map(|byte| {
                    if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
                        (byte as char).to_string()
                    } else {
                        format!("%{byte:02X}")
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("/");
    let mut query: Vec<&str> = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .collect();
    query.sort();
    let canonical_request = format!(
        "{method}\n{canonical_uri}\n{}\n{canonical_headers}\n{signed_headers}\n{}",
        query.join("&"),
        hex::encode(Sha256::digest(body))
    );
    let amz_date = header("x-amz-date").unwrap_or_default();
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{date}/{region}/{service}/aws4_request\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let mut key = format!("AWS4{secret}").into_bytes();
    for part in [*date, *region, *service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let expected = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    let signed_host = signed_headers.split(';').any(|name| name == "host");
    if fields.get("Signature").copied() != Some(expected.as_str()) || !signed_host {
        let code = if protocol == Protocol::Query {
            "SignatureDoesNotMatch"
        } else {
            "InvalidSignatureException"
        };
        return Err(Box::new(error(
            protocol,
            StatusCode::FORBIDDEN,
            code,
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.",
        )));
    }
    Ok((*service).to_owned())
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// `POST /2015-03-31/functions/{name}/invocations`.
fn lambda(aws: &mut Aws, path: &str, invocation: &str, body: &[u8]) -> Response {
    let function = path
        .strip_prefix("/aws/2015-03-31/functions/")
        .and_then(|rest| rest.strip_suffix("/invocations"))
        .map(|name| name.replace("%3A", ":"))
        .unwrap_or_default();
    let Some(behaviour) = aws.functions.get(&function).cloned() else {
        return error(
            Protocol::RestJson,
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!("Function not found: {function}"),
        );
    };
    let payload: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let invocation = if invocation.is_empty() {
        "RequestResponse"
    } else {
        invocation
    };
    aws.invocations
        .push((function, invocation.to_owned(), payload));
    if invocation == "Event" {
        return StatusCode::ACCEPTED.into_response();
    }
    match behaviour {
        Function::Answers(answer) => axum::Json(answer).into_response(),
        Function::Raises(message) => (
            StatusCode::OK,
            [("x-amz-function-error", "Unhandled")],
            axum::Json(json!({ "errorMessage": message, "errorType": "Exception" })),
        )
            .into_response(),
    }
}

/// The `sso` and `identitystore` actions Assent uses.
fn identity_center(aws: &mut Aws, target: &str, asked: &Value) -> Response {
    let not_found = |message: &str| {
        error(
            Protocol::Json,
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            message,
        )
    };
    let (instance, store) = aws.instance.clone().unwrap_or_default();
    let text = |key: &str| asked[key].as_str().unwrap_or_default().to_owned();
    match target {
        "SWBExternalService.ListInstances" => {
            let instances: Vec<Value> = aws
                .instance
                .iter()
                .map(|(arn, store)| json!({ "InstanceArn": arn, "IdentityStoreId": store, "Status": "ACTIVE" }))
                .collect();
            axum::Json(json!({ "Instances": instances })).into_response()
        }
        "AWSIdentityStore.GetUserId" => {
            let email = asked["AlternateIdentifier"]["UniqueAttribute"]["AttributeValue"]
                .as_str()
                .unwrap_or_default();
            if text("IdentityStoreId") != store {
                return not_found("IDENTITY_STORE not found.");
            }
            match aws.sso_users.get(email) {
                Some(id) => axum::Json(json!({ "UserId": id, "IdentityStoreId": store }))
                    .into_response(),
                None => not_found("USER not found."),
            }
        }
        "SWBExternalService.CreateAccountAssignment"
        | "SWBExternalService.DeleteAccountAssignment" => {
            if text("InstanceArn") != instance {
                return not_found("Instance not found");
            }
            let permission_set = text("PermissionSetArn");
            if !aws.permission_sets.contains(&permission_set) {
                return not_found(&format!("PermissionSet {permission_set} not found"));
            }
            let assignment = (permission_set, text("TargetId"), text("PrincipalId"));
            let creating = target.ends_with("CreateAccountAssignment");
            let key = if creating {
                aws.assignments.insert(assignment);
                "AccountAssignmentCreationStatus"
            } else {
                if !aws.assignments.remove(&assignment) {
                    return not_found("AccountAssignment not found");
                }
                "AccountAssignmentDeletionStatus"
            };
            axum::Json(json!({ key: { "Status": "IN_PROGRESS", "RequestId": "req-1" } }))
                .into_response()
        }
        "SWBExternalService.DescribeAccountAssignmentCreationStatus" => axum::Json(
            json!({ "AccountAssignmentCreationStatus": { "Status": "SUCCEEDED", "RequestId": asked["AccountAssignmentCreationRequestId"] } }),
        )
        .into_response(),
        "SWBExternalService.DescribeAccountAssignmentDeletionStatus" => axum::Json(
            json!({ "AccountAssignmentDeletionStatus": { "Status": "SUCCEEDED", "RequestId": asked["AccountAssignmentDeletionRequestId"] } }),
        )
        .into_response(),
        other => error(
            Protocol::Json,
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            &format!("unknown operation {other}"),
        ),
    }
}

/// IAM's group actions and STS's `AssumeRole`.
fn query(aws: &mut Aws, service: &str, form: &BTreeMap<String, String>) -> Response {
    let field = |name: &str| form.get(name).cloned().unwrap_or_default();
    let done = |action: &str, result: String| {
        (
            [("content-type", "text/xml")],
            format!(
                "<{action}Response xmlns=\"https://{service}.amazonaws.com/doc/\">{result}<ResponseMetadata><RequestId>fake-request</RequestId></ResponseMetadata></{action}Response>"
            ),
        )
            .into_response()
    };
    let not_found = |message: String| {
        error(
            Protocol::Query,
            StatusCode::NOT_FOUND,
            "NoSuchEntity",
            &message,
        )
    };
    let action = field("Action");
    match (service, action.as_str()) {
        ("sts", "AssumeRole") => {
            let role = field("RoleArn");
            let Some(required) = aws.roles.get(&role).cloned() else {
                return error(
                    Protocol::Query,
                    StatusCode::FORBIDDEN,
                    "AccessDenied",
                    &format!(
                        "User is not authorized to perform: sts:AssumeRole on resource: {role}"
                    ),
                );
            };
            if required.is_some() && form.get("ExternalId") != required.as_ref() {
                return error(
                    Protocol::Query,
                    StatusCode::FORBIDDEN,
                    "AccessDenied",
                    &format!(
                        "User is not authorized to perform: sts:AssumeRole on resource: {role}"
                    ),
                );
            }
            let n = aws.sessions.len() + 1;
            let (id, secret, token) = (
                format!("ASIAFAKESESSION{n}"),
                format!("session-secret-{n}"),
                format!("session-token-{n}"),
            );
            aws.sessions
                .insert(id.clone(), (secret.clone(), token.clone()));
            done(
                "AssumeRole",
                format!(
                    "<AssumeRoleResult><Credentials><AccessKeyId>{id}</AccessKeyId><SecretAccessKey>{secret}</SecretAccessKey><SessionToken>{token}</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult>"
                ),
            )
        }
        ("iam", "AddUserToGroup" | "RemoveUserFromGroup") => {
            let (group, user) = (field("GroupName"), field("UserName"));
            if !aws.iam_users.contains(&user) {
                return not_found(format!("The user with name {user} cannot be found."));
            }
            let Some(members) = aws.iam_groups.get_mut(&group) else {
                return not_found(format!("The group with name {group} cannot be found."));
            };
            if action == "AddUserToGroup" {
                members.insert(user);
            } else {
                members.remove(&user);
            }
            done(&action, String::new())
        }
        _ => error(
            Protocol::Query,
            StatusCode::BAD_REQUEST,
            "InvalidAction",
            &format!("Could not find operation {action}"),
        ),
    }
}
