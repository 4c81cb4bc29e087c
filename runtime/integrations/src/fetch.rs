//! A plugin's own HTTP request (the SDK's `requests`), through one of the environment's
//! `http` integrations: to the hosts it allows, with the auth header it builds from its
//! secret, so the plugin need never hold the token.

use std::time::{Duration, Instant};

use assent_outbound::{HostList, Method, Outbound, OutboundError, Request};
use assent_types::IntegrationType;

use crate::connection::Connection;
use crate::failure::Failure;
use crate::provider::CallRecord;

/// A request as a plugin makes it.
#[derive(Debug, Clone)]
pub struct FetchRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub timeout: Option<Duration>,
    /// The `http` integration to go through; by default the one whose `allowed_hosts` has
    /// the URL's host.
    pub integration: Option<String>,
}

#[derive(Debug, Clone)]
pub struct FetchResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

// Headers the client sets itself; a plugin's own would confuse the framing.
const CLIENT_HEADERS: &[&str] = &["host", "content-length", "connection", "transfer-encoding"];

/// Sends `request` through the chosen `http` integration of `connections`.
pub async fn fetch(
    outbound: &Outbound,
    connections: &[Connection],
    request: FetchRequest,
    records: &mut Vec<CallRecord>,
) -> Result<FetchResponse, Failure> {
    let web: Vec<&Connection> = connections
        .iter()
        .filter(|connection| connection.spec.integration_type == IntegrationType::Http)
        .collect();
    let allowed = |connection: &Connection| {
        HostList::parse(connection.setting("allowed_hosts").unwrap_or_default())
    };
    let chosen = match &request.integration {
        Some(name) => web
            .iter()
            .copied()
            .find(|connection| connection.name == *name)
            .ok_or_else(|| Failure::BadArguments {
                integration: name.clone(),
                operation: "fetch".into(),
                reason: format!(
                    "the flow's environment has no `http` integration `{name}`; add one, or leave the integration out to use the one allowing the URL's host"
                ),
            })?,
        None => {
            let (host, port) = host_and_port(&request.url);
            match web
                .iter()
                .copied()
                .find(|connection| allowed(connection).allows(&host, port))
            {
                Some(connection) => connection,
                None => {
                    let every: Vec<String> =
                        web.iter().map(|connection| allowed(connection).to_string()).collect();
                    return Err(Failure::Outbound {
                        integration: "http".into(),
                        error: OutboundError::HostNotAllowed {
                            host,
                            allowed: if every.is_empty() {
                                "no hosts: the flow's environment has no `http` integration".into()
                            } else {
                                every.join(", ")
                            },
                        },
                    });
                }
            }
        }
    };
    let method = Method::parse(&request.method).ok_or_else(|| Failure::BadArguments {
        integration: chosen.name.clone(),
        operation: "fetch".into(),
        reason: format!(
            "`{}` is not a method; use GET, HEAD, POST, PUT, PATCH or DELETE",
            request.method
        ),
    })?;
    let mut outgoing = Request::new(method, &request.url);
    outgoing.headers = request
        .headers
        .into_iter()
        .filter(|(name, _)| !CLIENT_HEADERS.contains(&name.to_ascii_lowercase().as_str()))
        .collect();
    outgoing.body = request.body;
    outgoing.timeout = request.timeout;
    if chosen.spec.settings.contains_key("auth_token_secret") {
        let header = chosen
            .setting("auth_header")
            .unwrap_or("authorization")
            .to_ascii_lowercase();
        if !outgoing
            .headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case(&header))
        {
            let token = chosen.secret("auth_token_secret")?;
            let value = match chosen.spec.settings.get("auth_scheme").map(String::as_str) {
                Some("") => token.expose().to_owned(),
                Some(scheme) => format!("{scheme} {}", token.expose()),
                None => format!("Bearer {}", token.expose()),
            };
            outgoing.headers.push((header, value));
        }
    }
    let (host, _) = host_and_port(&request.url);
    let path = path_of(&request.url);
    let started = Instant::now();
    let answer = outbound.send(outgoing, &allowed(chosen)).await;
    records.push(CallRecord {
        integration: chosen.name.clone(),
        method: method.as_str(),
        host,
        path,
        status: answer.as_ref().ok().map(|response| response.status),
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    });
    let response = answer.map_err(|error| Failure::Outbound {
        integration: chosen.name.clone(),
        error,
    })?;
    Ok(FetchResponse {
        status: response.status,
        headers: response.headers,
        body: response.body,
    })
}

/// The host and port of a URL, for choosing the integration (the outbound rules parse it
/// again, strictly).
fn host_and_port(url: &str) -> (String, u16) {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    let default = if scheme.eq_ignore_ascii_case("http") {
        80
    } else {
        443
    };
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => {
            match port.parse() {
                Ok(port) => (host.to_ascii_lowercase(), port),
                Err(_) => (authority.to_ascii_lowercase(), default),
            }
        }
        _ => (authority.to_ascii_lowercase(), default),
    }
}

fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = rest.find('/').map_or("/", |at| &rest[at..]);
    path.split(['?', '#']).next().unwrap_or("/").to_owned()
}
