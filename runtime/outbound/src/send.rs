//! One request and its redirects, under the policy.

use std::error::Error as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use thiserror::Error;

use crate::address::is_special;
use crate::hosts::HostList;
use crate::policy::OutboundPolicy;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    /// The method a plugin named, case-insensitively.
    pub fn parse(name: &str) -> Option<Method> {
        Some(match name.to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    fn as_reqwest(self) -> reqwest::Method {
        match self {
            Method::Get => reqwest::Method::GET,
            Method::Head => reqwest::Method::HEAD,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        }
    }
}

/// A request to send.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// At most this long, if shorter than the policy's total timeout.
    pub timeout: Option<Duration>,
}

impl Request {
    pub fn new(method: Method, url: impl Into<String>) -> Request {
        Request {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: None,
            timeout: None,
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Request {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    pub fn json(mut self, body: &impl serde::Serialize) -> Request {
        self.body = Some(serde_json::to_vec(body).unwrap_or_default());
        self.header("content-type", "application/json")
    }
}

/// A response, read in full.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Where the answer came from, after redirects, without its query.
    pub url: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Why a request was refused or failed. URLs are shown without their query or credentials,
/// which may hold keys.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum OutboundError {
    #[error("`{url}` is not a URL the server can call: {reason}")]
    BadUrl { url: String, reason: String },
    #[error(
        "`{host}` is not a host this integration may reach (it allows {allowed}); add it to the integration's `allowed_hosts`"
    )]
    HostNotAllowed { host: String, allowed: String },
    #[error(
        "`{url}` is plain http; use https (the server's operator can allow plain http for a host with `--outbound-allow-http`)"
    )]
    PlainHttp { url: String },
    #[error(
        "`{host}` resolves to {address}, a loopback, private, link-local or reserved address, which integrations may not reach (the server's operator can allow a host with `--outbound-allow-private`)"
    )]
    SpecialAddress { host: String, address: IpAddr },
    #[error("`{host}` did not answer within {} ms", after.as_millis())]
    Timeout { host: String, after: Duration },
    #[error("could not reach `{host}`: {reason}")]
    Unreachable { host: String, reason: String },
    #[error("the answer of `{host}` is larger than the {limit} bytes a call may read")]
    TooLarge { host: String, limit: usize },
    #[error("`{url}` redirected more than {max} times")]
    TooManyRedirects { url: String, max: usize },
}

/// The outbound HTTP client: one per server, shared by every integration and tenant.
#[derive(Debug, Clone)]
pub struct Outbound {
    client: reqwest::Client,
    policy: Arc<OutboundPolicy>,
}

/// Resolves names, refusing any that resolves to a special address unless the operator
/// allows that host. The check runs on every connection the pool opens, so it holds for
/// whatever the name resolves to at that moment.
#[derive(Debug)]
struct CheckedResolver {
    private_addresses: HostList,
}

/// A name refused by [`CheckedResolver`]; found again in the client's error chain.
#[derive(Debug, Error)]
#[error("`{host}` resolves to {address}")]
struct Refused {
    host: String,
    address: IpAddr,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let allowed = self.private_addresses.allows_any_port(&host);
        Box::pin(async move {
            let addresses: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allowed && let Some(special) = addresses.iter().find(|a| is_special(a.ip())) {
                return Err(Box::new(Refused {
                    host,
                    address: special.ip(),
                })
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            let addrs: Addrs = Box::new(addresses.into_iter());
            Ok(addrs)
        })
    }
}

/// `url` without its query, fragment or credentials.
fn shown(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

fn host_of(url: &Url) -> String {
    url.host_str().unwrap_or_default().to_owned()
}

// Headers that carry credentials: dropped when a redirect leaves the host, as browsers and
// curl do, so an allowed host's redirect does not hand a token to another.
const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "cookie",
    "x-api-key",
    "proxy-authorization",
];

impl Outbound {
    pub fn new(policy: OutboundPolicy) -> Result<Outbound, OutboundError> {
        let resolver = CheckedResolver {
            private_addresses: policy.private_addresses.clone(),
        };
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(policy.connect_timeout)
            // Idle keep-alive connections: providers close theirs after about a minute;
            // closing ours at 50 s avoids reusing one the far end is about to drop.
            .pool_idle_timeout(Duration::from_secs(50))
            // A handful per host serves the calls of concurrent runs to one provider.
            .pool_max_idle_per_host(8)
            .dns_resolver(Arc::new(resolver))
            .user_agent(concat!("assent/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| OutboundError::Unreachable {
                host: String::new(),
                reason: format!("the HTTP client could not start: {error}"),
            })?;
        Ok(Outbound {
            client,
            policy: Arc::new(policy),
        })
    }

    pub fn policy(&self) -> &OutboundPolicy {
        &self.policy
    }

    /// Checks `url` against `allowed` and the policy, before anything is sent.
    pub fn check(&self, url: &str, allowed: &HostList) -> Result<Url, OutboundError> {
        let parsed = Url::parse(url).map_err(|error| OutboundError::BadUrl {
            url: url.split('?').next().unwrap_or_default().to_owned(),
            reason: error.to_string(),
        })?;
        let Some(host) = parsed.host_str() else {
            return Err(OutboundError::BadUrl {
                url: shown(&parsed),
                reason: "it names no host".into(),
            });
        };
        let port = parsed.port_or_known_default().unwrap_or(0);
        if !allowed.allows(host, port) {
            return Err(OutboundError::HostNotAllowed {
                host: host.to_owned(),
                allowed: allowed.to_string(),
            });
        }
        match parsed.scheme() {
            "https" => {}
            "http" if self.policy.plain_http.allows(host, port) => {}
            "http" => {
                return Err(OutboundError::PlainHttp {
                    url: shown(&parsed),
                });
            }
            other => {
                return Err(OutboundError::BadUrl {
                    url: shown(&parsed),
                    reason: format!("`{other}` is not http or https"),
                });
            }
        }
        // An address in the URL is never resolved, so it is checked here.
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(address) = literal.parse::<IpAddr>()
            && is_special(address)
            && !self.policy.private_addresses.allows(host, port)
        {
            return Err(OutboundError::SpecialAddress {
                host: host.to_owned(),
                address,
            });
        }
        Ok(parsed)
    }

    /// Sends `request` to a host on `allowed`, following redirects that stay on it.
    pub async fn send(
        &self,
        request: Request,
        allowed: &HostList,
    ) -> Result<Response, OutboundError> {
        let url = self.check(&request.url, allowed)?;
        let limit = request.timeout.map_or(self.policy.total_timeout, |asked| {
            asked.min(self.policy.total_timeout)
        });
        let host = host_of(&url);
        match tokio::time::timeout(limit, self.follow(request, url, allowed)).await {
            Ok(answer) => answer,
            Err(_) => Err(OutboundError::Timeout { host, after: limit }),
        }
    }

    async fn follow(
        &self,
        mut request: Request,
        mut url: Url,
        allowed: &HostList,
    ) -> Result<Response, OutboundError> {
        for _ in 0..=self.policy.max_redirects {
            let started = Instant::now();
            let response = self.once(&request, &url).await?;
            tracing::debug!(host = %host_of(&url), status = response.status().as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "outbound call");
            let status = response.status();
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned);
            let Some(location) = location.filter(|_| status.is_redirection()) else {
                return self.read(response, &url).await;
            };
            let next = url.join(&location).map_err(|error| OutboundError::BadUrl {
                url: location.split('?').next().unwrap_or_default().to_owned(),
                reason: error.to_string(),
            })?;
            let next = self.check(next.as_str(), allowed)?;
            if host_of(&next) != host_of(&url) {
                request.headers.retain(|(name, _)| {
                    !CREDENTIAL_HEADERS.contains(&name.to_ascii_lowercase().as_str())
                });
            }
            // 303, and 301/302 after a POST, become a GET without a body, as every client does.
            let code = status.as_u16();
            if code == 303 || (matches!(code, 301 | 302) && request.method == Method::Post) {
                request.method = Method::Get;
                request.body = None;
            }
            url = next;
        }
        Err(OutboundError::TooManyRedirects {
            url: shown(&url),
            max: self.policy.max_redirects,
        })
    }

    async fn once(&self, request: &Request, url: &Url) -> Result<reqwest::Response, OutboundError> {
        let mut builder = self
            .client
            .request(request.method.as_reqwest(), url.clone());
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        builder.send().await.map_err(|error| transport(&error, url))
    }

    async fn read(
        &self,
        mut response: reqwest::Response,
        url: &Url,
    ) -> Result<Response, OutboundError> {
        let limit = self.policy.max_response_bytes;
        let too_large = || OutboundError::TooLarge {
            host: host_of(url),
            limit,
        };
        if response
            .content_length()
            .is_some_and(|length| length > limit as u64)
        {
            return Err(too_large());
        }
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| transport(&error, url))?
        {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            headers,
            body,
            url: shown(url),
        })
    }
}

/// A client error in the policy's terms: a refused address is named as such.
fn transport(error: &reqwest::Error, url: &Url) -> OutboundError {
    let host = host_of(url);
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<Refused>() {
            return OutboundError::SpecialAddress {
                host: refused.host.clone(),
                address: refused.address,
            };
        }
        source = cause.source();
    }
    if error.is_timeout() {
        return OutboundError::Timeout {
            host,
            after: Duration::ZERO,
        };
    }
    let reason = if error.is_connect() {
        "the connection was refused or could not be made".to_owned()
    } else {
        // The client's own words, without the URL (it may carry a query).
        error.without_url_string()
    };
    OutboundError::Unreachable { host, reason }
}

trait WithoutUrl {
    fn without_url_string(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_string(&self) -> String {
        let mut error = String::new();
        let mut source = self.source();
        while let Some(cause) = source {
            error = cause.to_string();
            source = cause.source();
        }
        if error.is_empty() {
            "the connection failed".to_owned()
        } else {
            error
        }
    }
}
