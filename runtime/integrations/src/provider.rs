//! What every provider call shares: its base URL and auth header, the outbound rules, a
//! record of each request for the audit log, and the provider's errors in its own words.

use std::time::Instant;

use assent_outbound::{HostList, Method, Outbound, Request, Response};
use serde::Serialize;
use serde_json::Value;

use crate::aws::sigv4::Signer;
use crate::connection::Connection;
use crate::failure::Failure;

/// One request made for a plugin, as the run's audit log keeps it: never a header, a body or
/// a query (any of which may carry a secret or personal data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallRecord {
    pub integration: String,
    pub method: &'static str,
    pub host: String,
    pub path: String,
    /// The provider's status; none when no answer came.
    pub status: Option<u16>,
    pub duration_ms: u64,
}

/// A provider's API, for one call of a plugin.
pub(crate) struct Provider<'a> {
    outbound: &'a Outbound,
    pub(crate) connection: &'a Connection,
    records: &'a mut Vec<CallRecord>,
    /// The API base, without a trailing `/`.
    base: String,
    /// The one host the provider's requests (and their paging links) may go to.
    hosts: HostList,
    headers: Vec<(String, String)>,
    /// How the provider is named in errors ("Okta").
    pub(crate) label: &'static str,
    /// Reads the provider's error message out of an error answer.
    explain: fn(&Response) -> Option<String>,
    /// Whether an error answer means "slow down": AWS throttles with a 400.
    throttled: fn(&Response) -> bool,
    /// Signs each request (AWS); other providers authenticate with a header.
    signer: Option<Signer>,
}

impl<'a> Provider<'a> {
    pub(crate) fn new(
        outbound: &'a Outbound,
        connection: &'a Connection,
        records: &'a mut Vec<CallRecord>,
    ) -> Provider<'a> {
        Provider {
            outbound,
            connection,
            records,
            base: String::new(),
            hosts: HostList::default(),
            headers: Vec::new(),
            label: "the provider",
            explain: |_| None,
            throttled: |_| false,
            signer: None,
        }
    }

    /// Points the provider at `base` (its host alone is reachable), named `label` in errors.
    pub(crate) fn at(
        &mut self,
        label: &'static str,
        base: String,
        explain: fn(&Response) -> Option<String>,
    ) {
        self.hosts = HostList::only(&host_of(&base));
        self.base = base;
        self.label = label;
        self.explain = explain;
    }

    pub(crate) fn header(&mut self, name: &str, value: String) {
        self.headers.push((name.to_owned(), value));
    }

    /// Signs every request from now on with `signer`, and reads `throttled` answers as ones
    /// to try again (AWS).
    pub(crate) fn sign_with(&mut self, signer: Signer, throttled: fn(&Response) -> bool) {
        self.signer = Some(signer);
        self.throttled = throttled;
    }

    pub(crate) fn bad_arguments(&self, operation: &str, reason: impl Into<String>) -> Failure {
        Failure::BadArguments {
            integration: self.connection.name.clone(),
            operation: operation.to_owned(),
            reason: reason.into(),
        }
    }

    /// The string argument `name` of `operation`, which it cannot do without.
    pub(crate) fn required<'v>(
        &self,
        operation: &str,
        args: &'v Value,
        name: &str,
    ) -> Result<&'v str, Failure> {
        string_arg(args, name)
            .ok_or_else(|| self.bad_arguments(operation, format!("give `{name}`, a string")))
    }

    /// `GET base + path`; the answer's JSON and its `Link` header.
    pub(crate) async fn get(&mut self, path: &str) -> Result<(Value, Option<String>), Failure> {
        let url = format!("{}{path}", self.base);
        self.get_url(&url).await
    }

    /// `GET url` (a paging link the provider gave), on the provider's host alone.
    pub(crate) async fn get_url(&mut self, url: &str) -> Result<(Value, Option<String>), Failure> {
        let response = self.send(Method::Get, url, &[], None).await?;
        let link = response.header("link").map(str::to_owned);
        Ok((json_of(&response), link))
    }

    /// A request with an optional JSON body; answers the JSON (or `null` for an empty body).
    pub(crate) async fn request(
        &mut self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, Failure> {
        let url = format!("{}{path}", self.base);
        let body = body.map(|body| ("application/json", body.to_string().into_bytes()));
        let response = self.send(method, &url, &[], body).await?;
        Ok(json_of(&response))
    }

    /// A request with `headers` besides the provider's and a body of its own content type;
    /// answers the whole response.
    pub(crate) async fn exchange(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Response, Failure> {
        let url = format!("{}{path}", self.base);
        self.send(method, &url, headers, body).await
    }

    async fn send(
        &mut self,
        method: Method,
        url: &str,
        headers: &[(&str, String)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Response, Failure> {
        let mut request = Request::new(method, url);
        request.headers = self.headers.clone();
        request.headers.extend(
            headers
                .iter()
                .map(|(name, value)| ((*name).to_owned(), value.clone())),
        );
        if !request.headers.iter().any(|(name, _)| name == "accept") {
            request
                .headers
                .push(("accept".into(), "application/json".into()));
        }
        if let Some((content_type, body)) = body {
            request
                .headers
                .push(("content-type".into(), content_type.to_owned()));
            request.body = Some(body);
        }
        if let Some(signer) = &self.signer {
            signer.sign(&mut request, std::time::SystemTime::now());
        }
        let path = path_of(url);
        let host = host_of(url);
        let started = Instant::now();
        let answer = self.outbound.send(request, &self.hosts).await;
        self.records.push(CallRecord {
            integration: self.connection.name.clone(),
            method: method.as_str(),
            host,
            path: path.clone(),
            status: answer.as_ref().ok().map(|response| response.status),
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        });
        let response = answer.map_err(|error| Failure::Outbound {
            integration: self.connection.name.clone(),
            error,
        })?;
        if (200..300).contains(&response.status) {
            return Ok(response);
        }
        let message =
            (self.explain)(&response).unwrap_or_else(|| format!("HTTP {}", response.status));
        if (self.throttled)(&response) {
            return Err(Failure::Throttled {
                provider: self.label,
                method: method.as_str(),
                path,
                message,
            });
        }
        Err(Failure::Provider {
            provider: self.label,
            status: response.status,
            method: method.as_str(),
            path,
            message,
        })
    }
}

/// The answer's JSON; `null` for an empty or non-JSON body.
pub(crate) fn json_of(response: &Response) -> Value {
    if response.body.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(&response.body).unwrap_or(Value::Null)
}

/// The host (and port) of `url`.
fn host_of(url: &str) -> String {
    let after_scheme = url.split("://").nth(1).unwrap_or(url);
    after_scheme
        .split(['/', '?'])
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The path of `url`, without its query.
fn path_of(url: &str) -> String {
    let after_scheme = url.split("://").nth(1).unwrap_or(url);
    let path = after_scheme.find('/').map_or("/", |at| &after_scheme[at..]);
    path.split('?').next().unwrap_or("/").to_owned()
}

/// A provider's error message with the details it lists after it (`"Validation Failed:
/// …; …"`), as PagerDuty and GitHub give them.
pub(crate) fn with_details(message: String, details: Vec<String>) -> String {
    if details.is_empty() {
        message
    } else {
        format!("{message}: {}", details.join("; "))
    }
}

/// The `rel="next"` URL of a `Link` header (RFC 8288), as Okta and GitHub page.
pub(crate) fn next_link(link: Option<&str>) -> Option<String> {
    link?.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|param| param.trim().replace(' ', "") == "rel=\"next\"")
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned()
            })
    })
}

/// Percent-encodes a path segment or query value.
pub(crate) fn encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// A string argument of `args`.
pub(crate) fn string_arg<'v>(args: &'v Value, name: &str) -> Option<&'v str> {
    args.get(name)
        .and_then(Value::as_str)
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links_paths_and_encoding() {
        let link = r#"<https://acme.okta.com/api/v1/groups/g/users?limit=200>; rel="self", <https://acme.okta.com/api/v1/groups/g/users?after=00u2&limit=200>; rel="next""#;
        assert_eq!(
            next_link(Some(link)).as_deref(),
            Some("https://acme.okta.com/api/v1/groups/g/users?after=00u2&limit=200")
        );
        assert_eq!(next_link(Some(r#"<https://x/a>; rel="self""#)), None);
        assert_eq!(
            path_of("https://api.pagerduty.com/oncalls?user_ids[]=P1"),
            "/oncalls"
        );
        assert_eq!(encode("ann+ops@acme.test"), "ann%2Bops%40acme.test");
    }
}
