//! Which hosts an integration may reach.

use std::fmt;

/// Hosts, as an integration's `allowed_hosts` lists them: `api.example.com`, `*.example.com`
/// (any subdomain, not the domain itself), or with a port (`127.0.0.1:8080`) for that port
/// alone. Names compare without case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostList {
    entries: Vec<String>,
}

impl HostList {
    /// The hosts of a comma- or space-separated list.
    pub fn parse(list: &str) -> HostList {
        HostList {
            entries: list
                .split([',', ' ', '\n'])
                .map(|entry| entry.trim().trim_end_matches('.').to_ascii_lowercase())
                .filter(|entry| !entry.is_empty())
                .collect(),
        }
    }

    /// One host (with its port, if it is not the scheme's default).
    pub fn only(host: &str) -> HostList {
        HostList::parse(host)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `host` (a name or an address, as in a URL) on `port` is on the list.
    pub fn allows(&self, host: &str, port: u16) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let with_port = format!("{host}:{port}");
        self.entries.iter().any(|entry| {
            if let Some(domain) = entry.strip_prefix("*.") {
                host.ends_with(&format!(".{domain}"))
            } else {
                *entry == host || *entry == with_port
            }
        })
    }
}

impl HostList {
    /// Whether `host` is on the list on some port (for name resolution, which knows no port).
    pub fn allows_any_port(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.entries.iter().any(|entry| {
            let name = entry
                .rsplit_once(':')
                .map_or(entry.as_str(), |(name, port)| {
                    if port.chars().all(|c| c.is_ascii_digit()) {
                        name
                    } else {
                        entry.as_str()
                    }
                });
            match name.strip_prefix("*.") {
                Some(domain) => host.ends_with(&format!(".{domain}")),
                None => name == host,
            }
        })
    }
}

impl fmt::Display for HostList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.entries.is_empty() {
            return f.write_str("no hosts");
        }
        let quoted: Vec<String> = self
            .entries
            .iter()
            .map(|entry| format!("`{entry}`"))
            .collect();
        f.write_str(&quoted.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_match_exactly_by_subdomain_or_with_their_port() {
        let list = HostList::parse("api.example.com, *.okta.com 127.0.0.1:8080");
        assert!(list.allows("API.example.com", 443));
        assert!(!list.allows("example.com", 443));
        assert!(!list.allows("api.example.com.evil.test", 443));
        assert!(list.allows("acme.okta.com", 443));
        assert!(!list.allows("okta.com", 443));
        assert!(!list.allows("acme.okta.com.evil.test", 443));
        assert!(list.allows("127.0.0.1", 8080));
        assert!(!list.allows("127.0.0.1", 8081));
        assert_eq!(
            list.to_string(),
            "`api.example.com`, `*.okta.com`, `127.0.0.1:8080`"
        );
        assert!(HostList::parse(" , ").is_empty());
    }
}
