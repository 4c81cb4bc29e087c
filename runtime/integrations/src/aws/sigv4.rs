//! AWS Signature Version 4: every AWS API request is signed with the integration's access
//! key, for one region and service, over the method, path, query, the signed headers and the
//! body's SHA-256.
//!
//! Invariant: the signature is computed over the request exactly as it is sent, so nothing
//! may change the request after [`Signer::sign`]. The secret key only ever enters the HMAC.

use std::time::SystemTime;

use assent_outbound::Request;
use assent_secrets::SecretValue;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::provider::encode;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// An access key: the id, its secret, and a session token when the key is temporary (an
/// assumed role's).
#[derive(Debug, Clone)]
pub(crate) struct Credentials {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: SecretValue,
    pub(crate) session_token: Option<SecretValue>,
}

/// Signs requests to one service in one region.
#[derive(Debug, Clone)]
pub(crate) struct Signer {
    pub(crate) credentials: Credentials,
    pub(crate) region: String,
    /// The signing name of the service: `lambda`, `sso`, `identitystore`, `iam`, `sts`.
    pub(crate) service: &'static str,
}

impl Signer {
    /// Adds `x-amz-date`, `x-amz-security-token` (for a temporary key) and `authorization`
    /// to `request`, signed as of `now`.
    pub(crate) fn sign(&self, request: &mut Request, now: SystemTime) {
        let amz_date = amz_date(now);
        let date = &amz_date[..8];
        let body_hash = hex::encode(Sha256::digest(request.body.as_deref().unwrap_or_default()));
        let (host, path, query) = split_url(&request.url);
        request
            .headers
            .retain(|(name, _)| !name.eq_ignore_ascii_case("authorization"));
        request
            .headers
            .push(("x-amz-date".into(), amz_date.clone()));
        if let Some(token) = &self.credentials.session_token {
            request
                .headers
                .push(("x-amz-security-token".into(), token.expose().to_owned()));
        }
        // The host as the client sends it; every `x-amz-` header and the content type.
        let mut signed: Vec<(String, String)> = vec![("host".into(), host)];
        signed.extend(
            request
                .headers
                .iter()
                .map(|(name, value)| (name.to_ascii_lowercase(), value.trim().to_owned()))
                .filter(|(name, _)| name.starts_with("x-amz-") || name == "content-type"),
        );
        signed.sort();
        let signed_names = signed
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>()
            .join(";");
        let canonical_headers: String = signed
            .iter()
            .map(|(name, value)| format!("{name}:{value}\n"))
            .collect();
        let canonical_request = format!(
            "{method}\n{uri}\n{query}\n{canonical_headers}\n{signed_names}\n{body_hash}",
            method = request.method.as_str(),
            uri = canonical_uri(&path),
            query = canonical_query(&query),
        );
        let scope = format!("{date}/{}/{}/aws4_request", self.region, self.service);
        let string_to_sign = format!(
            "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
            hex::encode(Sha256::digest(canonical_request.as_bytes()))
        );
        let key = self.signing_key(date);
        let signature = hex::encode(hmac(&key, string_to_sign.as_bytes()));
        request.headers.push((
            "authorization".into(),
            format!(
                "{ALGORITHM} Credential={}/{scope}, SignedHeaders={signed_names}, Signature={signature}",
                self.credentials.access_key_id
            ),
        ));
    }

    /// The day's key for the region and service, derived from the secret key.
    fn signing_key(&self, date: &str) -> Vec<u8> {
        let secret = format!("AWS4{}", self.credentials.secret_access_key.expose());
        let day = hmac(secret.as_bytes(), date.as_bytes());
        let region = hmac(&day, self.region.as_bytes());
        let service = hmac(&region, self.service.as_bytes());
        hmac(&service, b"aws4_request")
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length; `new_from_slice` fails for none.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return Vec::new();
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// `20261207T225448Z`: the basic ISO 8601 form AWS signs with, in UTC.
fn amz_date(now: SystemTime) -> String {
    humantime::format_rfc3339_seconds(now)
        .to_string()
        .replace(['-', ':'], "")
}

/// The host (with a port only when it is not the scheme's default, as clients send it), the
/// path and the raw query of `url`.
fn split_url(url: &str) -> (String, String, String) {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(at) => rest.split_at(at),
        None => (rest, "/"),
    };
    let default_port = if scheme.eq_ignore_ascii_case("http") {
        ":80"
    } else {
        ":443"
    };
    let host = authority
        .strip_suffix(default_port)
        .unwrap_or(authority)
        .to_ascii_lowercase();
    let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
    let path = if path.is_empty() { "/" } else { path };
    (host, path.to_owned(), query.to_owned())
}

/// The path with each segment encoded once more, as every service but S3 signs it: a sent
/// `%3A` is signed as `%253A`.
fn canonical_uri(path: &str) -> String {
    path.split('/').map(encode).collect::<Vec<_>>().join("/")
}

/// The query's pairs sorted. Callers build queries from [`encode`]d names and values, so the
/// sent form is the canonical one.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(&str, &str)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use assent_outbound::Method;

    use super::*;

    fn example_signer(service: &'static str) -> Signer {
        Signer {
            credentials: Credentials {
                access_key_id: "AKIDEXAMPLE".into(),
                secret_access_key: SecretValue::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
                session_token: None,
            },
            region: "us-east-1".into(),
            service,
        }
    }

    /// 2015-08-30T12:36:00Z, the time of AWS's published Signature Version 4 examples.
    fn example_time() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_440_938_160)
    }

    #[test]
    fn the_signing_key_is_the_one_aws_documents() {
        // AWS's "Examples of how to derive a signing key" (the IAM service, 2015-08-30).
        let key = example_signer("iam").signing_key("20150830");
        assert_eq!(
            hex::encode(key),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
    }

    #[test]
    fn a_request_is_signed_over_what_is_sent() {
        let mut request = Request::new(Method::Get, "https://example.amazonaws.com/");
        example_signer("service").sign(&mut request, example_time());
        let header = |name: &str| {
            request
                .headers
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
                .unwrap()
        };
        assert_eq!(header("x-amz-date"), "20150830T123600Z");
        let authorization = header("authorization");
        // AWS's Signature Version 4 test suite, `get-vanilla`.
        assert_eq!(
            authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        // Signing the same request at the same time gives the same signature; any change to
        // what is sent changes it.
        let mut again = Request::new(Method::Get, "https://example.amazonaws.com/");
        example_signer("service").sign(&mut again, example_time());
        assert_eq!(again.headers, request.headers);
        let mut other = Request::new(Method::Get, "https://example.amazonaws.com/?a=1");
        example_signer("service").sign(&mut other, example_time());
        assert_ne!(other.headers, request.headers);
    }

    #[test]
    fn paths_are_encoded_again_and_queries_sorted() {
        assert_eq!(
            canonical_uri("/2015-03-31/functions/arn%3Aaws%3Alambda/invocations"),
            "/2015-03-31/functions/arn%253Aaws%253Alambda/invocations"
        );
        assert_eq!(canonical_query("b=2&a=1&a=0"), "a=0&a=1&b=2");
        assert_eq!(
            split_url("http://127.0.0.1:4000/aws?x=1"),
            ("127.0.0.1:4000".into(), "/aws".into(), "x=1".into())
        );
        assert_eq!(
            split_url("https://iam.amazonaws.com:443"),
            ("iam.amazonaws.com".into(), "/".into(), String::new())
        );
    }
}
