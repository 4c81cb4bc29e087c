//! Addresses a request from the server must not reach unless the operator says so.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether `address` is loopback, private, link-local (cloud metadata lives at
/// 169.254.169.254), shared (CGNAT), unspecified, broadcast, multicast, reserved for
/// documentation or benchmarks, or an IPv6 form of one of those.
pub fn is_special(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

fn special_v4(address: Ipv4Addr) -> bool {
    let [a, b, c, _] = address.octets();
    address.is_loopback()
        || address.is_private()
        || address.is_link_local()
        || address.is_unspecified()
        || address.is_broadcast()
        || address.is_multicast()
        || address.is_documentation()
        || a == 0
        // 100.64.0.0/10: carrier-grade NAT, often a provider's internal network.
        || (a == 100 && (64..128).contains(&b))
        // 192.0.0.0/24: IETF protocol assignments.
        || (a == 192 && b == 0 && c == 0)
        // 198.18.0.0/15: benchmarking.
        || (a == 198 && (b == 18 || b == 19))
        // 240.0.0.0/4: reserved.
        || a >= 240
}

fn special_v6(address: Ipv6Addr) -> bool {
    if let Some(v4) = address.to_ipv4_mapped() {
        return special_v4(v4);
    }
    let segments = address.segments();
    address.is_loopback()
        || address.is_unspecified()
        || address.is_multicast()
        // fc00::/7: unique local addresses.
        || (segments[0] & 0xfe00) == 0xfc00
        // fe80::/10: link-local.
        || (segments[0] & 0xffc0) == 0xfe80
        // 64:ff9b::/96: NAT64, an IPv4 address in disguise.
        || (segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] && {
            let [a, b] = segments[6].to_be_bytes();
            let [c, d] = segments[7].to_be_bytes();
            special_v4(Ipv4Addr::new(a, b, c, d))
        })
        // 2001:db8::/32: documentation.
        || (segments[0] == 0x2001 && segments[1] == 0x0db8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn special(address: &str) -> bool {
        is_special(address.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)))
    }

    #[test]
    fn special_addresses_are_recognised_in_every_form() {
        for address in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(special(address), "{address} is special");
        }
        for address in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "64:ff9b::808:808",
        ] {
            assert!(!special(address), "{address} is public");
        }
    }
}
